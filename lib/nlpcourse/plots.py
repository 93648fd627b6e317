"""Shared figures. Plots draw what the models return; models never import this module.

Every function draws on a matplotlib ``Axes`` it is given (or makes one) and returns it, so
the same drawing serves a static figure and a widget's redraw.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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
        }
    )


def new_figure(width: float = 6.4, height: float = 3.6, dpi: int = 80, *, left: float = 0.12,
               right: float = 0.97, bottom: float = 0.14, top: float = 0.9, **subplot_space) -> Figure:
    """A figure not registered with pyplot (it never shows by itself), for widgets.

    Margins are fixed rather than computed by a layout engine: constrained layout measures
    every text on every redraw and would double a widget's redraw time.
    """
    with plt.style.context(STYLE):
        fig = Figure(figsize=(width, height), dpi=dpi)
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
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.grid(False)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=45, ha="right")
    if annotate:
        fmt = annotate if isinstance(annotate, str) else "{:.2f}"
        lo, hi = np.nanmin(matrix), np.nanmax(matrix)
        middle = (lo + hi) / 2
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="black" if value > middle else "white")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return ax


def barh_terms(ax: Axes, terms: Sequence[tuple[str, float]], *, xlabel: str, title: str | None = None,
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


def projection_2d(ax: Axes, points: np.ndarray, labels: Sequence[str] | None = None,
                  groups: Sequence[int] | None = None, *, title: str | None = None,
                  xlabel: str = "component 1", ylabel: str = "component 2") -> Axes:
    """Scatter 2-D points, coloured by group, each optionally labelled with its text."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    colours = [PALETTE[g % len(PALETTE)] for g in groups] if groups is not None else PALETTE[0]
    ax.scatter(points[:, 0], points[:, 1], c=colours, s=25)
    if labels is not None:
        for (x, y), label in zip(points, labels):
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
