"""Chapter 09c in a real JupyterLab: Run All works and the next-token explorer redraws when the
temperature and top-k sliders move."""

from browser_support import browser_test, image_srcs, press_slider_right, wait_for_new_image


# A short live run; the rest of the notebook reads the checkpoints, so its asserts still hold.
@browser_test("09c_gpt.ipynb", parameters={"live_steps": 20, "icl_items": 2}, run_timeout=600.0)
def test_next_token_explorer_follows_temperature_and_top_k(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 09c shows one widget figure (the next-token explorer)"
    temperature = press_slider_right(page, "temperature")
    after_temperature = wait_for_new_image(page, before)
    assert temperature.locator(".widget-readout").inner_text().strip() == "1.1", "temperature did not move to 1.1"
    top_k = press_slider_right(page, "top-k")
    after_top_k = wait_for_new_image(page, after_temperature)
    assert top_k.locator(".widget-readout").inner_text().strip() == "1", "top-k did not move from 0 (all) to 1"
    assert len({before[0], after_temperature[0], after_top_k[0]}) == 3
