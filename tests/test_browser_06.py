"""Chapter 06 in a real JupyterLab: Run All works and the depth slider of the per-layer
gradient-norm widget (plain vs residual) redraws its image on every move.

The notebook runs with its default parameters: its asserts check the trained models'
accuracies, which a shortened run would not reach.
"""

from browser_support import browser_test, image_srcs, slider_handles, wait_for_new_image


@browser_test("06_residual_connections.ipynb", parameters={"seed": 0}, run_timeout=900.0)
def test_depth_slider_redraws_gradient_norms(page):
    before = image_srcs(page)
    assert len(before) == 1, "chapter 06 shows one widget figure"
    handles = slider_handles(page)
    assert handles.count() == 1, "chapter 06 has one slider (depth)"
    handle = handles.nth(0)
    readout = page.locator(".widget-slider .widget-readout").nth(0)
    assert readout.text_content().strip() == "64", "the notebook leaves the slider at its last depth"
    handle.focus()
    # each step left is a new depth with its own precomputed norms: the image must change
    shown = before
    for depth in ("32", "16", "8"):
        handle.press("ArrowLeft")
        shown = wait_for_new_image(page, shown)
        assert readout.text_content().strip() == depth
    handle.press("ArrowRight")
    wait_for_new_image(page, shown)
    assert readout.text_content().strip() == "16"
