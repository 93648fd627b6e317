"""Chapter 10 in a real JupyterLab: Run All works and the Gaussian boundary widget redraws
when the covariance is toggled (separate -> shared -> separate) and when the prior moves."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("10_classification.ipynb", parameters={"seed": 0}, run_timeout=360.0)
def test_covariance_toggle_changes_the_boundary_image(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 10 shows one widget figure"
    # the notebook leaves the widget on "separate"; switching to "shared" must redraw, and back
    page.locator("button.widget-toggle-button", has_text="shared").click()
    shared = wait_for_new_image(page, before)
    page.locator("button.widget-toggle-button", has_text="separate").click()
    separate = wait_for_new_image(page, shared)
    assert shared != separate
    handle = slider_handles(page).nth(0)
    handle.focus()
    handle.press("ArrowLeft")
    wait_for_new_image(page, separate)
