"""A generative classifier's decision boundary: two Gaussians fitted to two classes, with
separate or shared covariance and a chosen prior (chapter 10). The picture is
``plots.GaussianPanel``, the one ``plots.gaussian_classifier_panel`` draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import numpy as np

from nlpcourse import generative, plots
from nlpcourse.widgets._core import Explorer, FigureView

__all__ = ["GaussianFit", "gaussian_fit", "gaussian_boundary"]


@dataclass(frozen=True)
class GaussianFit:
    """Two Gaussians fitted on two chosen features and the boundary they draw.

    features: the column indices (x, y) of the two features.
    covariance: "separate" (quadratic boundary) or "shared" (linear boundary).
    model: the fitted ``generative.GaussianModel``.
    accuracy: {"train": ..., "test": ...}, the share of points classified right.
    train: (points on the two features, labels) of the training set.
    test: the same for the test set.
    grid: (xx, yy), the drawing grid over the training and test points.
    probability: P(C1|x) on the grid, shape of xx (so a test can see the boundary move).
    heading: the figure's title (covariance, boundary shape, accuracies).
    """

    features: tuple[int, int]
    covariance: str
    model: generative.GaussianModel
    accuracy: dict[str, float]
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    grid: tuple[np.ndarray, np.ndarray]
    probability: np.ndarray
    heading: str


def gaussian_fit(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                 features: tuple[int, int], covariance: str, prior: float,
                 steps: int = 120) -> GaussianFit:
    """Fit two Gaussians on the training set's columns ``features`` with prior P(C1) = prior;
    score them on both sets and evaluate P(C1|x) on a ``steps`` x ``steps`` grid."""
    cols = list(features)
    (Xtr, ytr), (Xte, yte) = ((X[:, cols], y) for X, y in (train, test))
    model = generative.fit_generative(Xtr, ytr, shared=covariance == "shared",
                                      priors=[1.0 - prior, prior])
    accuracy = {"train": generative.accuracy(model, Xtr, ytr),
                "test": generative.accuracy(model, Xte, yte)}
    xx, yy, points = plots.boundary_grid(np.vstack([Xtr, Xte]), steps=steps)
    probability = generative.posterior(model, points)[:, 1].reshape(xx.shape)
    shape = "linear" if covariance == "shared" else "quadratic"
    heading = (f"{covariance} covariance ({shape} boundary): train {accuracy['train']:.1%}, "
               f"test {accuracy['test']:.1%}")
    return GaussianFit(tuple(features), covariance, model, accuracy, (Xtr, ytr), (Xte, yte),
                       (xx, yy), probability, heading)


def gaussian_boundary(X_train, y_train, X_test, y_test, feature_names: Sequence[str],
                      class_names: Sequence[str] = ("class 0", "class 1"), *,
                      features: tuple[int, int] = (0, 1), steps: int = 120) -> Explorer:
    """Pick two features, separate or shared covariance, and the prior P(C1): the widget refits
    on the training set and redraws ellipses and boundary (``.result``: GaussianFit)."""
    train = np.asarray(X_train, dtype=float), np.asarray(y_train)
    test = np.asarray(X_test, dtype=float), np.asarray(y_test)
    if (train[0].ndim != 2 or train[0].shape[1] != len(feature_names)
            or test[0].shape[1:] != train[0].shape[1:]):
        raise ValueError(f"X_train and X_test must have one column per feature name "
                         f"({len(feature_names)}), got shapes {train[0].shape} and "
                         f"{test[0].shape}")

    def compute(x: int, y: int, covariance: str, prior: float) -> GaussianFit:
        return gaussian_fit(train, test, (x, y), covariance, prior, steps)

    options = [(name, i) for i, name in enumerate(feature_names)]
    c = {"x": widgets.Dropdown(options=options, value=features[0], description="x feature"),
         "y": widgets.Dropdown(options=options, value=features[1], description="y feature"),
         "covariance": widgets.ToggleButtons(options=["separate", "shared"], value="separate",
                                             description="covariance"),
         "prior": widgets.FloatSlider(value=round(float(np.mean(train[1])), 2), min=0.05,
                                      max=0.95, step=0.05, description=f"P({class_names[1]})",
                                      readout_format=".2f")}
    figure = plots.new_figure(6.4, 4.4, left=0.12, bottom=0.12, top=0.92)
    return Explorer(c, compute, lambda v, r: _draw_fit(v, r, class_names, feature_names), figure,
                    rows=[[c["x"], c["y"]], [c["covariance"], c["prior"]]],
                    changing=_changing)


def _draw_fit(view: FigureView, result: GaussianFit, class_names: Sequence[str],
              feature_names: Sequence[str]) -> None:
    """``plots.GaussianPanel`` without shading, made on the first call and updated afterwards."""
    if not view.artists:
        ax = view.figure.add_subplot()
        view.artists["panel"] = plots.GaussianPanel(ax, class_names, shade=False)
        ax.legend(loc="upper right", fontsize=7)
    (X, y), (Xt, yt), (fx, fy) = result.train, result.test, result.features
    view.artists["panel"].update(
        X, y, result.model.means, result.model.covariances, result.grid, result.probability,
        X_test=Xt, y_test=yt, xlabel=f"{feature_names[fx]} (base stat points)",
        ylabel=f"{feature_names[fy]} (base stat points)", title=result.heading)


def _changing(view: FigureView, result: GaussianFit) -> tuple[list, object]:
    """Ellipses, boundary and title; points, axes and labels change only with the features."""
    panel = view.artists["panel"]
    return [*panel.ellipses, *panel.contours, panel.ax.title], result.features
