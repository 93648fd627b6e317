"""Key press -> new widget image latency in a real JupyterLab (headless chromium).

Opens a notebook (prepared with quick parameters), runs it, then presses ArrowRight on one
slider N times and measures, inside the page, the time from the keydown event to the moment
a widget image's ``src`` changes (the new PNG is in the page). Prints the median and p90.

    .venv/bin/python benchmarks/widget_latency.py                       # chapter 01's widget
    .venv/bin/python benchmarks/widget_latency.py 04_activations.ipynb --slider 1 --param epochs=1
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import (  # noqa: E402
    JupyterLab, image_srcs, launch_browser, open_notebook, require_chromium, run_all_cells, slider_handles,
)

TARGET_MS = 150.0
INSTRUMENT = """() => {
  window.__keyAt = null; window.__imageAt = null;
  document.addEventListener('keydown', () => { window.__keyAt = performance.now(); window.__imageAt = null; }, true);
  const observer = new MutationObserver(() => { if (window.__imageAt === null) window.__imageAt = performance.now(); });
  document.querySelectorAll('img.widget-image').forEach(img =>
    observer.observe(img, {attributes: true, attributeFilter: ['src']}));
}"""


def measure(notebook: str, slider: int, moves: int, parameters: dict) -> list[float]:
    from playwright.sync_api import sync_playwright

    lab = JupyterLab()
    try:
        name = lab.prepare(notebook, parameters, "latency")
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            open_notebook(page, lab.url(name))
            run_all_cells(page)
            page.evaluate(INSTRUMENT)
            handle = slider_handles(page).nth(slider)
            handle.focus()
            latencies = []
            for move in range(moves):
                before = image_srcs(page)
                handle.press("ArrowLeft" if move % 2 else "ArrowRight")
                page.wait_for_function("() => window.__imageAt !== null", timeout=15000)
                latencies.append(page.evaluate("() => window.__imageAt - window.__keyAt"))
                assert image_srcs(page) != before
                time.sleep(0.2)
            browser.close()
        return latencies
    finally:
        lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default="01_text_representation.ipynb")
    parser.add_argument("--slider", type=int, default=0, help="which slider on the page (0 = first)")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--param", action="append", default=[], help="name=value (JSON value)")
    args = parser.parse_args()
    require_chromium()
    parameters = {}
    for item in args.param:
        key, value = item.split("=", 1)
        parameters[key] = json.loads(value)
    if args.notebook.startswith("01") and not parameters:
        parameters = {"idf_repeats": 3}
    latencies = measure(args.notebook, args.slider, args.moves, parameters)
    median = statistics.median(latencies)
    p90 = sorted(latencies)[int(0.9 * (len(latencies) - 1))]
    print(f"{args.notebook} slider {args.slider}: {len(latencies)} moves")
    print(f"  key press -> new image: median {median:.0f} ms, p90 {p90:.0f} ms, "
          f"min {min(latencies):.0f} ms, max {max(latencies):.0f} ms")
    print(f"  target median <= {TARGET_MS:.0f} ms: ratio {median / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
