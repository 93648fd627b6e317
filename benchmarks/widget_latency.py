"""Key press -> new widget image latency in a real JupyterLab (headless chromium), and its parts.

Browser mode opens a notebook (prepared with quick parameters), runs it, then presses ArrowRight
and ArrowLeft on one slider N times and measures, inside the page, the time from the keydown
event to the moment a widget image's ``src`` changes (the new PNG is in the page). It prints the
median and p90, the websocket messages one key press causes (value updates sent, image updates
received) and the redraws the kernel made per key press.

``--floor`` measures the same path with no drawing: every FigureView's ``render`` is replaced by
one that alternates two pre-rendered PNGs of the same size (the current image and a copy with one
pixel changed), so what remains is browser -> server -> kernel -> observer -> browser.

``--render`` builds each chapter's widget in this process (no browser) and times one redraw
(the drawing function, the Agg render + PNG encoding) per control step.

    .venv/bin/python benchmarks/widget_latency.py                     # chapter 01's widget
    .venv/bin/python benchmarks/widget_latency.py --floor             # the same without drawing
    .venv/bin/python benchmarks/widget_latency.py 04_activations.ipynb --slider 1 --param epochs=1
    .venv/bin/python benchmarks/widget_latency.py --render            # every widget, in-process
    .venv/bin/python benchmarks/widget_latency.py --render 01 10      # chapters whose key starts so

To add a widget: one entry in ``RENDER_CASES`` (a builder returning the box, the control a
key press moves and two values to alternate) and, for its notebook, one in ``QUICK_PARAMETERS``.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_support import (  # noqa: E402
    JupyterLab, image_srcs, launch_browser, open_notebook, require_chromium, run_all_cells,
    slider_handles,
)

TARGET_MS = 150.0

#: Notebook -> parameters that make Run All quick (the widget is the same).
QUICK_PARAMETERS = {
    "01_text_representation.ipynb": {"idf_repeats": 3},
}

INSTRUMENT = """() => {
  window.__keyAt = null; window.__imageAt = null;
  document.addEventListener('keydown', () => { window.__keyAt = performance.now(); window.__imageAt = null; }, true);
  const observer = new MutationObserver(() => { if (window.__imageAt === null) window.__imageAt = performance.now(); });
  document.querySelectorAll('img.widget-image').forEach(img =>
    observer.observe(img, {attributes: true, attributeFilter: ['src']}));
}"""

# Run Python in the notebook's kernel and return what it printed.
KERNEL_EXEC = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code, silent: false, store_history: false});
  let out = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return out;
}"""

# Every FigureView in the kernel (gc finds them; warnings from torch's deprecated attributes
# hidden).
VIEWS = """
import gc as _gc, warnings as _warnings
from nlpcourse.widgets import FigureView as _FigureView
with _warnings.catch_warnings():
    _warnings.simplefilter("ignore")
    _views = [_v for _v in _gc.get_objects() if isinstance(_v, _FigureView)]
"""
COUNT_RENDERS = VIEWS + "print(sum(_v.renders for _v in _views))"

# --floor: every FigureView sends one of two pre-rendered, equally sized PNGs instead of drawing.
FLOOR = VIEWS + """
import io as _io, itertools as _it
from PIL import Image as _Image

def _frames(png):
    picture = _Image.open(_io.BytesIO(png)).convert("RGBA")
    picture.putpixel((0, 0), (0, 0, 0, 255))
    other = _io.BytesIO()
    picture.save(other, format="png", compress_level=1)
    return _it.cycle([other.getvalue(), png])

for _v in _views:
    _v._draw = lambda figure: None
    _v.render = _frames(bytes(_v.image.value)).__next__
print(len(_views), "views drawing nothing")
"""


def kernel_exec(page, code: str) -> str:
    return page.evaluate(KERNEL_EXEC, code)


def kernel_renders(page) -> int:
    """Redraws made so far by every FigureView in the kernel."""
    out = kernel_exec(page, COUNT_RENDERS).strip()
    if not out or not out.splitlines()[-1].isdigit():
        raise RuntimeError(f"could not count the kernel's redraws: {out!r}")
    return int(out.splitlines()[-1])


def _frame_kind(payload) -> str | None:
    """'update' for a widget state update in a websocket frame (either direction), else None."""
    data = payload if isinstance(payload, bytes) else payload.encode("utf-8", "replace")
    if b"comm_msg" not in data:
        return None
    return "update" if b'"update"' in data or b'"echo_update"' in data else "other comm"


def measure(notebook: str, slider: int, moves: int, parameters: dict, floor: bool = False,
            burst: int = 10) -> dict:
    from playwright.sync_api import sync_playwright

    lab = JupyterLab()
    try:
        name = lab.prepare(notebook, parameters, "latency")
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            frames = {"sent": [], "received": []}

            def on_websocket(ws):
                ws.on("framesent", lambda payload: frames["sent"].append(_frame_kind(payload)))
                ws.on("framereceived",
                      lambda payload: frames["received"].append(_frame_kind(payload)))

            page.on("websocket", on_websocket)
            open_notebook(page, lab.url(name))
            run_all_cells(page)
            if floor:
                print("  floor:", kernel_exec(page, FLOOR).strip())
            page.evaluate(INSTRUMENT)
            handle = slider_handles(page).nth(slider)
            handle.focus()
            renders_before = kernel_renders(page)
            latencies, sent, received = [], [], []
            for move in range(moves):
                before = image_srcs(page)
                frames["sent"].clear(), frames["received"].clear()
                handle.press("ArrowLeft" if move % 2 else "ArrowRight")
                page.wait_for_function("() => window.__imageAt !== null", timeout=15000)
                latencies.append(page.evaluate("() => window.__imageAt - window.__keyAt"))
                assert image_srcs(page) != before
                # late messages (echoes) arrive; Playwright delivers events only while it runs
                page.wait_for_timeout(300)
                sent.append(frames["sent"].count("update"))
                received.append(frames["received"].count("update"))
            renders = kernel_renders(page) - renders_before
            # a burst like a held arrow key (about 30 presses a second): how many redraws does it
            # cost?
            frames["sent"].clear()
            renders_before = kernel_renders(page)
            for _press in range(burst):
                handle.press("ArrowRight")
                time.sleep(0.03)
            page.wait_for_timeout(3000)
            bursts = {"presses": burst, "sent": frames["sent"].count("update"),
                      "renders": kernel_renders(page) - renders_before}
            browser.close()
        return {"latencies": latencies, "sent": sent, "received": received, "renders": renders,
                "burst": bursts}
    finally:
        lab.stop()


# ------------------------------------------------------------------------ in-process render timings


def _lee_explorer():
    from nlpcourse import data, text, widgets

    docs = [text.tokenize(d) for d in data.lee_documents()]
    box = widgets.tfidf_explorer(docs,
                                 [f"story {i}: {' '.join(d[:4])}..." for i, d in enumerate(docs)],
                                 k=10)
    return box, box.controls["k"], (10, 11)


def _next_word_explorer():
    from nlpcourse import data, nnlm, text, widgets

    docs = [text.tokenize(d) for d in data.lee_documents()[:60]]
    vocab = text.build_vocabulary(docs, min_count=2, specials=(nnlm.BOUNDARY,))
    ids = [vocab.encode(d) for d in docs]
    train = nnlm.ngram_examples(ids[:50], 3, vocab.index(nnlm.BOUNDARY))
    valid = nnlm.ngram_examples(ids[50:], 3, vocab.index(nnlm.BOUNDARY))
    model = nnlm.NNLM(nnlm.NNLMConfig(len(vocab), context=3, embedding_dim=16, hidden_dim=32),
                      seed=0)
    history = nnlm.train_nnlm(model, train, valid, epochs=4, batch_size=64, lr=1e-2, seed=0)
    box = widgets.next_word_explorer(history, vocab, ["the prime minister", "he said"], k=8,
                                     exclude=("<unk>", nnlm.BOUNDARY), epoch=1)
    return box, box.controls["epoch"], (1, 2)


def _nearest_neighbour_explorer():
    import numpy as np

    from nlpcourse import data, evaluate, text, widgets

    vocab = text.build_vocabulary([text.tokenize(d) for d in data.lee_documents()], min_count=3)
    wv = evaluate.WordVectors(np.random.default_rng(0).normal(size=(len(vocab), 50)), vocab)
    box = widgets.nearest_neighbour_explorer({"random vectors": wv}, ["police", "government"], k=8)
    return box, box.controls["k"], (8, 9)


def _activation_explorer():
    from nlpcourse import widgets

    box = widgets.activation_explorer("sigmoid", x_range=6.0)
    return box, box.controls["x range"], (6.0, 6.5)


def _softmax_temperature():
    from nlpcourse import widgets

    box = widgets.softmax_temperature((3.0, 1.5, 1.0, 0.2, -1.0))
    return box, box.controls["temperature"], (1.0, 10 ** 0.05)


def _feature_scale_descent():
    from nlpcourse import widgets

    box = widgets.feature_scale_descent(scale=10.0, lr_fraction=1.6, steps=40)
    return box, box.controls["scale"], (10.0, 10 ** 1.05)


def _gradient_norm_depth():
    import numpy as np

    from nlpcourse import widgets

    # synthetic norms: the figure (lines, decade ticks) is what costs
    rng = np.random.default_rng(0)
    norms = {d: {"plain": 10.0 ** -np.linspace(0, d / 4, d) * rng.uniform(0.5, 2, d),
                 "residual": rng.uniform(0.5, 2, d)} for d in (2, 4, 8, 16, 32)}
    box = widgets.gradient_norm_depth(norms, depth=16)
    return box, box.controls["depth"], (16, 32)


def _alignment_explorer():
    import numpy as np

    from nlpcourse import widgets

    rng = np.random.default_rng(0)  # synthetic sentences and weights of the notebook's sizes
    examples = []
    for n in (5, 6):
        source = [f"word{j}" for j in range(n)]
        output = [f"tok{i}" for i in range(n + 1)] + ["[EOS]"]
        weights = rng.dirichlet(np.ones(n), size=len(output))
        examples.append((source, output, weights))
    box = widgets.alignment_explorer(examples)
    return box, box.controls["example"], (0, 1)


def _mask_explorer():
    from nlpcourse import widgets

    box = widgets.mask_explorer(lengths=(6, 4, 2), max_len=6, seed=0)
    return box, box.controls["lengths"][1], (4, 5)


def _gaussian_boundary():
    from nlpcourse import data, widgets

    X, y, Xt, yt = data.pokemon_two_types(("water", "normal"), data.POKEMON_STATS, 400)
    box = widgets.gaussian_boundary(X, y, Xt, yt, data.POKEMON_STATS, ("Normal", "Water"),
                                    features=(2, 4))
    return box, box.controls["prior"], (0.55, 0.6)


def _learning_rate_descent():
    import numpy as np

    from nlpcourse import data, normalization, widgets

    table = data.pokemon()
    x, y = table["defense"] / 100, table["sp_defense"] / 100
    fit = normalization.LeastSquares.fit(np.c_[x, np.ones_like(x)], y)
    box = widgets.learning_rate_descent(fit, 1.0, start=np.array([-0.5, 1.5]), steps=40,
                                        lr_range=(0.01, 2.0),
                                        xlim=(-1.0, 1.5), ylim=(-0.5, 2.0), xlabel="slope w",
                                        ylabel="bias b")
    slider = box.controls["lr"]
    return box, slider, (1.0, 10 ** (np.log10(1.0) + slider.step))


def _projection_explorer():
    from nlpcourse import data, widgets

    X, y = data.digits()
    box = widgets.projection_explorer(X, y, [str(d) for d in range(10)], classes=(1, 7, 9))
    return box, box.controls["components"], (2, 1)


def _next_token_explorer():
    from nlpcourse import data, gpt, tokenize, widgets

    model, _meta = gpt.load_checkpoint(data.DATA_DIR / "checkpoints" / "09c_gpt_lm.pt")
    box = widgets.next_token_explorer(model, tokenize.gpt_bpe_tokenizer(), "The government said")
    return box, box.controls["temperature"], (1.0, 1.1)


#: "NN widget" -> builder returning (box with .view, the control a key press moves, two values).
RENDER_CASES = {
    "01 tfidf_explorer": _lee_explorer,
    "02 next_word_explorer": _next_word_explorer,
    "03 nearest_neighbour_explorer": _nearest_neighbour_explorer,
    "04 activation_explorer": _activation_explorer,
    "04 softmax_temperature": _softmax_temperature,
    "05 feature_scale_descent": _feature_scale_descent,
    "06 gradient_norm_depth": _gradient_norm_depth,
    "07 alignment_explorer": _alignment_explorer,
    "08 mask_explorer": _mask_explorer,
    "10 gaussian_boundary": _gaussian_boundary,
    "11 learning_rate_descent": _learning_rate_descent,
    "09c next_token_explorer": _next_token_explorer,
    "12 projection_explorer": _projection_explorer,
}


def _timed(function, log: list):
    def timed(*args):
        start = time.process_time()
        result = function(*args)
        log.append(time.process_time() - start)
        return result

    return timed


def render_timings(build, steps: int) -> dict:
    """Median CPU milliseconds per control step: the whole redraw, the drawing function, the
    render."""
    box, control, values = build()
    view = box.view
    draws, renders, totals = [], [], []
    view._draw = _timed(view._draw, draws)
    split = hasattr(view, "render")  # older FigureViews rendered inside redraw()
    if split:
        view.render = _timed(view.render, renders)
    count = view.renders
    for step in range(steps):
        start = time.process_time()
        control.value = values[(step + 1) % 2]
        totals.append(time.process_time() - start)
    png = bytes(view.image.value)
    ms = lambda xs: 1000 * statistics.median(xs) if xs else float("nan")  # noqa: E731
    return {"redraw": ms(totals), "draw": ms(draws),
            "render": ms(renders) if split else float("nan"),
            "per step": (view.renders - count) / steps, "kB": len(png) / 1000,
            "pixels": f"{view.figure.bbox.width:.0f}x{view.figure.bbox.height:.0f}"}


def print_render_table(selected: list[str], steps: int) -> None:
    from nlpcourse import plots
    from nlpcourse.reproducibility import seed_everything

    seed_everything(0, 1)
    # as in every notebook (it turns on constrained layout for pyplot figures)
    plots.use_course_style()
    print(f"CPU ms per control step, median of {steps} (process time, so other load on the machine "
          "counts less)")
    print(f"{'widget':<30}{'redraw':>8}{'draw fn':>9}{'render':>8}{'redraws':>9}{'PNG kB':>8}  "
          "pixels")
    for name, build in RENDER_CASES.items():
        if selected and not any(name.startswith(s) for s in selected):
            continue
        try:
            r = render_timings(build, steps)
        except Exception as error:  # a chapter mid-edit should not hide the others' numbers
            print(f"{name:<30}  failed: {type(error).__name__}: {error}")
            continue
        print(f"{name:<30}{r['redraw']:>8.1f}{r['draw']:>9.1f}{r['render']:>8.1f}"
              f"{r['per step']:>9.2f}{r['kB']:>8.1f}  "
              f"{r['pixels']}")
    print("redraw = control.value set -> image.value set; render = Agg draw + PNG encode; redraws "
          "per step should be 1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="*", default=[],
                        help="browser mode: one notebook (default chapter 01); --render: chapter "
                             "prefixes")
    parser.add_argument("--slider", type=int, default=0,
                        help="which slider on the page (0 = first)")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--param", action="append", default=[], help="name=value (JSON value)")
    parser.add_argument("--floor", action="store_true",
                        help="same path, two pre-rendered PNGs instead of drawing")
    parser.add_argument("--render", action="store_true",
                        help="in-process redraw times of every widget")
    parser.add_argument("--steps", type=int, default=20, help="--render: control steps per widget")
    args = parser.parse_args()
    if args.render:
        print_render_table(args.notebook, args.steps)
        return
    notebook = args.notebook[0] if args.notebook else "01_text_representation.ipynb"
    require_chromium()
    parameters = dict(QUICK_PARAMETERS.get(notebook, {}))
    for item in args.param:
        key, value = item.split("=", 1)
        parameters[key] = json.loads(value)
    result = measure(notebook, args.slider, args.moves, parameters, floor=args.floor)
    latencies = result["latencies"]
    median = statistics.median(latencies)
    p90 = sorted(latencies)[int(0.9 * (len(latencies) - 1))]
    print(f"{notebook} slider {args.slider}{' (floor: no drawing)' if args.floor else ''}: "
          f"{len(latencies)} moves")
    print(f"  key press -> new image: median {median:.0f} ms, p90 {p90:.0f} ms, "
          f"min {min(latencies):.0f} ms, max {max(latencies):.0f} ms")
    print(f"  per key press: {statistics.mean(result['sent']):.2f} widget updates sent, "
          f"{statistics.mean(result['received']):.2f} received; "
          f"{result['renders'] / len(latencies):.2f} kernel redraws")
    burst = result["burst"]
    print(f"  burst of {burst['presses']} presses 30 ms apart: {burst['sent']} value updates sent, "
          f"{burst['renders']} kernel redraws")
    print(f"  target median <= {TARGET_MS:.0f} ms: ratio {median / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
