"""Texts and words as vectors: which terms weigh most in a document (tf-idf, chapter 01), a
word's nearest neighbours and analogies by cosine (chapter 03), and labelled data projected by
PCA or LDA (chapter 12)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from nlpcourse import plots, text
from nlpcourse.widgets import _core
from nlpcourse.widgets._core import Explorer, FigureView, set_word_bars, word_bars

__all__ = ["TFIDF_WEIGHTINGS", "TermWeights", "tfidf_explorer", "RankedWords",
           "nearest_neighbour_explorer", "analogy_explorer", "Projection", "nearest_mean_accuracy",
           "projection_explorer"]

TFIDF_WEIGHTINGS = {
    "raw counts (BoW)": dict(tf="raw", idf="none", normalize=False),
    "tf-idf": dict(tf="raw", idf="standard", normalize=True),
    "log tf-idf": dict(tf="log", idf="standard", normalize=True),
    "binary": dict(tf="binary", idf="none", normalize=False),
}


# --------------------------------------------------------------------------- chapter 01: tf-idf


@dataclass(frozen=True)
class TermWeights:
    """One document's heaviest terms under one weighting.

    terms: the (word, weight) pairs drawn, largest first (weight is a count for raw counts).
    weighting: the name of the weighting (a key of ``TFIDF_WEIGHTINGS``).
    heading: the figure's title (document title, k and weighting).
    """

    terms: list[tuple[str, float]]
    weighting: str
    heading: str


def tfidf_explorer(documents: Sequence[Sequence[str]], titles: Sequence[str], *,
                   min_count: int = 2, k: int = 10) -> Explorer:
    """Pick a document and a weighting, see its top terms as bars (``.result``: TermWeights)."""
    if len(titles) != len(documents):
        raise ValueError(f"titles must have one entry per document ({len(documents)}), "
                         f"got {len(titles)}")
    unk = None if min_count == 1 else "<unk>"
    vocab = text.build_vocabulary(documents, min_count=min_count, unk_token=unk)
    counts = text.bag_of_words(documents, vocab)
    weighted = {name: text.tfidf(counts, **options) for name, options in TFIDF_WEIGHTINGS.items()}
    ignore = [vocab.index(vocab.unk_token)] if vocab.unk_token else []

    def compute(document: int, weighting: str, k: int) -> TermWeights:
        row = weighted[weighting][document].toarray().ravel()
        row[ignore] = 0.0
        return TermWeights(text.top_terms(row, vocab, k), weighting,
                           f"{titles[document]}: top {k} terms, {weighting}")

    controls = {
        "document": widgets.Dropdown(options=[(t, i) for i, t in enumerate(titles)], value=0,
                                     description="document"),
        "weighting": widgets.ToggleButtons(options=list(TFIDF_WEIGHTINGS), value="tf-idf",
                                           description="weighting"),
        "k": widgets.IntSlider(value=k, min=3, max=20, description="top k"),
    }
    c = controls
    box = Explorer(controls, compute, _draw_terms, plots.new_figure(6.4, 4.0, left=0.2),
                   rows=[[c["document"], c["k"]], c["weighting"]])
    _core.pin_label_positions(box.view.figure.axes[0])
    return box


def _draw_terms(view: FigureView, result: TermWeights, slots: int = 20) -> None:
    """Bars of the terms, one bar per slot made on the first call and resized afterwards."""
    if not view.artists:
        ax = view.figure.add_subplot()
        view.artists["bars"] = word_bars(ax, slots, plots.PALETTE[0])
        ax.invert_yaxis()
    ax = view.figure.axes[0]
    shown = set_word_bars(ax, view.artists["bars"], result.terms)
    ax.set_ylim(len(result.terms) - 0.5, -0.5)
    top = max(value for _w, value in shown)
    ax.set_xlim(0, top * 1.08 if top > 0 else 1.0)
    ax.set_xlabel("count" if result.weighting == "raw counts (BoW)" else "weight")
    # y=1.0 (where auto-placement puts it here) spares measuring the axes' texts on every render
    ax.set_title(result.heading, y=1.0)


# --------------------------------------------------------------------------- chapter 03: neighbours


@dataclass(frozen=True)
class RankedWords:
    """Words ranked by cosine similarity.

    heading: the figure's title (the query, or which words are not in the vocabulary).
    pairs: the (word, cosine) pairs drawn, best first; empty when a word is unknown.
    """

    heading: str
    pairs: list[tuple[str, float]]


def _bars_figure(xlabel: str, slots: int) -> tuple[Figure, Callable[[FigureView, RankedWords],
                                                                    None]]:
    """The figure and drawing of ``slots`` horizontal bars of a RankedWords."""

    def draw(view: FigureView, result: RankedWords) -> None:
        if not view.artists:
            ax = view.figure.add_subplot()
            view.artists["bars"] = word_bars(ax, slots, plots.PALETTE[0])
            ax.set_xlabel(xlabel)
        ax = view.figure.axes[0]
        shown = set_word_bars(ax, view.artists["bars"], result.pairs)
        ax.set_ylim(max(len(result.pairs), 1) - 0.5, -0.5)
        ax.set_xlim(min(0.0, min(value for _w, value in shown)), 1.0)
        ax.set_title(result.heading)

    return plots.new_figure(6.4, 3.8, left=0.2), draw


def nearest_neighbour_explorer(models: dict, words: Sequence[str], word: str | None = None,
                               k: int = 8) -> Explorer:
    """Type or pick a word, choose a model, see its ``k`` nearest neighbours by cosine.

    ``models`` maps a name to a ``nlpcourse.evaluate.WordVectors``; ``.result`` is a RankedWords.
    A word outside the vocabulary draws no bars and says so in the title.
    """
    if not models:
        raise ValueError("models must name at least one set of word vectors")
    names = list(models)

    def compute(word: str, model: str, k: int) -> RankedWords:
        wv, query = models[model], word.strip().lower()
        if query not in wv:
            return RankedWords(f"{query!r} is not in the vocabulary", [])
        return RankedWords(f"nearest to {query!r} ({model})", wv.most_similar(query, topn=k))

    controls = {
        "word": widgets.Combobox(value=word or words[0], options=list(words), description="word",
                                 ensure_option=False, continuous_update=False),
        "model": widgets.ToggleButtons(options=names, value=names[0], description="model"),
        "k": widgets.IntSlider(value=k, min=3, max=15, description="neighbours"),
    }
    figure, draw = _bars_figure("cosine similarity", controls["k"].max)
    c = controls
    return Explorer(controls, compute, draw, figure, rows=[[c["word"], c["k"]], c["model"]])


def analogy_explorer(wv, questions: Sequence[tuple[str, str, str]], index: int = 0,
                     k: int = 5) -> Explorer:
    """a : b = c : ?  Pick a question (or type the three words), see the best answers of
    b - a + c (``.result``: RankedWords). Picking a question fills a, b and c: one render."""
    if not questions:
        raise ValueError("questions must hold at least one (a, b, c) triple")
    pick = widgets.Dropdown(options=[(f"{a} : {b} = {c} : ?", i)
                                     for i, (a, b, c) in enumerate(questions)],
                            value=index, description="question")
    fields = {name: widgets.Text(value=questions[index][n], description=name,
                                 continuous_update=False, layout=widgets.Layout(width="180px"))
              for n, name in enumerate("abc")}
    top_k = widgets.IntSlider(value=k, min=1, max=10, description="answers")

    def compute(question: int, a: str, b: str, c: str, k: int) -> RankedWords:
        a, b, c = (w.strip().lower() for w in (a, b, c))
        missing = [w for w in (a, b, c) if w not in wv]
        if missing:
            return RankedWords(f"not in the vocabulary: {', '.join(missing)}", [])
        return RankedWords(f"{a} : {b} = {c} : ?   (b - a + c)", wv.analogy(a, b, c, topn=k))

    def choose(_change) -> None:
        with box.holding():
            for name, value in zip("abc", questions[pick.value]):
                fields[name].value = value

    pick.observe(choose, names="value")  # before the box's own observer: fields first
    figure, draw = _bars_figure("cosine with b - a + c", top_k.max)
    box = Explorer({"question": pick, **fields, "k": top_k}, compute, draw, figure,
                   rows=[pick, list(fields.values()), top_k])
    return box


# --------------------------------------------------------------------------- chapter 12: PCA / LDA


@dataclass(frozen=True)
class Projection:
    """Labelled points projected by PCA or LDA.

    method: "PCA" or "LDA".
    projection: the projected points (n, 1) or (n, 2) of the chosen classes.
    labels: each projected point's class index (n,).
    accuracy: share of points whose nearest class mean in the projection is their own class's.
    """

    method: str
    projection: np.ndarray
    labels: np.ndarray
    accuracy: float


def nearest_mean_accuracy(Z: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose nearest class mean (Euclidean) is their own class's: scikit-learn's
    ``NearestCentroid().fit(Z, y).score(Z, y)`` (tested) without its pairwise-distance
    machinery, which took about 30 ms a call here, a tenth of the redraw."""
    classes, index = np.unique(y, return_inverse=True)
    means = np.stack([Z[index == k].mean(axis=0) for k in range(len(classes))])
    distances = ((Z[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float(np.mean(distances.argmin(axis=1) == index))


def projection_explorer(X, y, class_names: Sequence[str], *, method: str = "PCA",
                        classes: Sequence[int] = (0, 1, 7), components: int = 2) -> Explorer:
    """Project labelled data with PCA or LDA onto 1 or 2 components; see how well classes
    separate. The title reports ``.result.accuracy`` (a Projection): a nearest-class-mean
    classifier in the projected space, fitted and scored on the shown points."""
    from nlpcourse import decomposition

    X, y = np.asarray(X, dtype=float), np.asarray(y)
    keep_columns = X.std(axis=0) > 0  # constant features make LDA's within-class scatter singular

    def compute(method: str, classes: tuple[int, ...], components: int) -> Projection:
        chosen = list(classes) if len(classes) >= 2 else [0, 1]
        rows = np.isin(y, chosen)
        Xs, ys = X[rows][:, keep_columns], y[rows]
        if method == "PCA":
            Z = decomposition.pca(Xs, components).projection
        else:
            Z = decomposition.lda(Xs, ys, min(components, len(chosen) - 1), reg=1e-3).projection
        return Projection(method, Z, ys, nearest_mean_accuracy(Z, ys))

    controls = {
        "method": widgets.ToggleButtons(options=["PCA", "LDA"], value=method,
                                        description="method"),
        "classes": widgets.SelectMultiple(options=[(n, i) for i, n in enumerate(class_names)],
                                          value=tuple(classes), description="classes", rows=5),
        "components": widgets.IntSlider(value=components, min=1, max=2,
                                        description="components"),
    }
    c = controls
    return Explorer(controls, compute, lambda view, r: _draw_projection(view, r, class_names),
                    plots.new_figure(6.4, 4.2), rows=[[c["method"], c["components"]],
                                                      c["classes"]])


def _draw_projection(view: FigureView, result: Projection, class_names: Sequence[str]) -> None:
    """``plots.ClassProjection``, made on the first call and moved afterwards."""
    if not view.artists:
        view.artists["projection"] = plots.ClassProjection(view.figure.add_subplot(),
                                                           class_names)
    title = (f"{result.method}, {result.projection.shape[1]}-D: "
             f"nearest-mean accuracy {result.accuracy:.3f}")
    view.artists["projection"].update(result.projection, result.labels, method=result.method,
                                      title=title)
