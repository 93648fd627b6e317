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
from matplotlib.figure import Figure

from nlpcourse import plots, text


class FigureView:
    """A matplotlib figure shown as an image widget; ``redraw()`` renders it again.

    ``draw(figure)`` is called on every redraw. For speed it should update the artists it
    made on the first call (bar heights, line data, texts) rather than clear the figure:
    Agg then re-renders in about 30 ms instead of about 100 ms.
    """

    def __init__(self, figure: Figure, draw: Callable[[Figure], None]):
        self.figure = figure
        self._draw = draw
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{figure.get_figwidth() * figure.dpi:.0f}px"))
        self.renders = 0
        self.redraw()

    def redraw(self) -> None:
        """Call the drawing function and send the newly rendered PNG to the browser."""
        self._draw(self.figure)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        self.image.value = buffer.getvalue()
        self.renders += 1


def _on_change(controls: Sequence[widgets.Widget], callback: Callable[[], None]) -> None:
    for control in controls:
        control.observe(lambda _change: callback(), names="value")


# --------------------------------------------------------------------------- chapter 01

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
        ax.set_title(f"{titles[document.value]}: top {top_k.value} terms, {weighting.value}")

    view = FigureView(plots.new_figure(6.4, 4.0, left=0.2), draw)
    _on_change([document, weighting, top_k], view.redraw)
    box.children = [widgets.HBox([document, top_k]), weighting, view.image]
    box.controls = {"document": document, "weighting": weighting, "k": top_k}
    box.view = view
    return box


# --------------------------------------------------------------------------- chapter 10


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
            # P(C1|x) as one image updated in place: far cheaper to re-render than filled contours
            art["shade"] = ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", cmap="RdBu",
                                     vmin=0.0, vmax=1.0, alpha=0.25, interpolation="nearest", zorder=0)
        ax = fig.axes[0]
        art["shade"].set_data(box.probability)
        art["shade"].set_extent((xx.min(), xx.max(), yy.min(), yy.max()))
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

    view = FigureView(plots.new_figure(6.4, 4.4, left=0.12, bottom=0.12, top=0.92), draw)
    _on_change([x_feature, y_feature, covariance, prior], view.redraw)
    box.children = [widgets.HBox([x_feature, y_feature]), widgets.HBox([covariance, prior]), view.image]
    box.controls = {"x": x_feature, "y": y_feature, "covariance": covariance, "prior": prior}
    box.view = view
    return box
