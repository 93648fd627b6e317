"""Normalization (標準化/歸一化): feature scaling fitted on training data, gradient descent on a
badly scaled least-squares problem, and BatchNorm / LayerNorm built from tensor operations.

Feature scaling is numpy (fit on train, apply the same shift and scale to test). BatchNorm and
LayerNorm are ``torch.nn.Module`` s written with plain tensor arithmetic (no ``F.batch_norm``),
so autograd gives their gradients and the tests compare them with torch's own layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from nlpcourse._checks import check_array, check_float, check_int
from nlpcourse._tensor_checks import check_tensor

__all__ = [
    "FeatureScaler", "min_max", "z_score", "centering", "gradient_descent_path", "LeastSquares",
    "steps_to_converge", "scaled_features", "BatchNorm", "LayerNorm",
    "batch_norm_backward", "batch_statistics_spread", "aligned_indicators", "mlp",
    "train_classifier", "accuracy",
]

# --------------------------------------------------------------------------- feature scaling


@dataclass(frozen=True)
class FeatureScaler:
    """A fitted per-feature affine map x -> (x - shift) / scale (min-max, z-score or centring)."""

    shift: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    kind: str

    def transform(self, X: Any) -> np.ndarray:
        """Apply the training statistics to ``X`` of shape (N, D)."""
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.shift.shape[0]:
            raise ValueError(f"X must have {self.shift.shape[0]} features (as when fitted), got "
                             f"{X.shape[1]}")
        return (X - self.shift) / self.scale

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Map scaled values back to the original units."""
        Z = check_array("Z", Z, ndim=2)
        if Z.shape[1] != self.shift.shape[0]:
            raise ValueError(f"Z must have {self.shift.shape[0]} features (as when fitted), got "
                             f"{Z.shape[1]}")
        return Z * self.scale + self.shift


def _train_matrix(X: Any) -> np.ndarray:
    return check_array("X_train", X, ndim=2, min_rows=1)


def min_max(X_train: Any) -> FeatureScaler:
    """Fit min-max scaling x* = (x - min) / (max - min), mapping each training feature onto [0, 1].

    A constant feature (max == min) gets range 1, so it maps to 0 instead of dividing by zero.
    """
    X = _train_matrix(X_train)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    return FeatureScaler(lo, np.where(span > 0, span, 1.0), "min-max")


def z_score(X_train: Any, eps: float = 1e-8) -> FeatureScaler:
    """Fit z-score scaling x* = (x - mu) / sqrt(sigma^2 + eps) (sigma^2 the biased variance).

    ``eps`` keeps a zero-variance feature finite (it maps to 0); with ``eps=0`` such a feature
    is an error that names it.
    """
    X = _train_matrix(X_train)
    eps = check_float("eps", eps, minimum=0.0)
    mu, var = X.mean(axis=0), X.var(axis=0)
    if eps == 0 and np.any(var == 0):
        bad = np.flatnonzero(var == 0).tolist()
        raise ValueError(f"X_train has zero-variance feature(s) {bad[:10]}; z-score needs eps > 0 "
                         "for them, got eps=0")
    return FeatureScaler(mu, np.sqrt(var + eps), "z-score")


def centering(X_train: Any) -> FeatureScaler:
    """Fit centring (中心化, zero mean): x* = x - mu, scale unchanged."""
    X = _train_matrix(X_train)
    return FeatureScaler(X.mean(axis=0), np.ones(X.shape[1]), "centering")


# ------------------------------------------------------------------- gradient descent on a 2-D loss


def gradient_descent_path(grad: Callable[[np.ndarray], np.ndarray], start: Any, lr: float,
                          steps: int) -> np.ndarray:
    """Plain gradient descent w <- w - lr grad(w) from ``start``; returns every point, shape (steps
    + 1, P).

    Stops early (shorter result) if the iterate becomes non-finite, i.e. the run diverged.
    """
    w = check_array("start", start, ndim=1, min_rows=1).copy()
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    steps = check_int("steps", steps, minimum=0)
    path = [w.copy()]
    for _ in range(steps):
        g = np.asarray(grad(w), dtype=np.float64)
        if g.shape != w.shape:
            raise ValueError(f"grad must return an array of shape {w.shape}, got {g.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            w = w - lr * g
        if not np.all(np.isfinite(w)):
            break
        path.append(w.copy())
    return np.array(path)


@dataclass(frozen=True)
class LeastSquares:
    """The loss L(w) = ||X w - y||^2 / (2N) of a linear model without bias, for P features."""

    X: np.ndarray  # (N, P)
    y: np.ndarray  # (N,)

    @classmethod
    def fit(cls, X: Any, y: Any) -> "LeastSquares":
        """Validate ``X`` (N, P) and ``y`` (N,) and build the problem."""
        X = check_array("X", X, ndim=2, min_rows=1)
        y = check_array("y", y, ndim=1)
        if len(y) != len(X):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
        return cls(X, y)

    @property
    def hessian(self) -> np.ndarray:
        """X^T X / N, the (constant) curvature; its eigenvalues set the usable learning rate."""
        return self.X.T @ self.X / len(self.X)

    @property
    def minimum(self) -> np.ndarray:
        """The least-squares solution w*."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    @property
    def condition_number(self) -> float:
        """Largest over smallest curvature: GD needs about this many steps per e-fold."""
        eig = np.linalg.eigvalsh(self.hessian)
        return float(eig[-1] / eig[0])

    def loss(self, *weights: Any) -> np.ndarray:
        """L at the points given by P equal-shape arrays (W1, W2, ...), vectorised for contour
        grids."""
        if len(weights) == 1:
            weights = tuple(np.asarray(weights[0], dtype=np.float64).T)
        if len(weights) != self.X.shape[1]:
            raise ValueError(f"loss needs {self.X.shape[1]} weight arrays, got {len(weights)}")
        W = np.stack([np.asarray(w, dtype=np.float64) for w in weights], axis=-1)  # (..., P)
        # expanded square: w^T H w / 2 - w^T X^T y / N + y^T y / (2N), cheap on a large grid
        b = self.X.T @ self.y / len(self.X)
        return (0.5 * np.einsum("...i,ij,...j->...", W, self.hessian, W) - W @ b
                + 0.5 * np.mean(self.y**2))

    def grad(self, w: Any) -> np.ndarray:
        """dL/dw = X^T (X w - y) / N."""
        w = np.asarray(w, dtype=np.float64)
        return self.X.T @ (self.X @ w - self.y) / len(self.X)

    def safe_lr(self, fraction: float = 1.0) -> float:
        """``fraction`` / largest curvature; GD on this loss diverges for fraction >= 2."""
        fraction = check_float("fraction", fraction, minimum=0.0, maximum=2.0, min_inclusive=False,
                               max_inclusive=False)
        return fraction / float(np.linalg.eigvalsh(self.hessian)[-1])


def steps_to_converge(problem: LeastSquares, start: Any, lr: float, tol: float = 1e-6,
                      max_steps: int = 100_000) -> int:
    """Number of GD steps until L(w) - L(w*) <= tol; ``max_steps`` if it never gets there.

    On a quadratic loss GD acts on each eigen-direction of the curvature separately: the
    distance along direction i shrinks by (1 - lr lambda_i) per step, so the gap after t steps
    is sum_i lambda_i c_i^2 (1 - lr lambda_i)^(2t) / 2. When every term shrinks the gap is
    monotone and the first t is found by bisection; otherwise every t is evaluated.
    """
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    tol = check_float("tol", tol, minimum=0.0, min_inclusive=False)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    start = check_array("start", start, ndim=1)
    if start.shape[0] != problem.X.shape[1]:
        raise ValueError(f"start must have {problem.X.shape[1]} entries, got {start.shape[0]}")
    eig, vectors = np.linalg.eigh(problem.hessian)
    # (P,) gap along each eigen-direction
    weight = 0.5 * eig * (vectors.T @ (start - problem.minimum)) ** 2
    rate = np.abs(1.0 - lr * eig) ** 2  # (P,) factor per step
    keep = weight > 0  # directions where the start is already exact never contribute
    weight, rate = weight[keep], rate[keep]
    if weight.size == 0 or weight.sum() <= tol:
        return 0

    def gap(t: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.sum(weight * rate ** np.asarray(t)[..., None], axis=-1)

    if np.all(rate <= 1.0):  # every term shrinks: the gap is monotone, bisect on t
        if gap(max_steps) > tol:
            return max_steps
        low, high = -1, max_steps  # gap(low) > tol (or low = -1), gap(high) <= tol
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if gap(middle) <= tol else (middle, high)
        return int(high)
    # a diverging direction: scan every t
    below = np.flatnonzero(gap(np.arange(max_steps + 1)) <= tol)
    return int(below[0]) if below.size else max_steps


def scaled_features(scale: float, n: int = 200, seed: int = 0,
                    weights: tuple[float, float] = (3.0, -2.0),
                    noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A two-feature regression whose second feature is multiplied by ``scale``.

    Both raw features are standard normal, y = w1 x1 + w2 x2 + noise; then x2 is stretched by
    ``scale``, so the best second weight becomes w2 / scale and the loss valley narrows.
    """
    scale = check_float("scale", scale, minimum=0.0, min_inclusive=False)
    n = check_int("n", n, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    noise = check_float("noise", noise, minimum=0.0)
    weights = check_array("weights", weights, ndim=1)
    if weights.shape != (2,):
        raise ValueError(f"weights must be two numbers (w1, w2), got shape {weights.shape}")
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 2))
    y = Z @ np.asarray(weights, dtype=np.float64) + noise * rng.standard_normal(n)
    return Z * np.array([1.0, scale]), y


# -------------------------------------------------------------------------- BatchNorm and LayerNorm


def _check_input(name: str, x: Any, ndim: int | None, features: int) -> torch.Tensor:
    check_tensor(name, x, floating=True)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (batch, features={features}), got "
                         f"shape {tuple(x.shape)}")
    if x.ndim < 1 or x.shape[-1] != features:
        raise ValueError(f"{name} must have {features} features in its last dimension, got shape "
                         f"{tuple(x.shape)}")
    return x


class BatchNorm(nn.Module):
    """Batch normalization over the batch axis of (N, C) input, per feature (縱向).

    Training: normalise with the batch mean and biased variance, and move the running
    estimates towards the batch's mean and unbiased variance by ``momentum``. Evaluation:
    normalise with the running estimates (one test example has no batch to average over).
    Then scale by gamma (``weight``) and shift by beta (``bias``), both learned.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_input("x", x, 2, self.num_features)  # (N, C)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm in training mode needs a batch of at least 2 "
                                 f"examples, got {n}; call .eval() to use the running statistics")
            mean = x.mean(dim=0)  # (C,)
            var = ((x - mean) ** 2).mean(dim=0)  # biased: the batch's own spread
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))  # unbiased, as torch
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)  # (N, C)
        return self.weight * x_hat + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(nn.Module):
    """Layer normalization over the last axis, per example (横向): the same in training and
    evaluation."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_input("x", x, None, self.num_features)  # (..., C)
        mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


# ------------------------------------------------------------ issue 27: the notes' claims, measured
# (back-propagation through mu and sigma, batch-statistic noise, indicator directions, the BN sweep)


def batch_norm_backward(x: Any, gamma: Any, upstream: Any,
                        eps: float = 1e-5) -> dict[str, np.ndarray]:
    """Gradients of BatchNorm's training-mode output y = gamma (x - mu) / sqrt(var + eps) + beta, by
    hand.

    ``x`` and ``upstream`` (dL/dy) have shape (N, C), ``gamma`` (C,). Returns dL/dx, dL/dgamma,
    dL/dbeta and the two intermediate gradients the notes name, dL/dmu and dL/dvar (mu and var
    depend on every x in the batch, so each x_i's gradient collects a share through them).
    """
    x = check_array("x", x, ndim=2, min_rows=2)
    upstream = check_array("upstream", upstream, ndim=2)
    gamma = check_array("gamma", gamma, ndim=1)
    eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
    if upstream.shape != x.shape:
        raise ValueError(f"upstream must have the shape of x {x.shape}, got {upstream.shape}")
    if gamma.shape != (x.shape[1],):
        raise ValueError(f"gamma must have shape ({x.shape[1]},), one per feature of x, got "
                         f"{gamma.shape}")
    n = x.shape[0]
    mu = x.mean(axis=0)  # (C,)
    centred = x - mu  # (N, C)
    var = (centred**2).mean(axis=0)  # (C,) biased
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centred * inv_std
    d_x_hat = upstream * gamma  # (N, C)
    d_var = np.sum(d_x_hat * centred, axis=0) * -0.5 * inv_std**3  # (C,)
    # second term is 0
    d_mu = -np.sum(d_x_hat, axis=0) * inv_std + d_var * -2.0 * centred.mean(axis=0)
    d_x = d_x_hat * inv_std + d_var * 2.0 * centred / n + d_mu / n
    return {"x": d_x, "gamma": np.sum(upstream * x_hat, axis=0), "beta": upstream.sum(axis=0),
            "mu": d_mu, "var": d_var}


def batch_statistics_spread(values: Any, batch_sizes: Any, n_batches: int = 2000,
                            seed: int = 0) -> dict[str, np.ndarray]:
    """Standard deviation, over ``n_batches`` random mini-batches, of a feature's batch mean and
    batch variance.

    ``values`` (N,) is one feature over a data set; the batches are consecutive slices of shuffled
    passes over it (as training's shuffled epochs make them), so a batch never repeats a value.
    Returns ``batch_sizes`` and the two spreads (one per B).
    """
    values = check_array("values", values, ndim=1, min_rows=2)
    sizes = check_array("batch_sizes", batch_sizes, ndim=1, dtype=np.int64, min_rows=1)
    n_batches = check_int("n_batches", n_batches, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    if sizes.min() < 2 or sizes.max() > len(values):
        raise ValueError(f"batch_sizes must lie in [2, {len(values)}] (the number of values), got "
                         f"{sizes.tolist()}")
    rng = np.random.default_rng(seed)
    mean_sd, var_sd = [], []
    for b in sizes:
        per_epoch = len(values) // b  # full batches in one shuffled pass
        epochs = -(-n_batches // per_epoch)
        order = np.concatenate([rng.permutation(len(values))[:per_epoch * b]
                                for _ in range(epochs)])
        batches = values[order[:n_batches * b]].reshape(n_batches, b)  # (n_batches, B)
        mean_sd.append(batches.mean(axis=1).std())
        var_sd.append(batches.var(axis=1).std())
    return {"batch_size": sizes, "mean_sd": np.array(mean_sd), "var_sd": np.array(var_sd)}


def aligned_indicators(X: Any, lower_is_better: Any) -> np.ndarray:
    """Min-max scale each indicator (column) onto [0, 1] and flip the lower-is-better ones (1 - x*),
    so that higher means better in every column (同趨化處理 then 無量綱化)."""
    X = check_array("X", X, ndim=2, min_rows=1)
    flip = np.asarray(lower_is_better)
    if flip.dtype != bool or flip.shape != (X.shape[1],):
        raise ValueError(f"lower_is_better must be {X.shape[1]} booleans (one per column of X), "
                         f"got {lower_is_better!r}")
    Z = min_max(X).transform(X)
    return np.where(flip, 1.0 - Z, Z)


def mlp(in_features: int, hidden: int, out_features: int, depth: int = 2, batch_norm: bool = False,
        init_scale: float = 1.0) -> nn.Sequential:
    """Linear -> [BatchNorm] -> ReLU, ``depth`` times, then a linear output layer.

    ``init_scale`` multiplies the hidden layers' initial weights (torch's default initialisation
    times this factor); the output layer keeps torch's default.
    """
    in_features = check_int("in_features", in_features, minimum=1)
    hidden = check_int("hidden", hidden, minimum=1)
    out_features = check_int("out_features", out_features, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    init_scale = check_float("init_scale", init_scale, minimum=0.0, min_inclusive=False)
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        linear = nn.Linear(width, hidden)
        with torch.no_grad():
            linear.weight.mul_(init_scale)
        layers += [linear] + ([BatchNorm(hidden)] if batch_norm else []) + [nn.ReLU()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, out_features))


def train_classifier(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float, epochs: int,
                     batch_size: int = 64, seed: int = 0,
                     watch: dict[str, nn.Module] | None = None) -> dict[str, list[float]]:
    """Plain mini-batch SGD on cross-entropy; the mean training loss of each epoch.

    A run whose loss becomes NaN or infinite stops there (it diverged) and reports ``inf``.
    ``watch``: modules by name; the batch mean and variance of each one's output (over the batch and
    its units) are recorded at every step, as ``<name> mean`` and ``<name> var``.
    """
    check_tensor("X", X, floating=True)
    check_tensor("y", y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, D) and y (N,), got {tuple(X.shape)} and {tuple(y.shape)}")
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    history: dict[str, list[float]] = {"loss": []}
    hooks = []
    for name, module in (watch or {}).items():
        if not isinstance(module, nn.Module):
            raise TypeError(f"watch[{name!r}] must be a torch.nn.Module, got "
                            f"{type(module).__name__}")
        history[f"{name} mean"], history[f"{name} var"] = [], []

        def record(module, inputs, output, name=name):
            history[f"{name} mean"].append(float(output.detach().mean()))
            history[f"{name} var"].append(float(output.detach().var(unbiased=False)))
        hooks.append(module.register_forward_hook(record))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    try:
        for _ in range(epochs):
            total = 0.0
            for idx in torch.randperm(len(X), generator=generator).split(batch_size):
                if len(idx) < 2:  # a last batch of one has no batch statistics
                    continue
                loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
                if not torch.isfinite(loss):
                    history["loss"].append(float("inf"))
                    return history
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            history["loss"].append(total / len(X))
    finally:
        for hook in hooks:
            hook.remove()
        model.eval()
    return history


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``X`` classified as ``y`` by ``model`` in evaluation mode."""
    model.eval()
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).float().mean())
