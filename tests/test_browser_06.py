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
    handle.focus()
    # the notebook leaves the slider at its last depth (64); each step left is a new depth
    handle.press("ArrowLeft")
    at_32 = wait_for_new_image(page, before)
    handle.press("ArrowLeft")
    at_16 = wait_for_new_image(page, at_32)
    assert len({before[0], at_32[0], at_16[0]}) == 3
    handle.press("ArrowRight")
    back_to_32 = wait_for_new_image(page, at_16)
    assert back_to_32 == at_32, "the same depth must redraw the same picture"
