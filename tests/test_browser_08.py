"""Chapter 08 in a real JupyterLab: Run All works and the mask widget redraws when a sequence
length changes and when the padding or causal mask is toggled."""

from browser_support import browser_test, image_srcs, press_slider_right, wait_for_new_image


# The default parameters: the notebook asserts the accuracy that its full run reaches.
@browser_test("08_transformer.ipynb", parameters={"seed": 0}, run_timeout=600.0)
def test_mask_widget_follows_lengths_and_toggles(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 08 shows one widget figure (the mask explorer)"
    slider = press_slider_right(page, "length 3")  # one slider per sequence
    after_length = wait_for_new_image(page, before)
    assert slider.locator(".widget-readout").inner_text().strip() == "3", "length 3 did not move from 2 to 3"
    page.locator(".widget-checkbox", has_text="causal").locator("input").click()
    after_causal = wait_for_new_image(page, after_length)
    page.locator(".widget-checkbox", has_text="padding").locator("input").click()
    after_padding = wait_for_new_image(page, after_causal)
    assert len({before[0], after_length[0], after_causal[0], after_padding[0]}) == 4
