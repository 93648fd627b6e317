"""Chapter 04 in a real JupyterLab: the softmax temperature slider redraws the probability bars."""

import time

from browser_support import browser_test


def _wait_for_new_src(image, before: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = image.get_attribute("src")
        if now != before:
            return now
        time.sleep(0.05)
    raise AssertionError(f"the softmax bars were not redrawn within {timeout:.0f} s")


@browser_test("04_activations.ipynb")
def test_temperature_slider_changes_the_bars(page):
    slider = page.locator(".widget-slider", has_text="temperature")
    assert slider.count() == 1, "expected exactly one temperature slider"
    # the widget's own box (the innermost VBox holding this slider) and its bar-chart image
    widget = page.locator(".widget-vbox").filter(has=slider).last
    bars = widget.locator("img.widget-image")
    assert bars.count() == 1
    before = bars.get_attribute("src")
    handle = slider.locator(".noUi-handle")
    handle.focus()  # also scrolls the widget into view
    readout_before = float(slider.locator(".widget-readout").text_content())
    for _ in range(5):
        handle.press("ArrowRight")
    _wait_for_new_src(bars, before)
    readout = float(slider.locator(".widget-readout").text_content())
    assert readout > readout_before, f"temperature readout did not move up: {readout_before} -> {readout}"
