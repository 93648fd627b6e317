"""Chapter 12 in a real JupyterLab: the PCA/LDA projection widget redraws."""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


# Default parameters: the notebook asserts what its trained models reach, and a shortened run
# would not reach it.
@browser_test("12_representations.ipynb", run_timeout=600)
def test_projection_widget_switches_method_and_components(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 12 shows one widget figure"
    page.locator("button.widget-toggle-button", has_text="LDA").click()
    after_method = wait_for_new_image(page, before)
    handle = slider_handles(page).nth(0)
    handle.focus()
    handle.press("ArrowLeft")  # 2 components -> 1
    wait_for_new_image(page, after_method)
