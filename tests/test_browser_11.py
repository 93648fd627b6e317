"""Chapter 11 in a real JupyterLab: Run All works and the learning-rate widget redraws the
gradient-descent path when its slider moves (one step, then to the divergent end)."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("11_how_networks_learn.ipynb", parameters={"seed": 0}, run_timeout=600.0)
def test_learning_rate_slider_redraws_the_path(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 11 shows one widget figure"
    handle = slider_handles(page).nth(0)
    handle.focus()
    handle.press("ArrowRight")
    one_step = wait_for_new_image(page, before)
    handle.press("End")  # the largest learning rate: the path diverges
    divergent = wait_for_new_image(page, one_step)
    assert divergent != before
