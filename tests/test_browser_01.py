"""Chapter 01 in a real JupyterLab: Run All works and the top-terms widget redraws."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("01_text_representation.ipynb", parameters={"idf_repeats": 3})
def test_top_terms_widget_redraws_when_k_and_weighting_change(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 01 shows one widget figure"
    handle = slider_handles(page).nth(0)
    handle.focus()
    handle.press("ArrowRight")
    after_slider = wait_for_new_image(page, before)
    page.locator("button.widget-toggle-button", has_text="raw counts (BoW)").click()
    wait_for_new_image(page, after_slider)
