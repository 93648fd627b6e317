"""How gradient descent moves: feature scale and the loss surface's shape (chapter 05), the
learning rate on a fixed surface (chapter 11), and gradient norms layer by layer in plain and
residual networks of growing depth (chapter 06)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import ipywidgets as widgets
import numpy as np

from nlpcourse import plots
from nlpcourse.widgets._core import Explorer, FigureView

if TYPE_CHECKING:  # normalization imports torch: loaded when a widget is built
    from nlpcourse import normalization as norm

__all__ = ["ScaleDescent", "feature_scale_descent", "LearningRateRun", "learning_rate_descent",
           "DepthNorms", "gradient_norm_depth"]


# --------------------------------------------------------------------------- chapter 05


@dataclass(frozen=True)
class ScaleDescent:
    """Gradient descent on raw and z-scored features, both keyed "raw" and "z-score".

    scale: the factor multiplying the second feature.
    problems: the least-squares problem (``normalization.LeastSquares``) of each feature set.
    paths: the gradient-descent iterates drawn, (steps + 1, 2) each.
    steps: steps to reach a loss within 1e-6 of the minimum.
    """

    scale: float
    problems: dict[str, norm.LeastSquares]
    paths: dict[str, np.ndarray]
    steps: dict[str, int]


def feature_scale_descent(scale: float = 10.0, lr_fraction: float = 1.6, *, steps: int = 40,
                          start: tuple[float, float] = (0.0, 1.0), n: int = 200,
                          seed: int = 0) -> Explorer:
    """A feature-scale slider over two loss-contour panels: raw features (left), z-scored
    (right). The second feature of a two-feature regression is multiplied by ``scale``;
    gradient descent (learning rate ``lr_fraction`` / largest curvature) starts at ``start``
    in both (``.result``: ScaleDescent)."""
    from nlpcourse import normalization as norm

    def compute(scale: float, lr_fraction: float) -> ScaleDescent:
        X, y = norm.scaled_features(scale, n=n, seed=seed)
        problems = {"raw": norm.LeastSquares.fit(X, y),
                    "z-score": norm.LeastSquares.fit(norm.z_score(X).transform(X), y)}
        lrs = {name: problem.safe_lr(lr_fraction) for name, problem in problems.items()}
        return ScaleDescent(
            scale, problems,
            {name: norm.gradient_descent_path(p.grad, start, lrs[name], steps)
             for name, p in problems.items()},
            {name: norm.steps_to_converge(p, start, lrs[name]) for name, p in problems.items()})

    controls = {
        "scale": widgets.FloatLogSlider(value=scale, base=10, min=0, max=2, step=0.05,
                                        description="x2 scale", readout_format=".1f",
                                        style={"description_width": "initial"}),
        "lr_fraction": widgets.FloatSlider(value=lr_fraction, min=0.2, max=1.9, step=0.1,
                                           description="lr x curvature", readout_format=".1f",
                                           style={"description_width": "initial"}),
    }
    figure = plots.new_figure(9.0, 3.8, left=0.08, right=0.98, bottom=0.14, top=0.84,
                              wspace=0.28)
    return Explorer(controls, compute, _draw_scale_descent, figure,
                    rows=[list(controls.values())])


def _draw_scale_descent(view: FigureView, result: ScaleDescent) -> None:
    """Both panels' contours and paths drawn anew (a contour set cannot be updated in place)."""
    fig = view.figure
    if not fig.axes:
        fig.subplots(1, 2)
    for ax, (name, problem) in zip(fig.axes, result.problems.items()):
        for artist in list(ax.collections) + list(ax.lines):  # not ax.clear(): that rebuilds
            artist.remove()  # every tick
        plots.loss_contour(ax, problem.loss, (-0.5, 4.0), (-3.0, 1.5), path=result.paths[name],
                           resolution=90, xlabel="w1 (weight of x1)", ylabel="w2 (weight of x2)",
                           title=f"{name}: {result.steps[name]} steps to converge")
    fig.axes[0].legend(loc="lower right", fontsize=7)
    raw, z = (result.problems[name].condition_number for name in ("raw", "z-score"))
    fig.suptitle(f"x2 scale {result.scale:.1f}, condition number {raw:.0f} (raw) vs {z:.2f}",
                 fontsize=9)


# --------------------------------------------------------------------------- chapter 11


@dataclass(frozen=True)
class LearningRateRun:
    """Gradient descent at one learning rate.

    lr: the learning rate.
    steps: the number of steps asked for.
    path: the iterates (at most steps + 1 points; fewer once they stop being finite).
    final_loss: the loss at the last iterate, or None when the run diverged.
    minimum_loss: the loss at the problem's minimum.
    """

    lr: float
    steps: int
    path: np.ndarray
    final_loss: float | None
    minimum_loss: float


def learning_rate_descent(problem, lr: float, *, start: Sequence[float], steps: int = 30,
                          xlim: tuple[float, float], ylim: tuple[float, float],
                          lr_range: tuple[float, float] = (1e-3, 10.0), xlabel: str = "w1",
                          ylabel: str = "w2") -> Explorer:
    """A learning-rate slider over chapter 05's loss contour: gradient descent from ``start``
    redraws its path at every learning rate (``.result``: LearningRateRun). ``problem`` has
    ``loss(W1, W2)``, ``grad(w)`` and ``minimum`` (e.g. ``normalization.LeastSquares``)."""
    from nlpcourse import normalization as norm

    minimum = float(problem.loss(*problem.minimum))

    def compute(lr: float) -> LearningRateRun:
        path = norm.gradient_descent_path(problem.grad, start, lr, steps)
        final = float(problem.loss(*path[-1]))
        diverged = len(path) <= steps or final > 1e6 * (abs(minimum) + 1.0)
        return LearningRateRun(lr, steps, path, None if diverged else final, minimum)

    low, high = np.log10(lr_range[0]), np.log10(lr_range[1])
    slider = widgets.FloatLogSlider(value=lr, base=10, min=low, max=high, step=(high - low) / 100,
                                    description="learning rate", readout_format=".3g",
                                    style={"description_width": "initial"},
                                    layout=widgets.Layout(width="480px"))
    figure = plots.new_figure(6.0, 4.2, left=0.12, right=0.97, bottom=0.12, top=0.92)
    return Explorer({"lr": slider}, compute,
                    lambda view, r: _draw_run(view, r, problem, (xlim, ylim), (xlabel, ylabel)),
                    figure, rows=[slider])


def _draw_run(view: FigureView, result: LearningRateRun, problem, limits: tuple, labels: tuple
              ) -> None:
    """The contour and path (found by their labels afterwards, to move the path and its end)."""
    (xlim, ylim), (xlabel, ylabel) = limits, labels
    low, high = [xlim[0] - 1, ylim[0] - 1], [xlim[1] + 1, ylim[1] + 1]
    shown = np.clip(result.path, low, high)  # keep Agg's numbers small
    if not view.artists:
        ax = view.figure.subplots()
        plots.loss_contour(ax, problem.loss, xlim, ylim, path=shown, xlabel=xlabel,
                           ylabel=ylabel, title=" ")
        ax.plot(*problem.minimum, "+", color="black", markersize=12, label="minimum")
        ax.legend(loc="lower right", fontsize=7)
        view.artists.update({line.get_label(): line for line in ax.lines})
    view.artists["GD path"].set_data(shown[:, 0], shown[:, 1])
    view.artists["end"].set_data([shown[-1, 0]], [shown[-1, 1]])
    status = ("diverged" if result.final_loss is None
              else f"loss {result.final_loss:.4f} (minimum {result.minimum_loss:.4f})")
    view.figure.axes[0].set_title(f"lr = {result.lr:.3g}: after {result.steps} steps, {status}",
                                  fontsize=9)


# --------------------------------------------------------------------------- chapter 06


@dataclass(frozen=True)
class DepthNorms:
    """Per-layer gradient norms at one depth, looked up (nothing is trained on a slider move).

    depth: the number of layers.
    norms: each model's gradient norm per layer, first layer first.
    ratios: each model's first-layer over last-layer gradient norm (nan if the last is 0).
    """

    depth: int
    norms: dict[str, np.ndarray]
    ratios: dict[str, float]


def gradient_norm_depth(norms_by_depth: dict[int, dict[str, Sequence[float]]],
                        depth: int | None = None) -> Explorer:
    """A depth slider over precomputed per-layer gradient norms, one line per model (plain vs
    residual); ``norms_by_depth`` is ``{depth: {model name: norms}}`` as returned by
    ``residual.gradient_norms_by_depth`` (``.result``: DepthNorms)."""
    from nlpcourse import residual

    depths = _check_norms_by_depth(norms_by_depth, depth)

    def compute(depth: int) -> DepthNorms:
        norms = {name: np.asarray(values, dtype=float)
                 for name, values in norms_by_depth[depth].items()}
        ratios = {name: residual.gradient_ratio(values) if values[-1] > 0 else float("nan")
                  for name, values in norms.items()}
        return DepthNorms(depth, norms, ratios)

    slider = widgets.SelectionSlider(options=depths, value=depths[-1] if depth is None else depth,
                                     description="depth")
    ylim = _log_limits(norms_by_depth)
    return Explorer({"depth": slider}, compute, lambda view, r: _draw_depth(view, r, ylim),
                    plots.new_figure(7.0, 3.6, left=0.12, bottom=0.14, top=0.9), rows=[slider])


def _check_norms_by_depth(norms_by_depth: dict, depth: int | None) -> list[int]:
    """The sorted depths; ValueError unless every depth holds the same models."""
    if not norms_by_depth:
        raise ValueError("norms_by_depth must hold at least one depth, got an empty mapping")
    depths = sorted(norms_by_depth)
    names = list(norms_by_depth[depths[0]])
    if any(list(norms_by_depth[d]) != names for d in depths):
        raise ValueError(f"every depth must hold the same models {names}")
    if depth is not None and depth not in norms_by_depth:
        raise ValueError(f"depth must be one of {depths}, got {depth!r}")
    return depths


def _log_limits(norms_by_depth: dict) -> tuple[float, float]:
    """A fixed log-axis range covering every positive norm at every depth, with a margin."""
    positive = np.concatenate([np.asarray(v, dtype=float) for table in norms_by_depth.values()
                               for v in table.values()])
    positive = positive[positive > 0]
    return (positive.min() / 3, positive.max() * 3) if len(positive) else (1e-3, 1.0)


def _draw_depth(view: FigureView, result: DepthNorms, ylim: tuple[float, float]) -> None:
    """One line per model, made on the first call and moved afterwards."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if not view.artists:
        ax = plots.gradient_norms(view.figure.add_subplot(), result.norms)
        ax.set_ylim(*ylim)
        # fixed decade ticks in plain text: log-axis mathtext labels are re-parsed on every redraw
        decades = np.arange(np.floor(np.log10(ylim[0])), np.ceil(np.log10(ylim[1])) + 1)
        step = max(1, int(np.ceil(len(decades) / 8)))
        ax.yaxis.set_major_locator(FixedLocator(10.0 ** decades[::step]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0e}"))
        ax.yaxis.set_minor_locator(NullLocator())
        view.artists["lines"] = list(ax.lines)
    for line, values in zip(view.artists["lines"], result.norms.values()):
        line.set_data(np.arange(1, len(values) + 1), values)
    ax = view.figure.axes[0]
    ax.set_xlim(0.5, result.depth + 0.5)
    ratios = ", ".join(f"{name} {ratio:.2g}" for name, ratio in result.ratios.items())
    ax.set_title(f"{result.depth} layers at initialisation; first/last layer gradient: {ratios}",
                 fontsize=9)
