"""Probabilistic generative classifier: a Gaussian per class, priors, and Bayes' rule.

P(C_k | x) = P(x | C_k) P(C_k) / sum_j P(x | C_j) P(C_j), with each P(x | C_k) a Gaussian whose
mean and covariance are the maximum-likelihood estimates (divide by n, not n - 1). With one
covariance shared by the classes the boundary is linear and, for two classes,
P(C1 | x) = sigmoid(w.x + b) with w and b in closed form (``linear_parameters``).
Labels are integers 0..K-1; for two classes, class C1 is label 1 and C2 is label 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlpcourse._checks import check_array, check_float, check_instance, check_same_length
from nlpcourse.losses import log_softmax

__all__ = [
    "GaussianModel", "check_features_labels", "fit_gaussian", "gaussian_log_density",
    "fit_generative", "log_joint", "posterior", "predict", "log_odds", "linear_parameters",
    "accuracy",
]


@dataclass
class GaussianModel:
    """A fitted generative classifier: one Gaussian per class and the class priors."""

    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # (K, D, D); all K equal when shared
    priors: np.ndarray  # (K,)
    counts: np.ndarray  # (K,) training examples per class
    shared: bool

    @property
    def n_parameters(self) -> int:
        """Free parameters: K means, and one covariance (shared) or K (separate), symmetric."""
        k, d = self.means.shape
        per_cov = d * (d + 1) // 2
        return k * d + (per_cov if self.shared else k * per_cov)


def check_features_labels(X, y, *, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a feature matrix (N, D) without NaN and integer labels (N,); return them as
    arrays."""
    X = check_array("X", X, ndim=2, min_rows=1)
    y = check_array("y", y, ndim=1, dtype=None)
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels 0..K-1, got dtype {y.dtype}")
    check_same_length("X", X, "y", y)
    classes = np.unique(y)
    if n_classes is not None and (len(classes) != n_classes or classes.min() != 0
                                  or classes.max() != n_classes - 1):
        raise ValueError(f"y must hold exactly {n_classes} classes labelled 0..{n_classes - 1}, "
                         f"got labels {classes.tolist()}")
    if len(classes) < 2 or classes.min() != 0 or classes.max() != len(classes) - 1:
        raise ValueError("y must hold at least two classes labelled 0..K-1 with none missing, got "
                         f"labels {classes.tolist()}")
    return X, y.astype(np.int64)


def fit_gaussian(X) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood mean (D,) and covariance (D, D) of the rows of X (the covariance divides
    by n)."""
    X = check_array("X", X, ndim=2, min_rows=1)
    mu = X.mean(axis=0)
    centred = X - mu  # (N, D)
    return mu, centred.T @ centred / X.shape[0]


def _cholesky(cov: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the covariance of {what} is singular (fewer independent samples than features, or a "
            "constant feature); use shared=True to pool the classes, or reg= > 0 to add reg * I"
        ) from None


def gaussian_log_density(X, mean, cov) -> np.ndarray:
    """ln f_{mu,Sigma}(x) for each row x of X: the Gaussian log density in D dimensions."""
    X = check_array("X", X, ndim=2)
    mean = check_array("mean", mean, ndim=1)
    cov = check_array("cov", cov, ndim=2)
    d = mean.shape[0]
    if X.shape[1] != d or cov.shape != (d, d):
        raise ValueError(f"X (N, {d}), mean ({d},) and cov ({d}, {d}) must agree, got {X.shape}, "
                         f"{mean.shape}, {cov.shape}")
    chol = _cholesky(cov, "this Gaussian")
    solved = np.linalg.solve(chol, (X - mean).T)  # (D, N): L^{-1}(x - mu)
    mahalanobis = (solved**2).sum(axis=0)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (d * np.log(2.0 * np.pi) + log_det + mahalanobis)


def fit_generative(X, y, *, shared: bool = False, priors=None, reg: float = 0.0) -> GaussianModel:
    """Fit one maximum-likelihood Gaussian per class; priors from the class counts unless given.

    ``shared=True`` uses one covariance for every class, the count-weighted average
    sum_k (N_k / N) Sigma_k, which maximises the joint likelihood. ``reg`` adds reg * I to each
    covariance; a singular covariance with ``reg=0`` is an error that says what to do.
    """
    X, y = check_features_labels(X, y)
    reg = check_float("reg", reg, minimum=0.0)
    k, d = int(y.max()) + 1, X.shape[1]
    counts = np.bincount(y, minlength=k)
    means = np.zeros((k, d))
    covs = np.zeros((k, d, d))
    for c in range(k):
        means[c], covs[c] = fit_gaussian(X[y == c])
    if shared:
        pooled = np.tensordot(counts / counts.sum(), covs, axes=1)  # sum_k N_k/N Sigma_k
        covs = np.broadcast_to(pooled, covs.shape).copy()
    covs = covs + reg * np.eye(d)
    for c in range(k):
        if not shared and counts[c] <= d and reg == 0.0:
            raise ValueError(
                f"class {c} has {counts[c]} sample(s) for {d} features, so its covariance is "
                "singular; use shared=True to pool the classes, or reg= > 0 to add reg * I")
        _cholesky(covs[c], "the shared covariance" if shared else f"class {c}")
    if priors is None:
        priors = counts / counts.sum()
    else:
        priors = check_array("priors", priors, ndim=1)
        if priors.shape[0] != k or np.any(priors <= 0) or not np.isclose(priors.sum(), 1.0):
            raise ValueError(f"priors must be {k} positive numbers that sum to 1, got "
                             f"{priors.tolist()}")
    return GaussianModel(means, covs, np.asarray(priors, dtype=np.float64), counts, bool(shared))


def log_joint(model: GaussianModel, X) -> np.ndarray:
    """ln P(x | C_k) + ln P(C_k) for every row and class, shape (N, K)."""
    check_instance("model", model, GaussianModel, "a GaussianModel (from fit_generative)")
    X = check_array("X", X, ndim=2)
    if X.shape[1] != model.means.shape[1]:
        raise ValueError(f"X must have {model.means.shape[1]} feature columns, got {X.shape[1]}")
    columns = [gaussian_log_density(X, m, c) + np.log(p)
               for m, c, p in zip(model.means, model.covariances, model.priors)]
    return np.stack(columns, axis=1)


def posterior(model: GaussianModel, X) -> np.ndarray:
    """P(C_k | x) by Bayes' rule, shape (N, K); rows sum to 1."""
    return np.exp(log_softmax(log_joint(model, X)))


def predict(model: GaussianModel, X) -> np.ndarray:
    """The class with the largest posterior, shape (N,)."""
    return log_joint(model, X).argmax(axis=1)


def log_odds(model: GaussianModel, X) -> np.ndarray:
    """z = ln [P(x|C1)P(C1) / P(x|C2)P(C2)] for a two-class model, so that P(C1|x) = sigmoid(z)."""
    _require_two(model)
    joint = log_joint(model, X)
    return joint[:, 1] - joint[:, 0]


def linear_parameters(model: GaussianModel) -> tuple[np.ndarray, float]:
    """w and b with P(C1|x) = sigmoid(w.x + b) for a two-class shared-covariance model:
    w = Sigma^-1 (mu1 - mu2), b = -mu1.Sigma^-1 mu1 / 2 + mu2.Sigma^-1 mu2 / 2 + ln(P(C1)/P(C2))."""
    _require_two(model)
    if not model.shared:
        raise ValueError("linear_parameters needs a shared-covariance model (shared=True): with "
                         "separate covariances the log-odds are quadratic in x")
    sigma = model.covariances[0]
    mu1, mu2 = model.means[1], model.means[0]
    w = np.linalg.solve(sigma, mu1 - mu2)
    b = -0.5 * mu1 @ np.linalg.solve(sigma, mu1) + 0.5 * mu2 @ np.linalg.solve(sigma, mu2)
    return w, float(b + np.log(model.priors[1] / model.priors[0]))


def accuracy(model: GaussianModel, X, y) -> float:
    """Fraction of rows whose predicted class equals y."""
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1, dtype=np.int64)
    check_same_length("X", X, "y", y)
    return float(np.mean(predict(model, X) == y))


def _require_two(model: GaussianModel) -> None:
    check_instance("model", model, GaussianModel, "a GaussianModel (from fit_generative)")
    if model.means.shape[0] != 2:
        raise ValueError(f"this needs a two-class model, got {model.means.shape[0]} classes")
