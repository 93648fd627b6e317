"""One builder function per widget. Each returns the widget without displaying it, so a test
can drive it by setting control values and reading what it drew.

Figures are rendered by Agg into an ``ipywidgets.Image`` (``FigureView``) instead of the
inline backend: a redraw then costs one PNG render and one message to the browser, which
keeps slider-to-picture latency low, and the widget's outputs are the same under nbval,
papermill and JupyterLab.
"""

from __future__ import annotations

import io
from typing import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from nlpcourse import plots, text


def _png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as a PNG at zlib level 1 (a third of level 6's time, about 10% more bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class FigureView:
    """A matplotlib figure shown as an image widget; ``redraw()`` renders it again.

    ``draw(figure)`` is called on every redraw. For speed it should update the artists it
    made on the first call (bar heights, line data, texts) rather than clear the figure:
    Agg then re-renders in about 30 ms instead of about 100 ms.

    The figure is rendered by its own Agg canvas, not by ``savefig``: on exit ``savefig`` restores
    a figure's missing layout engine through ``set_layout_engine(None)``, which reads
    ``figure.constrained_layout.use`` (on in the course style), so from the second frame on every
    redraw ran constrained layout and an extra text-measuring draw (2-3x slower, other margins).
    """

    def __init__(self, figure: Figure, draw: Callable[[Figure], None]):
        self.figure = figure
        self._draw = draw
        self._canvas = FigureCanvasAgg(figure)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{figure.get_figwidth() * figure.dpi:.0f}px"))
        self.renders = 0
        self.redraw()

    def redraw(self) -> None:
        """Call the drawing function and send the newly rendered PNG to the browser."""
        self._draw(self.figure)
        self.image.value = self.render()
        self.renders += 1

    def render(self) -> bytes:
        """Render the figure as it is now and return the PNG bytes."""
        self._canvas.draw()
        return _png(self._canvas)


def _on_change(controls: Sequence[widgets.Widget], callback: Callable[[], None]) -> None:
    """Call ``callback`` (a redraw) when any control's value changes, inside the change's handler.

    Coalescing is left to ipywidgets' front end: it keeps one update per control in flight until
    the kernel reports idle, and later changes replace the buffered one, so a held arrow key costs
    one redraw per kernel round trip, of the latest value. Deferring the redraw past the handler
    would report idle before drawing and let the front end queue more work, not less.
    """
    for control in controls:
        control.observe(lambda _change: callback(), names="value")


# --------------------------------------------------------------------------- chapter 01


def _pin_label_positions(ax) -> None:
    """Keep the x label where the first render put it and stop placing the (empty) y label.

    Auto-placement measures every tick label on every render (about a third of a bar chart's
    redraw). Only for axes whose x tick labels keep their height (numbers) and with no y label.
    """
    label = ax.xaxis.label
    _x, y = label.get_transform().transform(label.get_position())
    ax.xaxis.set_label_coords(0.5, (y - ax.bbox.y0) / ax.bbox.height)
    ax.yaxis.set_label_coords(-0.1, 0.5)


TFIDF_WEIGHTINGS = {
    "raw counts (BoW)": dict(tf="raw", idf="none", normalize=False),
    "tf-idf": dict(tf="raw", idf="standard", normalize=True),
    "log tf-idf": dict(tf="log", idf="standard", normalize=True),
    "binary": dict(tf="binary", idf="none", normalize=False),
}


def tfidf_explorer(documents: Sequence[Sequence[str]], titles: Sequence[str], *, min_count: int = 2,
                   k: int = 10) -> widgets.VBox:
    """Pick a document and a weighting, see its top terms as bars.

    The returned box has ``.controls`` (document, weighting, k), ``.view`` (the FigureView)
    and ``.terms`` (the (word, weight) pairs currently drawn).
    """
    if len(titles) != len(documents):
        raise ValueError(f"titles must have one entry per document ({len(documents)}), got {len(titles)}")
    vocab = text.build_vocabulary(documents, min_count=min_count, unk_token=None if min_count == 1 else "<unk>")
    counts = text.bag_of_words(documents, vocab)
    weighted = {name: text.tfidf(counts, **options) for name, options in TFIDF_WEIGHTINGS.items()}
    ignore = {vocab.index(vocab.unk_token)} if vocab.unk_token else set()

    document = widgets.Dropdown(options=[(t, i) for i, t in enumerate(titles)], value=0, description="document")
    weighting = widgets.ToggleButtons(options=list(TFIDF_WEIGHTINGS), value="tf-idf", description="weighting")
    top_k = widgets.IntSlider(value=k, min=3, max=20, description="top k", continuous_update=True)

    box = widgets.VBox()
    slots = top_k.max

    def draw(fig: Figure) -> None:
        row = weighted[weighting.value][document.value].toarray().ravel()
        row[list(ignore)] = 0.0
        box.terms = text.top_terms(row, vocab, top_k.value)
        if not fig.axes:  # first call: one bar per slot, updated in place afterwards
            ax = fig.add_subplot()
            box.bars = ax.barh(range(slots), np.zeros(slots), color=plots.PALETTE[0])
            ax.set_yticks(range(slots))
            ax.invert_yaxis()
        ax = fig.axes[0]
        words = [w for w, _v in box.terms] + [""] * (slots - len(box.terms))
        values = [v for _w, v in box.terms] + [0.0] * (slots - len(box.terms))
        for bar, value in zip(box.bars, values):
            bar.set_width(value)
        ax.set_yticklabels(words)
        ax.set_ylim(len(box.terms) - 0.5, -0.5)
        ax.set_xlim(0, max(values) * 1.08 if max(values) > 0 else 1.0)
        ax.set_xlabel("count" if weighting.value == "raw counts (BoW)" else "weight")
        # y=1.0 (where auto-placement puts it here) spares measuring the axes' texts on every render
        ax.set_title(f"{titles[document.value]}: top {top_k.value} terms, {weighting.value}", y=1.0)

    view = FigureView(plots.new_figure(6.4, 4.0, left=0.2), draw)
    _pin_label_positions(view.figure.axes[0])
    _on_change([document, weighting, top_k], view.redraw)
    box.children = [widgets.HBox([document, top_k]), weighting, view.image]
    box.controls = {"document": document, "weighting": weighting, "k": top_k}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 10


class _BlitFigureView(FigureView):
    """A FigureView that re-renders only the artists that change (``dynamic()``) over a cached
    background of everything else (axes, ticks, labels, legend, points). The background is
    redrawn only when ``static_key()`` changes. Text layout dominates a full Agg render, so this
    cuts a redraw from about 130 ms to about 25 ms of CPU."""

    def __init__(self, figure: Figure, draw: Callable[[Figure], None], dynamic: Callable[[], list],
                 static_key: Callable[[], object]):
        self._dynamic, self._static_key = dynamic, static_key
        self._key, self._background = None, None
        super().__init__(figure, draw)

    def render(self) -> bytes:
        artists = self._dynamic()
        for artist in artists:
            artist.set_animated(True)  # left out of canvas.draw(), drawn by hand below
        key = self._static_key()
        if key != self._key or self._background is None:
            self._canvas.draw()
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
            self._key = key
        else:
            self._canvas.restore_region(self._background)
        for artist in artists:
            self.figure.draw_artist(artist)
        return _png(self._canvas)


def gaussian_boundary(X_train, y_train, X_test, y_test, feature_names: Sequence[str],
                      class_names: Sequence[str] = ("class 0", "class 1"), *, features: tuple[int, int] = (0, 1),
                      steps: int = 120) -> widgets.VBox:
    """The Gaussian decision boundary widget: pick two features, separate or shared covariance,
    and the prior P(C1); it refits on the training set and redraws ellipses and boundary.

    The box has ``.controls`` (x, y, covariance, prior), ``.view`` (the FigureView), ``.model``
    (the fitted ``GaussianModel``), ``.accuracy`` ({"train", "test"}) and ``.probability`` (P(C1|x)
    on the drawing grid, so a test can see the boundary move).
    """
    from matplotlib.patches import Ellipse

    from nlpcourse import generative

    X_train, X_test = np.asarray(X_train, dtype=float), np.asarray(X_test, dtype=float)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if X_train.ndim != 2 or X_train.shape[1] != len(feature_names) or X_test.shape[1:] != X_train.shape[1:]:
        raise ValueError(f"X_train and X_test must have one column per feature name ({len(feature_names)}), "
                         f"got shapes {X_train.shape} and {X_test.shape}")
    options = [(name, i) for i, name in enumerate(feature_names)]
    x_feature = widgets.Dropdown(options=options, value=features[0], description="x feature")
    y_feature = widgets.Dropdown(options=options, value=features[1], description="y feature")
    covariance = widgets.ToggleButtons(options=["separate", "shared"], value="separate", description="covariance")
    prior = widgets.FloatSlider(value=round(float(np.mean(y_train)), 2), min=0.05, max=0.95, step=0.05,
                                description=f"P({class_names[1]})", continuous_update=True, readout_format=".2f")
    box = widgets.VBox()
    art = {}

    def draw(fig: Figure) -> None:
        cols = [x_feature.value, y_feature.value]
        Xtr, Xte = X_train[:, cols], X_test[:, cols]
        box.model = generative.fit_generative(Xtr, y_train, shared=covariance.value == "shared",
                                              priors=[1.0 - prior.value, prior.value])
        box.accuracy = {"train": generative.accuracy(box.model, Xtr, y_train),
                        "test": generative.accuracy(box.model, Xte, y_test)}
        xx, yy, points = plots.boundary_grid(np.vstack([Xtr, Xte]), steps=steps)
        box.probability = generative.posterior(box.model, points)[:, 1].reshape(xx.shape)
        if not fig.axes:  # first call: make the artists once, update them afterwards
            ax = fig.add_subplot()
            art["train"] = [ax.scatter([], [], s=16, color=plots.PALETTE[i], label=f"{class_names[c]} (train)")
                            for i, c in enumerate((1, 0))]
            art["test"] = [ax.scatter([], [], s=16, facecolors="none", edgecolors=plots.PALETTE[i],
                                      label=f"{class_names[c]} (test)") for i, c in enumerate((1, 0))]
            art["ellipses"] = [ax.add_patch(Ellipse((0, 0), 1, 1, fill=False, linewidth=2, edgecolor=plots.PALETTE[i]))
                               for i in range(2)]
            ax.legend(loc="upper right", fontsize=7)
        ax = fig.axes[0]
        for i, c in enumerate((1, 0)):
            art["train"][i].set_offsets(Xtr[y_train == c])
            art["test"][i].set_offsets(Xte[y_test == c])
            centre, width, height, angle = plots.ellipse_geometry(box.model.means[c], box.model.covariances[c])
            ellipse = art["ellipses"][i]
            ellipse.set_center(centre), ellipse.set_width(width), ellipse.set_height(height), ellipse.set_angle(angle)
        for old in art.get("contours", []):  # a contour set cannot be updated in place
            old.remove()
        art["contours"] = plots.decision_boundary(ax, xx, yy, box.probability, shade=False)
        ax.set_xlim(xx.min(), xx.max())
        ax.set_ylim(yy.min(), yy.max())
        ax.set_xlabel(f"{feature_names[cols[0]]} (base stat points)")
        ax.set_ylabel(f"{feature_names[cols[1]]} (base stat points)")
        shape = "linear" if covariance.value == "shared" else "quadratic"
        ax.set_title(f"{covariance.value} covariance ({shape} boundary): train {box.accuracy['train']:.1%}, "
                     f"test {box.accuracy['test']:.1%}", fontsize=9)

    view = _BlitFigureView(plots.new_figure(6.4, 4.4, left=0.12, bottom=0.12, top=0.92), draw,
                           dynamic=lambda: [*art["ellipses"], *art["contours"], art["ellipses"][0].axes.title],
                           static_key=lambda: (x_feature.value, y_feature.value))
    _on_change([x_feature, y_feature, covariance, prior], view.redraw)
    box.children = [widgets.HBox([x_feature, y_feature]), widgets.HBox([covariance, prior]), view.image]
    box.controls = {"x": x_feature, "y": y_feature, "covariance": covariance, "prior": prior}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 04: activation functions


def activation_explorer(name: str = "sigmoid", x_range: float = 6.0) -> widgets.VBox:
    """Pick an activation function, see it and its derivative over [-x_range, x_range].

    The returned box has ``.controls`` (function, x range), ``.view`` and ``.curves``
    (``x``, ``f``, ``df``: the arrays currently drawn).
    """
    from nlpcourse import activations

    choice = widgets.Dropdown(options=list(activations.ACTIVATIONS), value=name, description="function")
    width = widgets.FloatSlider(value=x_range, min=1.0, max=20.0, step=0.5, description="x range")
    box = widgets.VBox()

    def draw(fig: Figure) -> None:
        f, df = activations.ACTIVATIONS[choice.value]
        x = np.linspace(-width.value, width.value, 401)
        box.curves = {"x": x, "f": f(x), "df": df(x)}
        if not fig.axes:  # first call: two lines, updated in place afterwards
            ax = fig.add_subplot()
            box.lines = (ax.plot(x, x, label="f(x)")[0], ax.plot(x, x, "--", label="f'(x) (derivative)")[0])
            ax.axhline(0.0, color="grey", linewidth=0.6)
            ax.axvline(0.0, color="grey", linewidth=0.6)
            ax.set_xlabel("input x (pre-activation)")
            ax.set_ylabel("output")
            ax.legend(loc="upper left")
        ax = fig.axes[0]
        for line, values in zip(box.lines, (box.curves["f"], box.curves["df"])):
            line.set_data(x, values)
        both = np.concatenate([box.curves["f"], box.curves["df"]])
        pad = 0.08 * max(float(both.max() - both.min()), 1e-3)
        ax.set_xlim(-width.value, width.value)
        ax.set_ylim(float(both.min()) - pad, float(both.max()) + pad)
        ax.set_title(f"{choice.value} and its derivative")

    view = FigureView(plots.new_figure(6.4, 3.6), draw)
    _on_change([choice, width], view.redraw)
    box.children = [widgets.HBox([choice, width]), view.image]
    box.controls = {"function": choice, "x range": width}
    box.view = view
    return box


#: At most this many logits in the softmax temperature widget.
SOFTMAX_MAX_LOGITS = 10


def _parse_logits(text_value: str) -> np.ndarray:
    parts = [p for p in text_value.replace(";", ",").split(",") if p.strip()]
    try:
        values = np.array([float(p) for p in parts], dtype=float)
    except ValueError:
        raise ValueError(f"logits must be numbers separated by commas, got {text_value!r}") from None
    if not 2 <= len(values) <= SOFTMAX_MAX_LOGITS or not np.all(np.isfinite(values)):
        raise ValueError(f"logits must be 2 to {SOFTMAX_MAX_LOGITS} finite numbers, got {text_value!r}")
    return values


def softmax_temperature(logits: Sequence[float] = (3.0, 1.5, 1.0, 0.2, -1.0), temperature: float = 1.0) -> widgets.VBox:
    """Editable logits and a log-scale temperature slider; bars show softmax(logits / T) and its entropy.

    The returned box has ``.controls`` (logits text, temperature), ``.view``, ``.probabilities``,
    ``.entropy`` (nats) and ``.message`` (an HTML line that reports unreadable logits).
    """
    from nlpcourse import activations

    text_box = widgets.Text(value=", ".join(f"{v:g}" for v in logits), description="logits",
                            continuous_update=False)
    temp = widgets.FloatLogSlider(value=temperature, base=10, min=-2, max=2, step=0.05,
                                  description="temperature", readout_format=".2f",
                                  style={"description_width": "initial"})
    message = widgets.HTML(value="")
    box = widgets.VBox()
    box.values = _parse_logits(text_box.value)
    slots = SOFTMAX_MAX_LOGITS

    def draw(fig: Figure) -> None:
        try:
            box.values = _parse_logits(text_box.value)
            message.value = ""
        except ValueError as error:  # keep the last good logits, say what was wrong
            message.value = f"<span style='color:#c85200'>{error}</span>"
        n = len(box.values)
        box.probabilities = activations.softmax(box.values, temp.value)
        box.entropy = float(activations.entropy(box.probabilities))
        if not fig.axes:
            ax = fig.add_subplot()
            box.bars = ax.bar(range(slots), np.zeros(slots), color=plots.PALETTE[0])
            box.labels = [ax.text(i, 0.0, "", ha="center", va="bottom", fontsize=8) for i in range(slots)]
            ax.set_ylim(0, 1.08)
            ax.set_ylabel("probability")
        ax = fig.axes[0]
        heights = list(box.probabilities) + [0.0] * (slots - n)
        for i, (bar, label, height) in enumerate(zip(box.bars, box.labels, heights)):
            bar.set_height(height)
            label.set_position((i, height + 0.01))
            label.set_text(f"{height:.2f}" if i < n else "")
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_xticks(range(n), labels=[f"z={v:g}" for v in box.values])
        ax.set_xlabel("class (its logit z)")
        ax.set_title(f"T = {temp.value:.2f}: entropy {box.entropy:.3f} nats (uniform: {np.log(n):.3f})")

    view = FigureView(plots.new_figure(6.4, 3.6), draw)
    _on_change([text_box, temp], view.redraw)
    box.children = [widgets.HBox([text_box, temp]), message, view.image]
    box.controls = {"logits": text_box, "temperature": temp}
    box.view = view
    box.message = message
    return box


# --------------------------------------------------------------------------- chapter 05: feature scale and GD


def feature_scale_descent(scale: float = 10.0, lr_fraction: float = 1.6, *, steps: int = 40,
                          start: tuple[float, float] = (0.0, 1.0), n: int = 200, seed: int = 0) -> widgets.VBox:
    """A feature-scale slider over two loss-contour panels: raw features (left), z-scored (right).

    The second feature of a two-feature regression is multiplied by ``scale``; gradient
    descent (learning rate ``lr_fraction`` / largest curvature) starts at ``start`` in both.
    The box has ``.controls`` (scale, lr fraction), ``.view``, ``.paths`` and ``.steps``
    (steps to reach a loss within 1e-6 of the minimum), both keyed "raw" and "z-score".
    """
    from nlpcourse import normalization as norm

    scale_slider = widgets.FloatLogSlider(value=scale, base=10, min=0, max=2, step=0.05,
                                          description="x2 scale", readout_format=".1f",
                                          style={"description_width": "initial"})
    lr_slider = widgets.FloatSlider(value=lr_fraction, min=0.2, max=1.9, step=0.1,
                                    description="lr x curvature", readout_format=".1f",
                                    style={"description_width": "initial"})
    box = widgets.VBox()
    xlim, ylim = (-0.5, 4.0), (-3.0, 1.5)

    def draw(fig: Figure) -> None:
        X, y = norm.scaled_features(scale_slider.value, n=n, seed=seed)
        problems = {"raw": norm.LeastSquares.fit(X, y),
                    "z-score": norm.LeastSquares.fit(norm.z_score(X).transform(X), y)}
        box.paths, box.steps = {}, {}
        if not fig.axes:
            fig.subplots(1, 2)
        for ax, (name, problem) in zip(fig.axes, problems.items()):
            lr = problem.safe_lr(lr_slider.value)
            box.paths[name] = norm.gradient_descent_path(problem.grad, start, lr, steps)
            box.steps[name] = norm.steps_to_converge(problem, start, lr)
            for artist in list(ax.collections) + list(ax.lines):  # contours cannot be updated in place:
                artist.remove()  # remove them (not ax.clear(), which rebuilds every tick) and draw anew
            plots.loss_contour(ax, problem.loss, xlim, ylim, path=box.paths[name], resolution=90,
                               xlabel="w1 (weight of x1)", ylabel="w2 (weight of x2)",
                               title=f"{name}: {box.steps[name]} steps to converge")
        fig.axes[0].legend(loc="lower right", fontsize=7)
        fig.suptitle(f"x2 scale {scale_slider.value:.1f}, condition number "
                     f"{problems['raw'].condition_number:.0f} (raw) vs {problems['z-score'].condition_number:.2f}",
                     fontsize=9)

    view = FigureView(plots.new_figure(9.0, 3.8, left=0.08, right=0.98, bottom=0.14, top=0.84, wspace=0.28), draw)
    _on_change([scale_slider, lr_slider], view.redraw)
    box.children = [widgets.HBox([scale_slider, lr_slider]), view.image]
    box.controls = {"scale": scale_slider, "lr fraction": lr_slider}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 02: neural language models


def next_word_explorer(history, vocab: text.Vocabulary, prompts: Sequence[str], *, k: int = 8,
                       exclude: Sequence[str] = ("<unk>", "<s>"), epoch: int | None = None) -> widgets.VBox:
    """Pick a prompt and a training checkpoint (epoch slider): the NNLM's top-k next words as
    bars, beside the validation loss curve with the chosen epoch marked.

    ``history`` is an ``nlpcourse.nnlm.TrainingHistory`` with its checkpoints. The box has
    ``.controls`` (prompt, epoch), ``.view`` and ``.predictions`` (the (word, probability)
    pairs drawn).
    """
    from matplotlib.ticker import MaxNLocator

    from nlpcourse import nnlm

    if not history.states:
        raise ValueError("history kept no checkpoints; train with keep_states=True")
    if isinstance(prompts, str) or not prompts:
        raise ValueError("prompts must be a non-empty list of prompt strings")
    models: dict[int, object] = {}
    last = len(history.states) - 1
    prompt = widgets.Dropdown(options=list(prompts), value=prompts[0], description="prompt")
    epoch_slider = widgets.IntSlider(value=last if epoch is None else epoch, min=0, max=last, description="epoch",
                                     continuous_update=True)
    box = widgets.VBox()

    def draw(fig: Figure) -> None:
        e = epoch_slider.value
        if e not in models:
            models[e] = history.model_at(e)
        box.predictions = nnlm.top_next_words(models[e], vocab, text.tokenize(prompt.value), k=k, exclude=exclude)
        if not fig.axes:  # first call: the artists that later calls update in place
            # few texts and fixed axes: redraw time is mostly glyph rendering, so every label counts
            bars_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
            box.bars = bars_ax.barh(range(k), np.zeros(k), color=plots.PALETTE[0])
            bars_ax.set_yticks(range(k))
            bars_ax.set_ylim(k - 0.5, -0.5)
            bars_ax.set_xlim(0, 1)  # a fixed scale, so growing confidence shows as longer bars
            bars_ax.set_xticks([0, 0.5, 1])
            bars_ax.set_xlabel("P(next word | prompt)")
            loss_ax.plot(range(last + 1), history.valid_loss, marker="o", color=plots.PALETTE[1])
            loss_ax.set_xticks(range(0, last + 1, max(1, last // 5)))
            loss_ax.yaxis.set_major_locator(MaxNLocator(4))
            loss_ax.set_xlabel("epoch")
            loss_ax.set_ylabel("validation loss (nats)")
            box.marker = loss_ax.plot([e], [history.valid_loss[e]], "o", markersize=12, fillstyle="none",
                                      color="black")[0]
        bars_ax, loss_ax = fig.axes[0], fig.axes[1]
        words = [w for w, _p in box.predictions] + [""] * (k - len(box.predictions))
        probs = [p for _w, p in box.predictions] + [0.0] * (k - len(box.predictions))
        for bar, p in zip(box.bars, probs):
            bar.set_width(p)
        bars_ax.set_yticklabels(words)
        bars_ax.set_title(f'"{prompt.value} ..." after epoch {e}', fontsize=9)
        box.marker.set_data([e], [history.valid_loss[e]])
        loss_ax.set_title(f"validation loss {history.valid_loss[e]:.3f} nats", fontsize=9)

    view = FigureView(plots.new_figure(9.0, 3.6, left=0.13, right=0.98, bottom=0.15, top=0.9, wspace=0.35), draw)
    _on_change([prompt, epoch_slider], view.redraw)
    box.children = [widgets.HBox([prompt, epoch_slider]), view.image]
    box.controls = {"prompt": prompt, "epoch": epoch_slider}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 07: seq2seq and attention


def alignment_explorer(examples: Sequence[tuple[Sequence[str], Sequence[str], np.ndarray]], index: int = 0) -> widgets.VBox:
    """Pick a translated example, see its attention weights a_ij as a heat-map.

    ``examples`` holds (source words, output tokens, weights (outputs x sources)), e.g. from
    ``nlpcourse.seq2seq.alignment``. The returned box has ``.controls`` (example), ``.view``
    and ``.shown`` (the example currently drawn).
    """
    examples = [(list(s), list(o), np.asarray(w, dtype=float)) for s, o, w in examples]
    if not examples:
        raise ValueError("examples is empty: give at least one (source, output, weights) triple")
    for i, (source, output, weights) in enumerate(examples):
        if weights.shape != (len(output), len(source)):
            raise ValueError(f"examples[{i}] weights must have shape ({len(output)}, {len(source)}), got {weights.shape}")
    labels = [(f"{' '.join(s)} -> {''.join(t for t in o if not t.startswith('['))}", i)
              for i, (s, o, _w) in enumerate(examples)]
    example = widgets.Dropdown(options=labels, value=index, description="example",
                               layout=widgets.Layout(width="560px"))
    box = widgets.VBox()

    def draw(fig: Figure) -> None:
        source, output, weights = examples[example.value]
        box.shown = examples[example.value]
        if not fig.axes:  # first call: one image, updated in place afterwards
            ax = fig.add_subplot()
            box.image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
            fig.colorbar(box.image, ax=ax, shrink=0.8, label="attention weight a_ij")
            ax.grid(False)
            ax.set_xlabel("source word j")
            ax.set_ylabel("output token i")
        ax = fig.axes[0]
        box.image.set_data(weights)
        box.image.set_extent((-0.5, len(source) - 0.5, len(output) - 0.5, -0.5))
        ax.set_xlim(-0.5, len(source) - 0.5)
        ax.set_ylim(len(output) - 0.5, -0.5)
        ax.set_xticks(range(len(source)), labels=source, rotation=45, ha="right")
        ax.set_yticks(range(len(output)), labels=output)
        ax.set_title(f"{' '.join(source)}: attention of each output token")

    view = FigureView(plots.new_figure(6.4, 4.2, left=0.14, right=0.98, bottom=0.26, top=0.9), draw)
    _on_change([example], view.redraw)
    box.children = [example, view.image]
    box.controls = {"example": example}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 06: residual connections


def gradient_norm_depth(norms_by_depth: dict[int, dict[str, Sequence[float]]], depth: int | None = None) -> widgets.VBox:
    """A depth slider over precomputed per-layer gradient norms, one line per model (plain vs residual).

    ``norms_by_depth`` is ``{depth: {model name: norms}}`` as returned by
    ``nlpcourse.residual.gradient_norms_by_depth``; nothing is computed on a slider move, only
    redrawn. The box has ``.controls`` (depth), ``.view``, ``.norms`` (the norms drawn) and
    ``.ratios`` (first-layer over last-layer gradient norm per model).
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from nlpcourse import residual

    if not norms_by_depth:
        raise ValueError("norms_by_depth must hold at least one depth, got an empty mapping")
    depths = sorted(norms_by_depth)
    names = list(norms_by_depth[depths[0]])
    if any(list(norms_by_depth[d]) != names for d in depths):
        raise ValueError(f"every depth must hold the same models {names}")
    if depth is not None and depth not in norms_by_depth:
        raise ValueError(f"depth must be one of {depths}, got {depth!r}")
    positive = np.concatenate([np.asarray(v, dtype=float) for d in depths for v in norms_by_depth[d].values()])
    positive = positive[positive > 0]
    ylim = (positive.min() / 3, positive.max() * 3) if len(positive) else (1e-3, 1.0)
    slider = widgets.SelectionSlider(options=depths, value=depths[-1] if depth is None else depth,
                                     description="depth", continuous_update=True)
    box = widgets.VBox()

    def draw(fig: Figure) -> None:
        d = slider.value
        box.norms = {name: np.asarray(values, dtype=float) for name, values in norms_by_depth[d].items()}
        box.ratios = {name: residual.gradient_ratio(values) if values[-1] > 0 else float("nan")
                      for name, values in box.norms.items()}
        if not fig.axes:  # first call: one line per model, updated in place afterwards
            ax = plots.gradient_norms(fig.add_subplot(), box.norms)
            ax.set_ylim(*ylim)
            # fixed decade ticks in plain text: log-axis mathtext labels would be re-parsed on every redraw
            decades = np.arange(np.floor(np.log10(ylim[0])), np.ceil(np.log10(ylim[1])) + 1)
            step = max(1, int(np.ceil(len(decades) / 8)))
            ax.yaxis.set_major_locator(FixedLocator(10.0 ** decades[::step]))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0e}"))
            ax.yaxis.set_minor_locator(NullLocator())
        ax = fig.axes[0]
        for line, values in zip(ax.lines, box.norms.values()):
            line.set_data(np.arange(1, len(values) + 1), values)
        ax.set_xlim(0.5, d + 0.5)
        ratios = ", ".join(f"{name} {ratio:.2g}" for name, ratio in box.ratios.items())
        ax.set_title(f"{d} layers at initialisation; first/last layer gradient: {ratios}", fontsize=9)

    view = FigureView(plots.new_figure(7.0, 3.6, left=0.12, bottom=0.14, top=0.9), draw)
    _on_change([slider], view.redraw)
    box.children = [slider, view.image]
    box.controls = {"depth": slider}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 08: Transformer


def mask_explorer(lengths: Sequence[int] = (6, 4, 2), max_len: int = 6, *, padding: bool = True, causal: bool = True,
                  d_k: int = 8, seed: int = 0) -> widgets.VBox:
    """Set each sequence's length and toggle the padding and causal masks; see the combined mask
    and the resulting attention weights per sequence (fixed random queries and keys).

    The box has ``.controls`` (``lengths``: one slider per sequence, ``padding``, ``causal``),
    ``.view``, ``.mask`` (B, T, T booleans, True = may attend) and ``.weights`` (B, T, T).
    """
    import torch

    from nlpcourse import attention
    from nlpcourse._checks import check_int

    max_len = check_int("max_len", max_len, minimum=1, maximum=16)
    lengths = [check_int(f"lengths[{i}]", n, minimum=1, maximum=max_len) for i, n in enumerate(lengths)]
    if not 1 <= len(lengths) <= 4:
        raise ValueError(f"lengths must hold 1 to 4 sequence lengths, got {len(lengths)}")
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    q, k = (torch.randn(len(lengths), max_len, check_int("d_k", d_k, minimum=1), generator=generator) for _ in range(2))
    sliders = [widgets.IntSlider(value=n, min=1, max=max_len, description=f"length {i + 1}", continuous_update=True)
               for i, n in enumerate(lengths)]
    pad_box = widgets.Checkbox(value=padding, description="padding mask")
    causal_box = widgets.Checkbox(value=causal, description="causal (sequence) mask")
    box = widgets.VBox()

    def compute() -> None:
        current = [s.value for s in sliders]
        mask = torch.ones(len(current), 1, max_len, max_len, dtype=torch.bool)
        mask = attention.combine_masks(mask, attention.padding_mask(current, max_len) if pad_box.value else None,
                                       attention.causal_mask(max_len) if causal_box.value else None)
        _out, weights = attention.scaled_dot_product_attention(q[:, None], k[:, None], k[:, None], mask)
        box.lengths = current
        box.mask, box.weights = mask[:, 0].numpy(), weights[:, 0].numpy()

    def draw(fig: Figure) -> None:
        compute()
        on = [name for name, flag in (("padding", pad_box.value), ("causal", causal_box.value)) if flag]
        title = f"masks: {' + '.join(on) if on else 'none'}"
        if not fig.axes:  # first call: the images, updated in place afterwards
            box.handles = plots.attention_mask_grid(fig, box.mask, box.weights, box.lengths, suptitle=title)
        plots.update_attention_mask_grid(box.handles, box.mask, box.weights, box.lengths, suptitle=title)

    view = FigureView(plots.new_figure(2.4 * len(lengths) + 1.2, 4.6, left=0.1, right=0.86, bottom=0.1, top=0.86,
                                       hspace=0.45, wspace=0.35), draw)
    _on_change([*sliders, pad_box, causal_box], view.redraw)
    box.children = [widgets.HBox(sliders), widgets.HBox([pad_box, causal_box]), view.image]
    box.controls = {"lengths": sliders, "padding": pad_box, "causal": causal_box}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 12: PCA / LDA projection


def _nearest_mean_accuracy(Z: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose nearest class mean (Euclidean) is their own class's: scikit-learn's
    ``NearestCentroid().fit(Z, y).score(Z, y)`` (tested) without its pairwise-distance machinery,
    which took about 30 ms a call here, a tenth of the redraw."""
    classes, index = np.unique(y, return_inverse=True)
    means = np.stack([Z[index == k].mean(axis=0) for k in range(len(classes))])
    distances = ((Z[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float(np.mean(distances.argmin(axis=1) == index))


def projection_explorer(X, y, class_names: Sequence[str], *, method: str = "PCA", classes: Sequence[int] = (0, 1, 7),
                        components: int = 2) -> widgets.VBox:
    """Project labelled data with PCA or LDA onto 1 or 2 components; see how well classes separate.

    The title reports the accuracy of a nearest-class-mean classifier in the projected space
    (fitted and scored on the shown points). ``.accuracy`` and ``.projection`` hold the numbers drawn.
    """
    from nlpcourse import decomposition

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    method_control = widgets.ToggleButtons(options=["PCA", "LDA"], value=method, description="method")
    class_control = widgets.SelectMultiple(options=[(name, i) for i, name in enumerate(class_names)],
                                           value=tuple(classes), description="classes", rows=5)
    component_control = widgets.IntSlider(value=components, min=1, max=2, description="components")
    box = widgets.VBox()
    keep_columns = X.std(axis=0) > 0  # constant features make LDA's within-class scatter singular

    def draw(fig: Figure) -> None:
        chosen = list(class_control.value) if len(class_control.value) >= 2 else [0, 1]
        rows = np.isin(y, chosen)
        Xs, ys = X[rows][:, keep_columns], y[rows]
        k = min(component_control.value, len(chosen) - 1) if method_control.value == "LDA" else component_control.value
        if method_control.value == "PCA":
            Z = decomposition.pca(Xs, k).projection
        else:
            Z = decomposition.lda(Xs, ys, k, reg=1e-3).projection
        box.projection, box.labels = Z, ys
        box.accuracy = _nearest_mean_accuracy(Z, ys)
        if not fig.axes:  # first call: the artists, moved in place afterwards
            box.artists = plots.ClassProjection(fig.add_subplot(), class_names)
        box.artists.update(Z, ys, method=method_control.value,
                           title=f"{method_control.value}, {Z.shape[1]}-D: nearest-mean accuracy {box.accuracy:.3f}")

    view = FigureView(plots.new_figure(6.4, 4.2), draw)
    _on_change([method_control, class_control, component_control], view.redraw)
    box.children = [widgets.HBox([method_control, component_control]), class_control, view.image]
    box.controls = {"method": method_control, "classes": class_control, "components": component_control}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 03: Word2Vec and GloVe


def _bars_view(box, slots: int, xlabel: str, compute) -> "FigureView":
    """A FigureView of ``slots`` horizontal bars whose (label, value) pairs ``compute()`` returns."""

    def draw(fig: Figure) -> None:
        title, pairs = compute()
        box.results = pairs
        if not fig.axes:  # first call: one bar per slot, updated in place afterwards
            ax = fig.add_subplot()
            box.bars = ax.barh(range(slots), np.zeros(slots), color=plots.PALETTE[0])
            ax.set_yticks(range(slots))
            ax.set_xlabel(xlabel)
        ax = fig.axes[0]
        values = [v for _w, v in pairs] + [0.0] * (slots - len(pairs))
        for bar, value in zip(box.bars, values):
            bar.set_width(value)
        ax.set_yticklabels([w for w, _v in pairs] + [""] * (slots - len(pairs)))
        ax.set_ylim(max(len(pairs), 1) - 0.5, -0.5)
        ax.set_xlim(min(0.0, min(values)), 1.0)
        ax.set_title(title)

    return FigureView(plots.new_figure(6.4, 3.8, left=0.2), draw)


def nearest_neighbour_explorer(models: dict, words: Sequence[str], word: str | None = None, k: int = 8) -> widgets.VBox:
    """Type or pick a word, choose a model, see its ``k`` nearest neighbours by cosine.

    ``models`` maps a name to a ``nlpcourse.evaluate.WordVectors``. The box has ``.controls``
    (word, model, k), ``.view`` and ``.results`` (the (word, cosine) pairs drawn). A word
    outside the vocabulary draws no bars and says so in the title.
    """
    if not models:
        raise ValueError("models must name at least one set of word vectors")
    names = list(models)
    word_box = widgets.Combobox(value=word or words[0], options=list(words), description="word",
                                ensure_option=False, continuous_update=False)
    model_box = widgets.ToggleButtons(options=names, value=names[0], description="model")
    top_k = widgets.IntSlider(value=k, min=3, max=15, description="neighbours")
    box = widgets.VBox()

    def compute():
        wv, query = models[model_box.value], word_box.value.strip().lower()
        if query not in wv:
            return f"{query!r} is not in the vocabulary", []
        return f"nearest to {query!r} ({model_box.value})", wv.most_similar(query, topn=top_k.value)

    view = _bars_view(box, top_k.max, "cosine similarity", compute)
    _on_change([word_box, model_box, top_k], view.redraw)
    box.children = [widgets.HBox([word_box, top_k]), model_box, view.image]
    box.controls = {"word": word_box, "model": model_box, "k": top_k}
    box.view = view
    return box


def analogy_explorer(wv, questions: Sequence[tuple[str, str, str]], index: int = 0, k: int = 5) -> widgets.VBox:
    """a : b = c : ?  Pick a question (or type the three words) and see the best answers of b - a + c.

    The box has ``.controls`` (question, a, b, c, k), ``.view`` and ``.results``.
    """
    if not questions:
        raise ValueError("questions must hold at least one (a, b, c) triple")
    pick = widgets.Dropdown(options=[(f"{a} : {b} = {c} : ?", i) for i, (a, b, c) in enumerate(questions)],
                            value=index, description="question")
    fields = {name: widgets.Text(value=questions[index][n], description=name, continuous_update=False,
                                 layout=widgets.Layout(width="180px")) for n, name in enumerate("abc")}
    top_k = widgets.IntSlider(value=k, min=1, max=10, description="answers")
    box = widgets.VBox()

    def choose(_change) -> None:
        a, b, c = questions[pick.value]
        with view.image.hold_sync():
            for name, value in zip("abc", (a, b, c)):
                fields[name].value = value

    def compute():
        a, b, c = (fields[n].value.strip().lower() for n in "abc")
        missing = [w for w in (a, b, c) if w not in wv]
        if missing:
            return f"not in the vocabulary: {', '.join(missing)}", []
        return f"{a} : {b} = {c} : ?   (b - a + c)", wv.analogy(a, b, c, topn=top_k.value)

    view = _bars_view(box, top_k.max, "cosine with b - a + c", compute)
    pick.observe(choose, names="value")
    _on_change([*fields.values(), top_k], view.redraw)
    box.children = [pick, widgets.HBox(list(fields.values())), top_k, view.image]
    box.controls = {"question": pick, **fields, "k": top_k}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 11: learning rate


def learning_rate_descent(problem, lr: float, *, start: Sequence[float], steps: int = 30,
                          xlim: tuple[float, float], ylim: tuple[float, float],
                          lr_range: tuple[float, float] = (1e-3, 10.0), xlabel: str = "w1", ylabel: str = "w2"
                          ) -> widgets.VBox:
    """A learning-rate slider over chapter 05's loss contour: gradient descent from ``start`` redraws
    its path at every learning rate. ``problem`` has ``loss(W1, W2)``, ``grad(w)`` and ``minimum``
    (e.g. ``nlpcourse.normalization.LeastSquares``). The box has ``.controls`` ("lr"), ``.view``,
    ``.path`` (the iterates drawn) and ``.final_loss`` (None once the run diverged)."""
    from nlpcourse import normalization as norm

    low, high = np.log10(lr_range[0]), np.log10(lr_range[1])
    slider = widgets.FloatLogSlider(value=lr, base=10, min=low, max=high, step=(high - low) / 100,
                                    description="learning rate", readout_format=".3g",
                                    style={"description_width": "initial"}, layout=widgets.Layout(width="480px"))
    box = widgets.VBox()
    loss_at_minimum = float(problem.loss(*problem.minimum))

    def draw(fig: Figure) -> None:
        box.path = norm.gradient_descent_path(problem.grad, start, slider.value, steps)
        final = float(problem.loss(*box.path[-1]))
        diverged = len(box.path) <= steps or final > 1e6 * (abs(loss_at_minimum) + 1.0)
        box.final_loss = None if diverged else final
        shown = np.clip(box.path, [xlim[0] - 1, ylim[0] - 1], [xlim[1] + 1, ylim[1] + 1])  # keep Agg's numbers small
        if not fig.axes:
            ax = fig.subplots()
            plots.loss_contour(ax, problem.loss, xlim, ylim, path=shown, xlabel=xlabel, ylabel=ylabel, title=" ")
            ax.plot(*problem.minimum, "+", color="black", markersize=12, label="minimum")
            ax.legend(loc="lower right", fontsize=7)
            box._path_lines = ax.lines[-4:-1]  # path, start, end (made by loss_contour)
        line, _start, end = box._path_lines
        line.set_data(shown[:, 0], shown[:, 1])
        end.set_data([shown[-1, 0]], [shown[-1, 1]])
        status = "diverged" if diverged else f"loss {final:.4f} (minimum {loss_at_minimum:.4f})"
        fig.axes[0].set_title(f"lr = {slider.value:.3g}: after {steps} steps, {status}", fontsize=9)

    view = FigureView(plots.new_figure(6.0, 4.2, left=0.12, right=0.97, bottom=0.12, top=0.92), draw)
    _on_change([slider], view.redraw)
    box.children = [slider, view.image]
    box.controls = {"lr": slider}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 09c: GPT


def next_token_explorer(model, tokenizer, prompt: str = "The", *, temperature: float = 1.0, top_k: int = 0,
                        bars: int = 10, continuation: int = 8, seed: int = 0) -> widgets.VBox:
    """Type a prompt, move the temperature and top-k sliders: the GPT's next-token distribution
    as bars and one sampled continuation (the same ``seed`` for every draw, so it is repeatable).

    ``model`` is an ``nlpcourse.gpt.GPT``, ``tokenizer`` a ``BytePairTokenizer``; top-k 0 means
    no cut. A prompt longer than the context keeps its last ``context`` tokens. The box has
    ``.controls`` (prompt, temperature, top_k), ``.view``, ``.pairs`` (the (token, probability)
    pairs drawn), ``.continuation`` (text) and ``.message``.
    """
    import textwrap

    import torch

    from nlpcourse import gpt
    from nlpcourse._checks import check_int

    bars = check_int("bars", bars, minimum=1, maximum=30)
    continuation = check_int("continuation", continuation, minimum=0, maximum=200)
    seed = check_int("seed", seed, minimum=0)
    prompt_box = widgets.Text(value=prompt, description="prompt", continuous_update=False,
                              layout=widgets.Layout(width="60%"))
    temperature_slider = widgets.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.1, description="temperature",
                                             continuous_update=True, readout_format=".1f")
    top_k_slider = widgets.IntSlider(value=top_k, min=0, max=50, description="top-k (0 = all)",
                                     continuous_update=True, style={"description_width": "initial"})
    box = widgets.VBox()

    def compute() -> None:
        ids = tokenizer.encode(prompt_box.value)
        t, k = temperature_slider.value, top_k_slider.value or None
        box.pairs, box.continuation, box.message = [], "", ""
        if not ids:
            box.message = "the prompt encodes to zero tokens: type something"
            return
        if len(ids) > model.config.context:
            box.message = f"prompt cropped to its last {model.config.context} tokens"
        probs = gpt.next_token_distribution(model, ids, t, k, truncate=True)
        top = torch.topk(probs, bars)
        box.pairs = [(tokenizer.token_str(int(i)), float(p)) for p, i in zip(top.values, top.indices) if p > 0]
        out = gpt.generate(model, ids, continuation, temperature=t, top_k=k, truncate=True,
                           generator=torch.Generator().manual_seed(seed))
        box.continuation = tokenizer.decode(out[-continuation:]) if continuation else ""

    def draw(fig: Figure) -> None:
        compute()
        if not fig.axes:  # first call: the bars and texts, updated in place afterwards
            ax = fig.add_subplot()
            box.bars = plots.next_token_bars(ax, [], slots=bars)
            size = ax.yaxis.get_majorticklabels()[0].get_fontsize()
            ax.tick_params(axis="y", labelleft=False)  # own texts instead: tick labels are re-laid out per draw
            box.labels = [ax.text(-0.015, i, "", transform=ax.get_yaxis_transform(), ha="right", va="center",
                                  fontsize=size) for i in range(bars)]
            box.title = fig.text(0.585, 0.94, "", ha="center", va="bottom", fontsize=9)
            box.text = fig.text(0.02, 0.02, "", fontsize=9, va="bottom", family="monospace")
        pairs = box.pairs + [("", 0.0)] * (bars - len(box.pairs))
        for bar, label, (t, p) in zip(box.bars, box.labels, pairs):
            bar.set_width(p)
            label.set_text(plots.token_label(t) if t else "")
        k = top_k_slider.value
        box.title.set_text(box.message or f"T = {temperature_slider.value:.1f}, top-k = {k if k else 'all'}")
        shown = repr(box.continuation)[1:-1]  # newlines as \n, one paragraph
        box.text.set_text("sampled: " + "\n".join(textwrap.wrap(shown, 80)[:3]))

    def changing() -> list:
        """What a redraw changes, drawn over a cached picture of the rest (axes, x ticks, x label)."""
        return [*box.bars, *box.labels, box.title, box.text]

    view = _BlitFigureView(plots.new_figure(7.2, 4.2, left=0.2, right=0.97, bottom=0.3, top=0.92), draw,
                           changing, lambda: None)
    _on_change([prompt_box, temperature_slider, top_k_slider], view.redraw)
    box.children = [prompt_box, widgets.HBox([temperature_slider, top_k_slider]), view.image]
    box.controls = {"prompt": prompt_box, "temperature": temperature_slider, "top_k": top_k_slider}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 09b: BERT fill the mask


def fill_mask_explorer(model, vocab: text.Vocabulary, sentence: str, *, k: int = 8, layer: int | None = None,
                       slots: int = 14) -> widgets.VBox:
    """"Fill the mask": a sentence with [MASK] (Text box), BERT's top-k words for it with
    probabilities (left), and a layer switch choosing whose vectors feed the similarity bars
    (right: cosine of the [MASK] position's vector to every other token's, at that layer).

    ``model`` is an ``nlpcourse.bert.Bert``. A sentence without [MASK] or an unknown layer raises
    ``ValueError`` here; typed into the widget, it keeps the last good picture and says what was
    wrong in ``.message``. The box has ``.controls`` (sentence, layer), ``.view``,
    ``.predictions`` ((word, probability) pairs), ``.similarities`` ((token, cosine) pairs) and
    ``.message``.
    """
    from nlpcourse import bert

    n_layers = model.config.n_layers
    layer = n_layers if layer is None else layer
    bert.layer_states(model, vocab, sentence, layer=layer)  # raises on an unknown layer
    bert.fill_mask(model, vocab, sentence, k=k)  # raises without [MASK]
    sentence_box = widgets.Text(value=sentence, description="sentence", continuous_update=False,
                                layout=widgets.Layout(width="520px"))
    layer_box = widgets.ToggleButtons(options=[("embeddings", 0)] + [(f"layer {i}", i) for i in range(1, n_layers + 1)],
                                      value=layer, description="vectors of")
    message = widgets.HTML(value="")
    box = widgets.VBox()

    def compute() -> None:
        predictions = bert.fill_mask(model, vocab, sentence_box.value, k=k)
        tokens, vectors = bert.layer_states(model, vocab, sentence_box.value, layer=layer_box.value)
        at = tokens.index(bert.MASK)
        unit = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        cosines = (unit @ unit[at]).tolist()
        box.predictions = predictions
        box.similarities = [(t, c) for i, (t, c) in enumerate(zip(tokens, cosines)) if i != at][:slots]

    def draw(fig: Figure) -> None:
        try:
            compute()
            message.value = ""
        except ValueError as error:  # keep the last good picture, say what was wrong
            message.value = f"<span style='color:#c85200'>{error}</span>"
        if not fig.axes:  # first call: the artists that later calls update in place
            word_ax, cos_ax = fig.subplots(1, 2)
            box.bars = word_ax.barh(range(k), np.zeros(k), color=plots.PALETTE[0])
            word_ax.set_yticks(range(k))
            word_ax.set_ylim(k - 0.5, -0.5)
            word_ax.set_xlabel("P(word at [MASK] | sentence)")
            box.cos_bars = cos_ax.barh(range(slots), np.zeros(slots), color=plots.PALETTE[1])
            cos_ax.set_yticks(range(slots))
            cos_ax.set_ylim(slots - 0.5, -0.5)
            cos_ax.set_xlim(-1, 1)
            cos_ax.axvline(0.0, color="grey", linewidth=0.8)
            cos_ax.set_xlabel("cosine to the [MASK] vector")
        word_ax, cos_ax = fig.axes[0], fig.axes[1]
        words = [w for w, _p in box.predictions] + [""] * (k - len(box.predictions))
        for bar, (_w, p) in zip(box.bars, box.predictions + [("", 0.0)] * (k - len(box.predictions))):
            bar.set_width(p)
        word_ax.set_yticklabels(words)
        word_ax.set_xlim(0, max(0.1, 1.15 * max((p for _w, p in box.predictions), default=0.0)))  # small probabilities stay visible
        word_ax.set_title(f"top {k} words for [MASK]", fontsize=9)
        pairs = box.similarities + [("", 0.0)] * (slots - len(box.similarities))
        for bar, (_t, c) in zip(box.cos_bars, pairs):
            bar.set_width(c)
        cos_ax.set_yticklabels([t for t, _c in pairs])
        name = "embeddings (layer 0)" if layer_box.value == 0 else f"encoder layer {layer_box.value}"
        cos_ax.set_title(f"vectors of the {name}", fontsize=9)

    view = FigureView(plots.new_figure(9.0, 3.8, left=0.12, right=0.98, bottom=0.14, top=0.9, wspace=0.45), draw)
    _on_change([sentence_box, layer_box], view.redraw)
    box.children = [sentence_box, layer_box, message, view.image]
    box.controls = {"sentence": sentence_box, "layer": layer_box}
    box.view = view
    box.message = message
    return box
