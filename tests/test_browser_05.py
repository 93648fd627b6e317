"""Chapter 05 in a real JupyterLab: the feature-scale slider redraws the contour and GD path."""

from browser_support import browser_test, image_srcs, wait_for_new_image


@browser_test("05_normalization.ipynb")
def test_scale_slider_redraws_contours_and_path(page):
    slider = page.locator(".widget-slider", has_text="x2 scale")
    assert slider.count() == 1, "expected exactly one feature-scale slider"
    before = image_srcs(page)
    assert len(before) == 1
    handle = slider.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowLeft")
    after = wait_for_new_image(page, before)
    assert after[0] != before[0]
    readout = slider.locator(".widget-readout").inner_text()
    assert float(readout) < 100.0, f"scale readout did not move down from 100: {readout!r}"
