"""Shared figures. Plots draw what the models return; models never import this module.

The contract: a drawing function takes the matplotlib ``Axes`` (or, for a grid of panels, the
``Figure`` or the axes) to draw on as its first argument and never opens a figure itself, so the
caller chooses the size and the same drawing serves a static figure and a widget's redraw. It
returns the Axes, except where a widget updates the drawing in place: then it returns the
artists it will update, and its docstring says which. ``new_figure`` makes the off-screen figure
a widget draws into; ``ellipse_geometry``, ``boundary_grid`` and ``token_label`` compute, they
do not draw.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["STYLE", "PALETTE", "use_course_style", "new_figure", "heatmap", "barh_terms",
           "training_curves", "ellipse_geometry", "covariance_ellipse", "boundary_grid",
           "decision_boundary", "two_class_scatter", "gaussian_classifier_panel",
           "square_vs_cross_entropy", "loss_contour", "language_model_losses", "scatter_by_label",
           "layer_profile", "gradient_norms", "singular_value_spectra", "alignment_heatmap",
           "accuracy_by_length", "gradient_norms_through_time", "attention_mask_grid",
           "update_attention_mask_grid", "attention_heads", "huffman_tree_plot", "GROUP_STYLES",
           "label_points", "word_groups_projection", "descent_paths", "loss_family",
           "ClassProjection", "class_projection", "token_label", "next_token_bars",
           "causal_mask_picture", "accuracy_by_examples", "bert_input_embeddings",
           "masked_sequence", "bilm_diagram", "block_diagram", "GaussianPanel"]

#: The colour-blind-safe palette every chapter uses (matplotlib's tableau-colorblind10).
STYLE = "tableau-colorblind10"
PALETTE = matplotlib.style.library[STYLE]["axes.prop_cycle"].by_key()["color"]


def use_course_style() -> None:
    """Colour-blind-safe colours, readable sizes and a fixed figure DPI for every chapter."""
    plt.style.use(STYLE)
    plt.rcParams.update(
        {
            "figure.dpi": 80,
            "figure.figsize": (6.4, 3.6),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "svg.hashsalt": "nlpcourse",
            "figure.constrained_layout.use": True,
        }
    )


def new_figure(width: float = 6.4, height: float = 3.6, dpi: int = 80, *, left: float = 0.12,
               right: float = 0.97, bottom: float = 0.14, top: float = 0.9,
               **subplot_space) -> Figure:
    """A figure not registered with pyplot (it never shows by itself), for widgets.

    Margins are fixed rather than computed by a layout engine: constrained layout measures
    every text on every redraw and would double a widget's redraw time.
    """
    with plt.style.context(STYLE):
        fig = Figure(figsize=(width, height), dpi=dpi, layout="none")
        fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top, **subplot_space)
    return fig


def heatmap(
    ax: Axes,
    matrix: np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool | str = False,
    colorbar: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw a matrix as coloured cells, with optional labels and the value written in each cell.

    ``annotate`` may be a format string such as ``"{:.2f}"``.
    """
    matrix = np.asarray(matrix, dtype=float)
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    ax.grid(False)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=45, ha="right")
    if annotate:
        fmt = annotate if isinstance(annotate, str) else "{:.2f}"
        for (i, j), value in np.ndenumerate(matrix):
            # dark text on light cells, light text on dark cells, whatever the colour map
            r, g, b, _a = image.cmap(image.norm(value))
            luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="black" if luminance > 0.5 else "white")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return ax


def barh_terms(ax: Axes, terms: Sequence[tuple[str, float]], *, xlabel: str,
               title: str | None = None,
               color: str | None = None) -> Axes:
    """Horizontal bars for (label, value) pairs, the first pair on top."""
    labels = [t for t, _v in terms][::-1]
    values = [v for _t, v in terms][::-1]
    ax.barh(range(len(values)), values, color=color or PALETTE[0])
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


def training_curves(ax: Axes, curves: dict[str, Sequence[float]], *, xlabel: str = "epoch",
                    ylabel: str = "loss", logy: bool = False, title: str | None = None) -> Axes:
    """One line per named curve (e.g. train and validation loss) on shared axes."""
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def ellipse_geometry(mean, cov, n_std: float = 2.0) -> tuple[tuple[float, float], float, float,
                                                             float]:
    """Centre, width, height and angle (degrees) of the n_std contour of a 2-D Gaussian."""
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (2, 2):
        raise ValueError(f"cov must have shape (2, 2), got {cov.shape}")
    eigenvalues, eigenvectors = np.linalg.eigh(cov)  # ascending
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    width, height = 2.0 * n_std * np.sqrt(np.maximum(eigenvalues[::-1], 0.0))
    return (float(mean[0]), float(mean[1])), float(width), float(height), angle


def covariance_ellipse(ax: Axes, mean, cov, n_std: float = 2.0, **style):
    """Draw the n_std contour of a 2-D Gaussian (mean, covariance) as an unfilled ellipse."""
    from matplotlib.patches import Ellipse

    centre, width, height, angle = ellipse_geometry(mean, cov, n_std)
    patch = Ellipse(centre, width, height, angle=angle, fill=False, linewidth=2, **style)
    ax.add_patch(patch)
    return patch


def boundary_grid(X, steps: int = 150,
                  margin: float = 0.08) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over the range of the 2-D points X (with a margin): xx, yy (steps, steps) and the
    points (steps^2, 2)."""
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def decision_boundary(ax: Axes, xx: np.ndarray, yy: np.ndarray, probability: np.ndarray, *,
                      level: float = 0.5, shade: bool = True, color: str = "black"):
    """Draw the contour probability == level (the decision boundary), optionally shading P(C1|x)."""
    probability = np.asarray(probability, dtype=float).reshape(xx.shape)
    artists = []
    if shade:
        artists.append(ax.contourf(xx, yy, probability, levels=np.linspace(0, 1, 11), cmap="RdBu",
                                   alpha=0.25))
    artists.append(ax.contour(xx, yy, probability, levels=[level], colors=color, linewidths=2))
    return artists


def two_class_scatter(ax: Axes, X, y, class_names: Sequence[str], *, X_test=None, y_test=None,
                      xlabel: str = "", ylabel: str = "") -> list:
    """Training points filled and test points hollow, C1 (label 1) in the first palette colour."""
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    artists = []
    for label, name, colour in ((1, class_names[1], PALETTE[0]), (0, class_names[0], PALETTE[1])):
        artists.append(ax.scatter(*X[y == label].T, s=16, color=colour, label=f"{name} (train)"))
        if X_test is not None:
            Xt, yt = np.asarray(X_test, dtype=float), np.asarray(y_test)
            artists.append(ax.scatter(*Xt[yt == label].T, s=16, facecolors="none",
                                      edgecolors=colour,
                                      label=f"{name} (test)"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return artists


def gaussian_classifier_panel(ax: Axes, X, y, means, covariances, probability_on_grid,
                              class_names: Sequence[str], *,
                              X_test=None, y_test=None, xlabel: str = "", ylabel: str = "",
                              title: str | None = None,
                              grid=None) -> Axes:
    """Scatter, the two fitted Gaussians as 2-sigma ellipses and the P(C1|x) = 0.5 boundary.

    ``probability_on_grid(points)`` returns P(C1|x) for an (M, 2) array of points. The drawing is
    ``GaussianPanel``'s, which ``widgets.gaussian_boundary`` updates in place.
    """
    shown = [X] + ([X_test] if X_test is not None else [])
    xx, yy, points = grid if grid is not None else boundary_grid(np.vstack(shown))
    GaussianPanel(ax, class_names, test=X_test is not None).update(
        X, y, means, covariances, (xx, yy), probability_on_grid(points), X_test=X_test,
        y_test=y_test, xlabel=xlabel, ylabel=ylabel, title=title)
    return ax


def square_vs_cross_entropy(axes: Sequence[Axes], weights, curves: dict, *,
                            y: float = 1.0) -> Sequence[Axes]:
    """Chapter 10's figure: loss and |dL/dw| of the one-weight model sigmoid(w x) on one example,
    square error against cross-entropy, on two axes; ``curves`` is
    ``losses.one_weight_curves(weights, x, y)``'s output. Returns the axes."""
    weights = np.asarray(weights, dtype=float)
    labels = {"cross_entropy": "cross-entropy", "square_error": "square error"}
    for (name, curve), colour in zip(curves.items(), PALETTE):
        axes[0].plot(weights, curve["loss"], color=colour, label=labels[name])
        axes[1].plot(weights, np.abs(curve["grad"]), color=colour, label=labels[name])
    axes[0].set(xlabel="weight w", ylabel="loss (nats / squared prob.)",
                title=f"loss, target y = {y:g}")
    axes[1].set(xlabel="weight w", ylabel="|dL/dw|", title="gradient size")
    axes[0].set_ylim(0, min(5.0, float(max(c["loss"].max() for c in curves.values()))))
    axes[0].legend()
    return axes


# ---------------------------------------------------------- chapter 05: loss contour (reused by 11)


def loss_contour(ax: Axes, loss, xlim: tuple[float, float], ylim: tuple[float, float], *, path=None,
                 levels: int = 30, resolution: int = 120, log_levels: bool = True,
                 xlabel: str = "w1",
                 ylabel: str = "w2", title: str | None = None) -> Axes:
    """Contours of any 2-parameter loss over a box, with an optional gradient-descent path on top.

    ``loss(W1, W2)`` takes two equal-shape arrays (a grid) and returns the losses, same shape.
    ``path`` is an (n, 2) array of parameter points, drawn as a line with markers from its
    start (square) to its end (star). With ``log_levels`` the contour levels are spaced
    geometrically above the grid's minimum, so a narrow valley still shows many lines.
    """
    from nlpcourse._checks import check_int

    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not float(lim[0]) < float(lim[1]):
            raise ValueError(f"{name} must be two increasing numbers (low, high), got {lim!r}")
    levels = check_int("levels", levels, minimum=2)
    resolution = check_int("resolution", resolution, minimum=2)
    W1, W2 = np.meshgrid(np.linspace(*map(float, xlim), resolution),
                         np.linspace(*map(float, ylim), resolution))
    Z = np.asarray(loss(W1, W2), dtype=float)
    if Z.shape != W1.shape:
        raise ValueError(f"loss(W1, W2) must return an array of the grid's shape {W1.shape}, got "
                         f"{Z.shape}")
    lo, hi = float(np.nanmin(Z)), float(np.nanmax(Z))
    if log_levels and hi > lo:
        contour_levels = lo + np.geomspace((hi - lo) * 1e-4, hi - lo, levels)
    else:
        contour_levels = levels
    ax.contour(W1, W2, Z, levels=contour_levels, cmap="viridis", linewidths=0.8)
    if path is not None:
        path = np.asarray(path, dtype=float)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path must have shape (n, 2), got {path.shape}")
        ax.plot(path[:, 0], path[:, 1], "-o", color=PALETTE[1], markersize=3, linewidth=1.2,
                label="GD path")
        ax.plot(*path[0], "s", color=PALETTE[3], markersize=7, label="start")
        ax.plot(*path[-1], "*", color=PALETTE[0], markersize=11, label="end")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------- chapter 02: neural language models


def language_model_losses(ax: Axes, train: Sequence[float], valid: Sequence[float], *,
                          baseline: float | None = None,
                          title: str | None = None) -> Axes:
    """Train and validation loss (nats per word) against epoch, epoch 0 being the untrained
    model, with an optional horizontal line for a baseline such as the unigram model."""
    epochs = np.arange(len(valid))
    ax.plot(np.arange(len(train)), train, marker="o", label="train")
    ax.plot(epochs, valid, marker="o", label="validation")
    if baseline is not None:
        ax.axhline(baseline, color=PALETTE[3], linestyle="--",
                   label="unigram baseline (validation)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats per word)")
    ax.set_xticks(epochs)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def scatter_by_label(ax: Axes, points: np.ndarray, labels: Sequence[str], *,
                     order: Sequence[str] | None = None,
                     title: str | None = None, xlabel: str = "code 1",
                     ylabel: str = "code 2") -> Axes:
    """2-D points coloured by a text label, one legend entry per label (in ``order`` if given)."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if len(labels) != len(points):
        raise ValueError(f"labels must have one entry per point ({len(points)}), got {len(labels)}")
    labels = np.asarray(labels)
    names = list(order) if order is not None else sorted(set(labels.tolist()))
    markers = "os^Dv<>P"
    for i, name in enumerate(names):
        mask = labels == name
        ax.scatter(points[mask, 0], points[mask, 1], s=22, color=PALETTE[i % len(PALETTE)],
                   marker=markers[i % len(markers)], label=f"{name} ({mask.sum()})", alpha=0.85)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


# -------------------------------------------------- chapter 06: residual connections (reused by 11)


def layer_profile(ax: Axes, values_by_model: dict[str, Sequence[float]], *, ylabel: str,
                  logy: bool = False,
                  xlabel: str = "layer (1 = nearest the input)", title: str | None = None) -> Axes:
    """One line per model of a per-layer quantity, layer 1 nearest the input."""
    if not values_by_model:
        raise ValueError("values_by_model must name at least one model, got an empty mapping")
    for i, (name, values) in enumerate(values_by_model.items()):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"values for {name!r} must be 1-D (one per layer), got shape "
                             f"{values.shape}")
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name,
                color=PALETTE[i % len(PALETTE)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def gradient_norms(ax: Axes, norms_by_model: dict[str, Sequence[float]], *,
                   title: str | None = None,
                   ylabel: str = "gradient norm ||dL/dW|| (log scale)") -> Axes:
    """Per-layer gradient norms on a log axis, one line per model (e.g. plain vs residual).

    A flat line means every layer learns at a similar rate; a line falling towards layer 1
    means the gradient vanishes on its way back to the input.
    """
    return layer_profile(ax, norms_by_model, ylabel=ylabel, logy=True, title=title)


def singular_value_spectra(ax: Axes, spectra_by_model: dict[str, Sequence[float]], *,
                           normalize: bool = True,
                           title: str | None = None) -> Axes:
    """Singular values of hidden representations, largest first, on a log axis (divided by the
    largest when ``normalize``): a spectrum that drops steeply after the first value is a
    degenerate, low-rank layer."""
    if not spectra_by_model:
        raise ValueError("spectra_by_model must name at least one model, got an empty mapping")
    for i, (name, values) in enumerate(spectra_by_model.items()):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"spectrum for {name!r} must be 1-D, got shape {values.shape}")
        if normalize and values.max() > 0:
            values = values / values.max()
        ax.plot(np.arange(1, len(values) + 1), values, label=name, color=PALETTE[i % len(PALETTE)])
    ax.set_yscale("log")
    ax.set_xlabel("index of singular value (largest first)")
    ax.set_ylabel("singular value / largest" if normalize else "singular value")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


# ---------------------------------------------------------------- chapter 07: seq2seq and attention


def alignment_heatmap(ax: Axes, weights: np.ndarray, source_tokens: Sequence[str],
                      output_tokens: Sequence[str], *,
                      title: str | None = None, colorbar: bool = False) -> Axes:
    """Attention weights a_ij as a grid: one row per output token i, one column per source word
    j."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(output_tokens), len(source_tokens)):
        raise ValueError(f"weights must have shape (outputs, sources) = ({len(output_tokens)}, "
                         f"{len(source_tokens)}), got {weights.shape}")
    heatmap(ax, weights, row_labels=output_tokens, col_labels=source_tokens, cmap="viridis",
            vmin=0.0, vmax=1.0,
            colorbar=colorbar, title=title)
    ax.set_xlabel("source word j")
    ax.set_ylabel("output token i")
    return ax


def accuracy_by_length(ax: Axes, results: dict[str, dict[int, tuple[int, float]]], *,
                       title: str | None = None) -> Axes:
    """Exact-match accuracy (%) against source length, one line per model ({length: (count,
    accuracy)})."""
    markers = "os^D"
    for i, (name, by_length) in enumerate(results.items()):
        lengths = sorted(by_length)
        ax.plot(lengths, [100 * by_length[n][1] for n in lengths], marker=markers[i % len(markers)],
                color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xlabel("source length (words)")
    ax.set_ylabel("exact-match accuracy (%)")
    ax.set_ylim(-3, 103)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def gradient_norms_through_time(ax: Axes, curves: dict[str, Sequence[float]], *,
                                title: str | None = None) -> Axes:
    """||dL/dh_t|| against time step t on a log scale, one line per named run."""
    for i, (name, norms) in enumerate(curves.items()):
        norms = np.asarray(norms, dtype=float)
        ax.plot(np.arange(1, norms.size + 1), np.maximum(norms, 1e-30),
                color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_yscale("log")
    ax.set_xlabel("time step t (loss reads the last step)")
    ax.set_ylabel("gradient norm ||dL/dh_t||")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


# -------------------------------------------------------------------------- chapter 08: Transformer


def attention_mask_grid(fig: Figure, masks: np.ndarray, weights: np.ndarray, lengths: Sequence[int],
                        *,
                        suptitle: str | None = None) -> dict:
    """Column b shows sequence b: its combined mask on top (white = may attend), its attention
    weights below (masked entries are exactly 0). Returns the artists for
    ``update_attention_mask_grid``."""
    masks, weights = np.asarray(masks, dtype=float), np.asarray(weights, dtype=float)
    if masks.ndim != 3 or masks.shape != weights.shape or masks.shape[0] != len(lengths):
        raise ValueError("masks and weights must both have shape (B, T, T) with B = len(lengths) "
                         f"= {len(lengths)}, got {masks.shape} and {weights.shape}")
    n, t = masks.shape[0], masks.shape[1]
    axes = fig.subplots(2, n, squeeze=False)
    handles = {"axes": axes, "masks": [], "weights": [],
               "suptitle": fig.suptitle(suptitle or "", fontsize=10)}
    for b in range(n):
        for row, (key, cmap) in enumerate((("masks", "gray"), ("weights", "viridis"))):
            ax = axes[row, b]
            image = ax.imshow(masks[b] if key == "masks" else weights[b], cmap=cmap, vmin=0.0,
                              vmax=1.0,
                              interpolation="nearest")
            handles[key].append(image)
            ax.grid(False)
            # a frame, so an all-white (all-allowed) mask still shows
            ax.spines[:].set_visible(True)
            ax.set_xticks(range(t))
            ax.set_yticks(range(t))
            ax.tick_params(labelsize=7)
            ax.set_xlabel("key position", fontsize=8)
            if b == 0:
                ax.set_ylabel(("mask (white = attend)" if key == "masks" else "weights")
                              + "\nquery position", fontsize=8)
    fig.colorbar(handles["weights"][-1], ax=list(axes[1]), shrink=0.8, label="attention weight")
    update_attention_mask_grid(handles, masks, weights, lengths)
    return handles


def update_attention_mask_grid(handles: dict, masks: np.ndarray, weights: np.ndarray,
                               lengths: Sequence[int],
                               suptitle: str | None = None) -> None:
    """Put new masks and weights into the images made by ``attention_mask_grid`` (a fast redraw)."""
    for b, length in enumerate(lengths):
        handles["masks"][b].set_data(np.asarray(masks[b], dtype=float))
        handles["weights"][b].set_data(np.asarray(weights[b], dtype=float))
        handles["axes"][0, b].set_title(f"sequence {b + 1}: length {length}", fontsize=9)
    if suptitle is not None:
        handles["suptitle"].set_text(suptitle)


def attention_heads(fig: Figure, maps: Sequence[np.ndarray], query_tokens: Sequence[str],
                    key_tokens: Sequence[str],
                    *, layer_label: str = "layer") -> np.ndarray:
    """One heat-map per (layer, head): ``maps[l]`` is (H, T_q, T_k); rows are layers, columns
    heads."""
    maps = [np.asarray(m, dtype=float) for m in maps]
    n_heads = maps[0].shape[0]
    axes = fig.subplots(len(maps), n_heads, squeeze=False)
    for l, layer in enumerate(maps):
        if layer.shape != (n_heads, len(query_tokens), len(key_tokens)):
            raise ValueError(f"maps[{l}] must have shape (H, T_q, T_k) = ({n_heads}, "
                             f"{len(query_tokens)}, {len(key_tokens)}), got {layer.shape}")
        for h in range(n_heads):
            ax = axes[l, h]
            ax.imshow(layer[h], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest",
                      aspect="auto")
            ax.grid(False)
            ax.set_xticks(range(len(key_tokens)),
                          labels=key_tokens if l == len(maps) - 1 else [""] * len(key_tokens),
                          rotation=90, fontsize=7)
            ax.set_yticks(range(len(query_tokens)),
                          labels=query_tokens if h == 0 else [""] * len(query_tokens),
                          fontsize=7)
            ax.set_title(f"{layer_label} {l + 1}, head {h + 1}", fontsize=8)
    return axes


# ------------------------------------------------------------------- chapter 03: Word2Vec and GloVe


def huffman_tree_plot(ax: Axes, parent: np.ndarray, bit: np.ndarray, weight: np.ndarray,
                      labels: Sequence[str]) -> Axes:
    """Draw a Huffman tree (leaves 0..V-1, inner nodes V..2V-2, root last) with its branch bits.

    Leaves sit at the bottom row in left-to-right order of a depth-first walk; each inner
    node shows its weight, each leaf its word and count.
    """
    n_nodes = len(parent)
    n_leaves = (n_nodes + 1) // 2
    children: dict[int, list[int]] = {}
    for node, up in enumerate(parent):
        if up >= 0:
            children.setdefault(int(up), []).append(node)
    depth = np.zeros(n_nodes, dtype=int)
    x = np.zeros(n_nodes)
    order: list[int] = []

    def walk(node: int, level: int) -> None:
        depth[node] = level
        kids = sorted(children.get(node, []), key=lambda c: bit[c])
        for child in kids:
            walk(child, level + 1)
        if not kids:
            order.append(node)
            x[node] = len(order) - 1
        else:
            x[node] = np.mean([x[c] for c in kids])

    walk(n_nodes - 1, 0)
    y = -depth.astype(float)
    for node, up in enumerate(parent):
        if up >= 0:
            ax.plot([x[up], x[node]], [y[up], y[node]], color="0.5", lw=1, zorder=1)
            ax.text((x[up] + x[node]) / 2, (y[up] + y[node]) / 2, str(int(bit[node])), fontsize=8,
                    color=PALETTE[1], ha="center", va="center",
                    bbox=dict(fc="white", ec="none", pad=0.5))
    inner = np.arange(n_leaves, n_nodes)
    ax.scatter(x[inner], y[inner], s=120, color=PALETTE[0], zorder=2)
    for node in inner:
        ax.text(x[node], y[node] + 0.25, f"{weight[node]:g}", fontsize=7, ha="center")
    ax.scatter(x[:n_leaves], y[:n_leaves], s=60, marker="s", color=PALETTE[2], zorder=2)
    for leaf in range(n_leaves):
        ax.text(x[leaf], y[leaf] - 0.35, f"{labels[leaf]}\n({weight[leaf]:g})", fontsize=7,
                ha="center", va="top")
    ax.set_ylim(y.min() - 1.2, 0.6)
    ax.set_axis_off()
    return ax


#: Colours and markers for a few named groups: blue, orange, dark grey and red-brown, each with its
#: own marker.
GROUP_STYLES = ((PALETTE[0], "o"), (PALETTE[1], "s"), (PALETTE[3], "^"), (PALETTE[5], "D"),
                (PALETTE[4], "v"),
                (PALETTE[8], "P"))


def label_points(ax: Axes, points: np.ndarray, labels: Sequence[str], *,
                 fontsize: float = 8) -> list:
    """Write each label beside its point, moved round the point (and further out, with a thin line)
    until it overlaps no label already written. Returns the annotations."""
    points = np.asarray(points, dtype=float)
    ax.autoscale_view()
    # let a layout engine place the axes first: positions are measured in pixels
    ax.figure.draw_without_rendering()
    renderer = ax.figure.canvas.get_renderer()
    from matplotlib.transforms import Bbox

    markers = [Bbox.from_bounds(x - 4, y - 4, 8, 8) for x, y in ax.transData.transform(points)]
    placed, annotations = [], []
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    for k, ((px, py), label) in enumerate(zip(points, labels)):
        others = placed + markers[:k] + markers[k + 1:]
        best = None  # (overlapping boxes, order tried, offset) of the least crowded place
        for order, (radius, (dx, dy)) in enumerate((r, d) for r in (4, 12, 20, 30, 42, 56)
                                                   for d in directions):
            ann = ax.annotate(label, (px, py), textcoords="offset points",
                              xytext=(radius * dx, radius * dy),
                              fontsize=fontsize, ha={1: "left", -1: "right", 0: "center"}[dx],
                              va={1: "bottom", -1: "top", 0: "center"}[dy],
                              arrowprops=dict(arrowstyle="-", color="0.6", lw=0.6) if radius > 4
                              else None)
            ann.update_positions(renderer)
            # the words only, not the line
            box = matplotlib.text.Text.get_window_extent(ann, renderer)
            clashes = sum(box.overlaps(other) for other in others)
            if best is None or clashes < best[0]:
                if best is not None:
                    best[2].remove()
                best = (clashes, box, ann)
            else:
                ann.remove()
            if clashes == 0:
                break
        placed.append(best[1])
        annotations.append(best[2])
    return annotations


def word_groups_projection(ax: Axes, points: np.ndarray, words: Sequence[str],
                           groups: Sequence[int],
                           group_names: Sequence[str], *, title: str | None = None) -> Axes:
    """2-D projection of word vectors, one colour and marker per named group, each point labelled
    without overprinting."""
    points = np.asarray(points, dtype=float)
    groups = np.asarray(groups)
    for g, name in enumerate(group_names):
        mask = groups == g
        colour, marker = GROUP_STYLES[g % len(GROUP_STYLES)]
        ax.scatter(points[mask, 0], points[mask, 1], s=30, color=colour, marker=marker, label=name)
    ax.set_xlabel("PC 1 (cosine units)")
    ax.set_ylabel("PC 2 (cosine units)")
    ax.margins(0.12)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        ax.set_title(title)
    label_points(ax, points, words)
    return ax


# ------------------------------------------------------------------- chapter 11: how networks learn


def descent_paths(ax: Axes, loss, paths: dict[str, np.ndarray], xlim: tuple[float, float],
                  ylim: tuple[float, float],
                  *, xlabel: str = "w1", ylabel: str = "w2", title: str | None = None,
                  resolution: int = 120,
                  minimum=None) -> Axes:
    """Several optimizers' paths (name -> (n, 2) iterates) over one loss contour (chapter 05's
    ``loss_contour``), each in its own colour, with the minimum marked if given."""
    loss_contour(ax, loss, xlim, ylim, xlabel=xlabel, ylabel=ylabel, title=title,
                 resolution=resolution)
    for (name, path), colour in zip(paths.items(), PALETTE[1:] + PALETTE[:1]):
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], "-", color=colour, linewidth=1.3, label=name)
        ax.plot(*path[-1], "o", color=colour, markersize=4)
    if minimum is not None:
        ax.plot(*minimum, "*", color="black", markersize=10, label="minimum")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.legend(fontsize=7, loc="best")
    return ax


def loss_family(axes: Sequence[Axes], curves: dict) -> Sequence[Axes]:
    """The loss family and their gradients side by side on four axes: square, absolute and Huber
    error against the residual d = prediction - target (left pair); cross-entropy and hinge
    against the margin y z of a two-class score (right pair). ``curves`` is
    ``losses.loss_family_curves``' output. Returns the axes."""
    d, m = curves["residuals"], curves["margins"]
    for (kind, x, label), (ax_loss, ax_grad) in zip((("regression", d, "residual d = f(x) - y"),
                                                     ("classification", m, "margin y z (y = +-1)")),
                                                    (axes[0:2], axes[2:4])):
        for (name, curve), colour in zip(curves[kind].items(), PALETTE):
            ax_loss.plot(x, curve["loss"], color=colour, label=name)
            ax_grad.plot(x, curve["grad"], color=colour, label=name)
        ax_loss.set(xlabel=label, ylabel="loss", title=f"{kind} losses")
        ax_grad.set(xlabel=label, ylabel="dL / d(prediction)", title="their gradients")
        ax_loss.legend(fontsize=7)
    axes[0].set_ylim(0, 4.5)
    return axes


# -------------------------------------------------------------------------- chapter 12: projections


class ClassProjection:
    """Projected points coloured by class, drawn once and then updated in place.

    A 2-D projection is a scatter, a 1-D one a histogram per class on shared bins (one filled
    step outline each, so classes compare bin by bin). ``update`` moves the existing artists
    instead of clearing the axes, which keeps a widget's redraw short.
    """

    def __init__(self, ax: Axes, class_names: Sequence[str], bins: int = 30):
        self.ax, self.class_names, self.bins = ax, list(class_names), bins
        self.scatters, self.steps = [], []
        for slot in range(len(self.class_names)):
            colour = PALETTE[slot % len(PALETTE)]
            self.scatters.append(ax.scatter(np.empty(0), np.empty(0), s=8, alpha=0.7, color=colour))
            self.steps.append(ax.stairs(np.zeros(bins), np.arange(bins + 1.0), fill=True, alpha=0.6,
                                        color=colour))

    def update(self, Z: np.ndarray, labels: np.ndarray, *, method: str,
               title: str | None = None) -> "ClassProjection":
        Z = np.asarray(Z, dtype=float)
        labels = np.asarray(labels)
        if Z.ndim != 2 or Z.shape[1] not in (1, 2) or len(labels) != len(Z):
            raise ValueError(f"Z must be (n, 1) or (n, 2) with one label per row, got Z {Z.shape} "
                             f"and {len(labels)} labels")
        classes = np.unique(labels)
        if len(classes) > len(self.class_names):
            raise ValueError(f"labels hold {len(classes)} classes, more than the "
                             f"{len(self.class_names)} class names")
        one_d = Z.shape[1] == 1
        edges = np.histogram_bin_edges(Z[:, 0], bins=self.bins) if one_d else None
        shown, top = [], 0.0
        for slot, (scatter, step) in enumerate(zip(self.scatters, self.steps)):
            used = slot < len(classes)
            scatter.set_visible(used and not one_d)
            step.set_visible(used and one_d)
            if not used:
                continue
            rows = labels == classes[slot]
            artist = step if one_d else scatter
            artist.set_label(self.class_names[classes[slot]])
            if one_d:
                counts, _ = np.histogram(Z[rows, 0], bins=edges)
                step.set_data(counts, edges)
                top = max(top, counts.max())
            else:
                scatter.set_offsets(Z[rows])
            shown.append(artist)
        ax = self.ax
        lo, hi = Z.min(axis=0), Z.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-12)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim((0.0, 1.08 * max(top, 1.0)) if one_d else (lo[1] - pad[1], hi[1] + pad[1]))
        ax.set_xlabel(f"{method} component 1")
        ax.set_ylabel("count" if one_d else f"{method} component 2")
        ax.legend(handles=shown, loc="upper right", fontsize=8)
        if title:
            ax.set_title(title)
        return self


def class_projection(ax: Axes, Z: np.ndarray, labels: np.ndarray, class_names: Sequence[str], *,
                     method: str,
                     title: str | None = None) -> Axes:
    """Projected points coloured by class: histograms (shared bins) for a 1-D projection, a scatter
    for 2-D."""
    ClassProjection(ax, class_names).update(Z, labels, method=method, title=title)
    return ax


# --------------------------------------------------------------------------- chapter 09c: GPT


def token_label(token: str) -> str:
    """A token shown with quotes and escapes, so leading spaces and newlines stay visible."""
    return repr(token)


def next_token_bars(ax: Axes, pairs: Sequence[tuple[str, float]], *, slots: int | None = None,
                    xlabel: str = "P(next token | prompt)", title: str | None = None,
                    color: str | None = None):
    """Horizontal bars of (token, probability) pairs, the most likely on top, on a fixed 0..1 scale.

    Returns the bars, so that a widget can update their widths in place; ``slots`` bars are made
    (default: one per pair) and the unused ones stay at zero.
    """
    slots = len(pairs) if slots is None else slots
    values = [p for _t, p in pairs][:slots] + [0.0] * max(0, slots - len(pairs))
    labels = [token_label(t) for t, _p in pairs][:slots] + [""] * max(0, slots - len(pairs))
    bars = ax.barh(range(slots), values, color=color or PALETTE[0])
    ax.set_yticks(range(slots), labels=labels)
    ax.set_ylim(slots - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1])
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=9)
    return bars


def causal_mask_picture(ax: Axes, tokens: Sequence[str], *, title: str | None = None) -> Axes:
    """The causal (sequence) mask over a token sequence: row = the position predicting, column =
    what it may see."""
    n = len(tokens)
    labels = [token_label(t) for t in tokens]
    heatmap(ax, np.tril(np.ones((n, n))), labels, labels, cmap="Blues", vmin=0, vmax=1.4,
            colorbar=False,
            title=title)
    ax.set_xlabel("key position (may be seen)")
    ax.set_ylabel("query position (predicting the next token)")
    return ax


def accuracy_by_examples(ax: Axes, accuracy: dict[str, dict[int, float]], *,
                         title: str | None = None) -> Axes:
    """In-context learning: accuracy on unseen items against the number of examples in the prompt,
    per task."""
    styles = ["-", "--", ":", "-."]
    for i, (task, by_k) in enumerate(accuracy.items()):
        ks = sorted(by_k)
        ax.plot(ks, [by_k[k] for k in ks], marker="o", linestyle=styles[i % len(styles)],
                label=task)
        ax.set_xticks(ks)
    ax.set_xlabel("examples in the prompt (shots)")
    ax.set_ylabel("accuracy on unseen items")
    ax.set_ylim(-0.03, 1.03)
    # beside the axes: the lines cross the middle
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- chapter 09b: BERT


def bert_input_embeddings(ax: Axes, tokens: Sequence[str], segments: Sequence[int]) -> Axes:
    """BERT's input picture (the paper's Figure 2) for one sequence: per position a column of
    token, segment and position embedding boxes that are added to give the input vector (an Axes
    about 0.75 inch wide per token reads well)."""
    n = len(tokens)
    if n != len(segments):
        raise ValueError(f"tokens and segments must have the same length, got {n} and "
                         f"{len(segments)}")
    rows = [("input", lambda i: tokens[i], "white"),
            ("token", lambda i: f"E[{tokens[i]}]", PALETTE[0]),
            ("segment", lambda i: "E_A" if segments[i] == 0 else "E_B", PALETTE[1]),
            ("position", lambda i: f"E_{i}", PALETTE[2])]
    for r, (name, label, colour) in enumerate(rows):
        y = len(rows) - 1 - r
        ax.text(-0.7, y, name, ha="right", va="center", fontsize=9)
        for i in range(n):
            ax.add_patch(matplotlib.patches.FancyBboxPatch((i - 0.42, y - 0.3), 0.84, 0.6,
                                                           boxstyle="round,pad=0.02",
                                                           facecolor=colour,
                                                           alpha=0.35 if r else 1.0,
                                                           edgecolor="grey"))
            ax.text(i, y, label(i), ha="center", va="center", fontsize=7 if r else 8, rotation=0)
            if r > 1:
                ax.text(i, y + 0.5, "+", ha="center", va="center", fontsize=9)
    ax.set_xlim(-2.2, n - 0.4)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.axis("off")
    ax.set_title("input = token + segment + position embedding", fontsize=9)
    return ax


def masked_sequence(ax: Axes, original: Sequence[str], inputs: Sequence[str],
                    kinds: Sequence[int]) -> Axes:
    """One masked sequence: what the model reads (top) over the original (bottom), chosen positions
    coloured by what they became (kind 1 [MASK], 2 random word, 3 kept; 0 not chosen); 16
    positions per pair of rows (an Axes 12 inches wide, 1.5 inch per pair of rows)."""
    n = len(original)
    colours = {0: "white", 1: PALETTE[0], 2: PALETTE[1], 3: PALETTE[2]}
    names = {1: "[MASK] (80 %)", 2: "random word (10 %)", 3: "kept (10 %)"}
    per_row = 16
    lines = (n + per_row - 1) // per_row
    for i in range(n):
        line, col = divmod(i, per_row)
        y = -1.6 * line
        for dy, word in ((0.35, inputs[i]), (-0.35, original[i])):
            ax.add_patch(matplotlib.patches.Rectangle((col - 0.46, y + dy - 0.3), 0.92, 0.6,
                                                      facecolor=colours[int(kinds[i])],
                                                      alpha=0.6 if kinds[i] else 1,
                                                      edgecolor="grey"))
            ax.text(col, y + dy, word, ha="center", va="center", fontsize=7)
    for kind, name in names.items():
        ax.add_patch(matplotlib.patches.Rectangle((0, 0), 0, 0, facecolor=colours[kind], alpha=0.6,
                                                  label=name))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(-0.6, per_row - 0.4)
    ax.set_ylim(-1.6 * (lines - 1) - 0.8, 1.3)
    ax.axis("off")
    ax.set_title("masked input (top of each pair of rows) over the original text (bottom)",
                 fontsize=10)
    return ax


# --------------------------------------------------------------------------- chapter 09a: ELMo


def bilm_diagram(ax: Axes,
                 words: Sequence[str] = ("</s>", "the", "west", "bank", "town", "</s>")) -> Axes:
    """ELMo's biLM as boxes: token vectors x_k, two forward LSTM layers (left to right) and two
    backward ones (right to left), and the three layer vectors of one word combined by the task
    weights (an Axes about 9 x 4.2 inches reads well)."""
    n = len(words)
    rows = {"x": 0.0, "f1": 1.2, "f2": 2.2, "b1": 3.4, "b2": 4.4}
    names = {"x": "token x (layer 0)", "f1": "forward LSTM 1", "f2": "forward LSTM 2",
             "b1": "backward LSTM 1", "b2": "backward LSTM 2"}
    colours = {"x": PALETTE[2], "f1": PALETTE[0], "f2": PALETTE[0], "b1": PALETTE[1],
               "b2": PALETTE[1]}
    for key, y in rows.items():
        ax.text(-0.9, y, names[key], ha="right", va="center", fontsize=8)
        for k in range(n):
            ax.add_patch(matplotlib.patches.FancyBboxPatch((k - 0.32, y - 0.25), 0.64, 0.5,
                                                           boxstyle="round,pad=0.02",
                                                           facecolor=colours[key], alpha=0.35,
                                                           edgecolor="grey"))
        for k in range(n - 1):
            if key.startswith("f"):
                ax.annotate("", (k + 0.65, y), (k + 0.35, y),
                            arrowprops=dict(arrowstyle="->", color=PALETTE[0]))
            elif key.startswith("b"):
                ax.annotate("", (k + 0.35, y), (k + 0.65, y),
                            arrowprops=dict(arrowstyle="->", color=PALETTE[1]))
    for k, word in enumerate(words):
        ax.text(k, -0.75, word, ha="center", va="center", fontsize=9)
        for a, b in (("x", "f1"), ("f1", "f2"), ("b1", "b2")):
            ax.annotate("", (k, rows[b] - 0.27), (k, rows[a] + 0.27),
                        arrowprops=dict(arrowstyle="->", color="grey", lw=0.6))
    focus = min(3, n - 1)
    ax.add_patch(matplotlib.patches.Rectangle((focus - 0.45, -0.4), 0.9, 5.15, fill=False,
                                              edgecolor="black", lw=1.2))
    ax.text(focus, 5.05,
            "v1 = [x; x], v2 = [f1; b1], v3 = [f2; b2]\nELMo = gamma (s1 v1 + s2 v2 + s3 v3)",
            ha="center", va="bottom", fontsize=8)
    ax.text(n - 0.2, 1.7, "predicts the\nnext word", fontsize=8, color=PALETTE[0], va="center")
    ax.text(n - 0.2, 3.9, "predicts the\nprevious word", fontsize=8, color=PALETTE[1], va="center")
    ax.set_xlim(-3.2, n + 1.0)
    ax.set_ylim(-1.1, 6.0)
    ax.axis("off")
    ax.set_title("biLM: the backward layers read the same x from right to left (they feed their "
                 "own layer 2)", fontsize=9)
    return ax


# ----------------------------------------------------------- architecture diagrams (chapters 02-09)


def _box_colour(colour, name: str):
    if colour is None:
        return PALETTE[0]
    if isinstance(colour, (int, np.integer)) and not isinstance(colour, bool):
        return PALETTE[int(colour) % len(PALETTE)]
    if isinstance(colour, str) and matplotlib.colors.is_color_like(colour):
        return colour
    raise ValueError(f"boxes[{name!r}] colour must be a palette index or a colour name, got "
                     f"{colour!r}")


def _arrow_ends(kind: str, arrows, boxes) -> list[tuple[str, str, str]]:
    ends = []
    for i, arrow in enumerate(arrows):
        if not isinstance(arrow, (tuple, list)) or len(arrow) not in (2, 3):
            raise ValueError(f"{kind}[{i}] must be (from, to) or (from, to, text), got {arrow!r}")
        for end in arrow[:2]:
            if end not in boxes:
                raise ValueError(f"{kind}[{i}] names an unknown box {end!r}; boxes are "
                                 f"{sorted(boxes)}")
        ends.append((arrow[0], arrow[1], str(arrow[2]) if len(arrow) == 3 else ""))
    return ends


def block_diagram(ax: Axes, boxes: dict, arrows: Sequence = (), *, skips: Sequence = (),
                  groups: Sequence = (),
                  width: float = 1.6, height: float = 0.5, fontsize: float = 9,
                  title: str | None = None) -> Axes:
    """Draw an architecture as labelled boxes joined by arrows, with a tensor shape written on each
    arrow.

    boxes:  name -> (x, y, label) or (x, y, label, options); options may set "width", "height"
            and "colour" (a palette index or a colour name). x, y is the box centre in data units.
    arrows: (from, to) or (from, to, text) pairs of box names, drawn solid.
    skips:  the same, drawn dashed and curved (skip or residual connections).
    groups: (box names, label) pairs, each drawn as a dashed frame around its boxes, e.g. "x N
    layers".
    """
    if not isinstance(boxes, dict) or not boxes:
        raise ValueError(f"boxes must be a non-empty dict name -> (x, y, label), got {boxes!r}")
    width = float(width)
    height = float(height)
    if not (width > 0 and height > 0):
        raise ValueError(f"width and height must be positive, got {width} and {height}")
    solid, dashed = _arrow_ends("arrows", arrows, boxes), _arrow_ends("skips", skips, boxes)
    _check_groups(groups, boxes)
    patches, box_extents = {}, {}  # extent: (x0, y0, x1, y1) in data units
    for name, spec in boxes.items():
        patches[name], box_extents[name] = _draw_box(ax, name, spec, width, height, fontsize)
    centre = {name: (float(boxes[name][0]), float(boxes[name][1])) for name in boxes}
    for start, end, text in solid:
        _draw_arrow(ax, start, end, text, centre, patches, fontsize)
    extents = list(box_extents.values())
    for start, end, text in dashed:
        extents.append(_draw_skip(ax, start, end, text, centre, box_extents, fontsize))
    for i, (names, label) in enumerate(groups):
        extents.append(_draw_group(ax, i, [box_extents[n] for n in names], label, fontsize))
    lo_x, lo_y = min(e[0] for e in extents), min(e[1] for e in extents)
    hi_x, hi_y = max(e[2] for e in extents), max(e[3] for e in extents)
    margin = 0.3
    ax.set_xlim(lo_x - margin, hi_x + margin)
    ax.set_ylim(lo_y - margin, hi_y + margin)
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    return ax


def _check_groups(groups: Sequence, boxes: dict) -> None:
    for i, group in enumerate(groups):
        if (not isinstance(group, (tuple, list)) or len(group) != 2 or isinstance(group[0], str)
            or not group[0]):
            raise ValueError(f"groups[{i}] must be (box names, label), got {group!r}")
        missing = [n for n in group[0] if n not in boxes]
        if missing:
            raise ValueError(f"groups[{i}] names unknown boxes {missing}; boxes are "
                             f"{sorted(boxes)}")


def _draw_box(ax: Axes, name: str, spec, width: float, height: float, fontsize: float):
    """One labelled box of ``block_diagram``; returns its patch and extent (x0, y0, x1, y1)."""
    if not isinstance(spec, (tuple, list)) or len(spec) not in (3, 4):
        raise ValueError(f"boxes[{name!r}] must be (x, y, label) or (x, y, label, options), "
                         f"got {spec!r}")
    x, y, label = spec[:3]
    options = dict(spec[3]) if len(spec) == 4 else {}
    unknown = set(options) - {"width", "height", "colour"}
    if unknown:
        raise ValueError(f"boxes[{name!r}] has unknown options {sorted(unknown)}; use width, "
                         "height, colour")
    if not all(isinstance(v, (int, float, np.number)) and np.isfinite(v) for v in (x, y)):
        raise ValueError(f"boxes[{name!r}] position must be two finite numbers, got {(x, y)!r}")
    w, h = float(options.get("width", width)), float(options.get("height", height))
    if not (w > 0 and h > 0):
        raise ValueError(f"boxes[{name!r}] width and height must be positive, got {w} and {h}")
    colour = _box_colour(options.get("colour"), name)
    patch = matplotlib.patches.FancyBboxPatch(
        (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=colour,
        alpha=0.3, edgecolor=colour, linewidth=1.5, gid=f"box:{name}")
    ax.add_patch(patch)
    ax.text(x, y, str(label), ha="center", va="center", fontsize=fontsize, gid=f"label:{name}")
    return patch, (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def _draw_arrow(ax: Axes, start: str, end: str, text: str, centre: dict, patches: dict,
                fontsize: float) -> None:
    """A solid arrow between two boxes, with ``text`` (a shape) beside its middle."""
    ax.annotate("", xy=centre[end], xytext=centre[start], gid=f"arrow:{start}->{end}",
                arrowprops=dict(arrowstyle="-|>", color="0.25", linewidth=1.2,
                                patchA=patches[start],
                                patchB=patches[end], shrinkA=2, shrinkB=2))
    if text:  # the shape beside the arrow's middle, on its upper (or right-hand) side
        (x0, y0), (x1, y1) = centre[start], centre[end]
        length = max(np.hypot(x1 - x0, y1 - y0), 1e-12)
        nx, ny = (y1 - y0) / length, (x0 - x1) / length  # a unit normal to the arrow
        if ny < -1e-9 or (abs(ny) <= 1e-9 and nx < 0):
            nx, ny = -nx, -ny
        ha = "left" if nx > 0.3 else "right" if nx < -0.3 else "center"
        va = "bottom" if ny > 0.3 else "center"
        ax.text((x0 + x1) / 2 + 0.08 * nx, (y0 + y1) / 2 + 0.06 * ny, text, ha=ha, va=va,
                fontsize=fontsize - 1, family="monospace")


def _draw_skip(ax: Axes, start: str, end: str, text: str, centre: dict, extents: dict,
               fontsize: float) -> tuple:
    """A dashed, curved skip connection; returns the extent it covers."""
    (x0, y0), (x1, y1) = centre[start], centre[end]
    (a0, b0, a1, b1), (c0, d0, c1, d1) = extents[start], extents[end]
    if abs(y1 - y0) >= abs(x1 - x0):  # round the right-hand side of a vertical stack
        tail, head, angle, offset = (a1, y0), (c1, y1), 0, dict(xytext=(30, 0), ha="left",
                                                                va="center")
    else:  # over the top of a row
        tail, head, angle, offset = (x0, b1), (x1, d1), 90, dict(xytext=(0, 30), ha="center",
                                                                 va="bottom")
    ax.annotate("", xy=head, xytext=tail, gid=f"skip:{start}->{end}",
                arrowprops=dict(arrowstyle="-|>", color="0.25", linewidth=1.2, linestyle="--",
                                shrinkA=0, shrinkB=0,
                                connectionstyle=(f"arc,angleA={angle},angleB={angle},"
                                                 "armA=25,armB=25,rad=6")))
    if text:
        ax.annotate(text, xy=((tail[0] + head[0]) / 2, (tail[1] + head[1]) / 2),
                    textcoords="offset points",
                    fontsize=fontsize - 1, family="monospace", **offset)
    return (min(tail[0], head[0]), min(tail[1], head[1]), max(tail[0], head[0]) + 0.6,
            max(tail[1], head[1]) + 0.6)


def _draw_group(ax: Axes, i: int, inside: list, label: str, fontsize: float) -> tuple:
    """A dashed frame round the extents ``inside``, labelled; returns the extent it covers."""
    pad = 0.15
    x0, y0 = min(e[0] for e in inside) - pad, min(e[1] for e in inside) - pad
    x1, y1 = max(e[2] for e in inside) + pad, max(e[3] for e in inside) + pad
    ax.add_patch(matplotlib.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                              linestyle="--",
                                              edgecolor="0.4", linewidth=1.0, gid=f"group:{i}"))
    ax.text(x1 + 0.08, y1, str(label), ha="left", va="top", fontsize=fontsize, style="italic")
    return (x0, y0, x1 + 0.2 + 0.09 * fontsize / 9 * len(str(label)), y1)


# ------------------------------------------------------------------ chapter 10: Gaussian classifier


class GaussianPanel:
    """Chapter 10's two-Gaussian classifier picture, drawn once and then updated in place.

    Training points filled and test points hollow (``points``, C1 first), each class's fitted
    Gaussian as a 2-sigma ellipse (``ellipses``, C1 first) and the P(C1|x) = 0.5 boundary, with
    P(C1|x) shaded behind it when ``shade`` (``contours``, made anew by every ``update``: a
    contour set cannot be moved). ``gaussian_classifier_panel`` draws one; the widget
    ``gaussian_boundary`` keeps one and updates it.
    """

    def __init__(self, ax: Axes, class_names: Sequence[str], *, test: bool = True,
                 shade: bool = True):
        empty, none = np.empty((0, 2)), np.empty(0, dtype=int)
        self.ax, self.test, self.shade = ax, test, shade
        self.points = two_class_scatter(ax, empty, none, class_names,
                                        X_test=empty if test else None,
                                        y_test=none if test else None)
        self.ellipses = [covariance_ellipse(ax, (0.0, 0.0), np.eye(2), edgecolor=colour)
                         for colour in (PALETTE[0], PALETTE[1])]
        self.contours: list = []

    def update(self, X, y, means, covariances, grid: tuple[np.ndarray, np.ndarray], probability, *,
               X_test=None, y_test=None, xlabel: str = "", ylabel: str = "",
               title: str | None = None) -> "GaussianPanel":
        """Move the points and ellipses, redraw the boundary on ``grid`` (xx, yy) from
        ``probability`` (P(C1|x) at the grid's points) and set the limits, labels and title."""
        ax, (xx, yy) = self.ax, grid
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        per_class = 2 if self.test else 1
        for i, label in enumerate((1, 0)):
            self.points[i * per_class].set_offsets(X[y == label])
            if self.test:
                Xt, yt = np.asarray(X_test, dtype=float), np.asarray(y_test)
                self.points[i * per_class + 1].set_offsets(Xt[yt == label])
            centre, width, height, angle = ellipse_geometry(means[label], covariances[label])
            ellipse = self.ellipses[i]
            ellipse.set_center(centre)
            ellipse.set_width(width)
            ellipse.set_height(height)
            ellipse.set_angle(angle)
        for old in self.contours:
            old.remove()
        self.contours = decision_boundary(ax, xx, yy, probability, shade=self.shade)
        if self.shade:
            self.contours[0].set_zorder(0.5)  # under the points, as when drawn before them
        ax.set_xlim(xx.min(), xx.max())
        ax.set_ylim(yy.min(), yy.max())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, fontsize=9)
        return self
