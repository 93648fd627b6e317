"""Radial basis function networks (chapter 12): Gaussian bumps at k-means centres, then a
linear output layer fitted by least squares.

    phi_j(x) = exp(-||x - c_j||^2 / (2 width^2)),    y_hat = w . [phi(x), 1]

The width decides how smooth the fit is: wide bumps average many points, narrow bumps
interpolate every training point (over-fitting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlpcourse._checks import check_array, check_float, check_int, check_same_length

__all__ = [
    "kmeans", "rbf_features", "default_width", "RBFNetwork", "fit_rbf",
]


def _as_matrix(name: str, X) -> np.ndarray:
    X = check_array(name, X, min_rows=1)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} must be a vector or a (samples, features) matrix, got shape "
                         f"{X.shape}")
    return X


def _lloyd(X: np.ndarray, k: int, rng: np.random.Generator,
           iterations: int) -> tuple[np.ndarray, float]:
    centres = [X[rng.integers(len(X))]]
    for _ in range(1, k):  # k-means++: far points are more likely to start a new centre
        d2 = np.min(((X[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(X[rng.choice(len(X), p=d2 / d2.sum())] if d2.sum() > 0
                       else X[rng.integers(len(X))])
    centres = np.array(centres)
    for _ in range(iterations):
        assign = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        updated = np.array([X[assign == j].mean(0) if np.any(assign == j) else centres[j]
                            for j in range(k)])
        if np.allclose(updated, centres):
            break
        centres = updated
    inertia = float(((X[:, None, :] - centres[None]) ** 2).sum(-1).min(1).sum())
    return centres, inertia


def kmeans(X, k: int, seed: int = 0, iterations: int = 100, restarts: int = 10) -> np.ndarray:
    """Lloyd's k-means from ``restarts`` k-means++ starts; returns the best (k, features) centres.

    One start can stop in a poor local minimum; keeping the lowest within-cluster sum of
    squares over several starts is what scikit-learn's ``n_init`` does too.
    """
    X = _as_matrix("X", X)
    k = check_int("k", k, minimum=1, maximum=len(X))
    iterations = check_int("iterations", iterations, minimum=1)
    restarts = check_int("restarts", restarts, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    runs = [_lloyd(X, k, rng, iterations) for _ in range(restarts)]
    return min(runs, key=lambda run: run[1])[0]


def rbf_features(X, centres, width: float, bias: bool = True) -> np.ndarray:
    """Design matrix: one Gaussian bump per centre (and a column of ones if ``bias``)."""
    X, centres = _as_matrix("X", X), _as_matrix("centres", centres)
    if X.shape[1] != centres.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but centres have {centres.shape[1]}")
    width = check_float("width", width, minimum=0.0, min_inclusive=False)
    d2 = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(-1)  # (n, k)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        phi = np.exp(-d2 / (2.0 * width**2))
    if not np.all(np.isfinite(phi)):  # width**2 underflowed: the same bumps, computed without it
        with np.errstate(over="ignore"):
            phi = np.exp(-0.5 * (np.sqrt(d2) / width) ** 2)
    return np.hstack([phi, np.ones((len(X), 1))]) if bias else phi


def default_width(centres) -> float:
    """The common heuristic d_max / sqrt(2k): d_max the largest distance between two centres."""
    centres = _as_matrix("centres", centres)
    if len(centres) < 2:
        raise ValueError("default_width needs at least two centres; give width explicitly")
    d = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1)).max()
    return float(d / np.sqrt(2 * len(centres)))


@dataclass(frozen=True)
class RBFNetwork:
    """A fitted RBF network: centres, one shared width, output weights (last one is the bias)."""

    centres: np.ndarray
    width: float
    weights: np.ndarray

    def predict(self, X) -> np.ndarray:
        return rbf_features(X, self.centres, self.width) @ self.weights


def fit_rbf(X, y, k: int | None = None, width: float | None = None, centres=None,
            ridge: float = 0.0,
            seed: int = 0) -> RBFNetwork:
    """Fit an RBF network: centres by k-means (or given), output layer by (ridge) least squares."""
    X = _as_matrix("X", X)
    y = check_array("y", y, ndim=1)
    check_same_length("X", X, "y", y)
    if centres is None:
        if k is None:
            raise ValueError("give either k (centres found by k-means) or centres")
        centres = kmeans(X, k, seed=seed)
    centres = _as_matrix("centres", centres)
    width = default_width(centres) if width is None else width
    ridge = check_float("ridge", ridge, minimum=0.0)
    phi = rbf_features(X, centres, width)
    if ridge > 0:
        weights = np.linalg.solve(phi.T @ phi + ridge * np.eye(phi.shape[1]), phi.T @ y)
    else:
        weights = np.linalg.lstsq(phi, y, rcond=None)[0]
    return RBFNetwork(centres=centres, width=float(width), weights=weights)
