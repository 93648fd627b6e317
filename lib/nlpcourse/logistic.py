"""Logistic regression from scratch: the discriminative twin of ``nlpcourse.generative``.

Step 1, the function set: f_{w,b}(x) = P(C1 | x) = sigmoid(w.x + b).
Step 2, goodness of a function: the cross-entropy between the labels and f (or, to show why not,
the square error). Step 3, the best function: gradient descent, full batch or mini-batch SGD.
Softmax regression extends it to K classes; cascading logistic regressions (a hidden layer of
logistic units) learn the feature transformation that XOR needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nlpcourse._checks import (check_array, check_choice, check_float, check_instance, check_int,
                               check_same_length)
from nlpcourse.generative import check_features_labels
from nlpcourse.losses import BINARY_LOSSES, cross_entropy, sigmoid, softmax

__all__ = [
    "LogisticModel", "SoftmaxModel", "CascadeModel", "logistic_loss_and_grad", "fit_logistic",
    "predict_proba", "predict", "accuracy", "fit_softmax", "softmax_proba", "fit_cascade",
    "cascade_hidden", "cascade_proba",
]


@dataclass
class LogisticModel:
    """P(C1 | x) = sigmoid(w.x + b); C1 is label 1."""

    w: np.ndarray  # (D,)
    b: float
    history: list[float] = field(default_factory=list)  # training loss after each epoch


@dataclass
class SoftmaxModel:
    """P(C_k | x) = softmax(x W + b)_k for K classes."""

    W: np.ndarray  # (D, K)
    b: np.ndarray  # (K,)
    history: list[float] = field(default_factory=list)


@dataclass
class CascadeModel:
    """Logistic units feeding one logistic unit: h = sigmoid(x W1 + b1), P(C1|x) = sigmoid(h.w2 +
    b2)."""

    W1: np.ndarray  # (D, H)
    b1: np.ndarray  # (H,)
    w2: np.ndarray  # (H,)
    b2: float
    history: list[float] = field(default_factory=list)


def logistic_loss_and_grad(w, b: float, X, y,
                           loss: str = "cross_entropy") -> tuple[float, np.ndarray, float]:
    """The mean loss of sigmoid(Xw + b) against y, and its gradients with respect to w and b."""
    check_choice("loss", loss, BINARY_LOSSES)
    X = check_array("X", X, ndim=2)
    w = check_array("w", w, ndim=1)
    y = check_array("y", y, ndim=1)
    check_same_length("X", X, "y", y)
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w must have one weight per feature column ({X.shape[1]}), got "
                         f"{w.shape[0]}")
    z = X @ w + b  # (N,)
    value, grad_z = BINARY_LOSSES[loss](z, y)
    return value, X.T @ grad_z, float(grad_z.sum())


def _batches(n: int, batch_size: int | None, rng: np.random.Generator):
    if batch_size is None or batch_size >= n:
        yield np.arange(n)
        return
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _scaling(X: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    if not standardize:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    scale = X.std(axis=0)
    return X.mean(axis=0), np.where(scale > 0, scale, 1.0)  # a constant feature stays unscaled


def _check_training(lr, epochs, batch_size, seed) -> tuple[float, int, int | None, int]:
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, minimum=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    return lr, epochs, batch_size, check_int("seed", seed, minimum=0)


def fit_logistic(X, y, *, loss: str = "cross_entropy", lr: float = 0.5, epochs: int = 500,
                 batch_size: int | None = None, standardize: bool = True, seed: int = 0,
                 w0=None, b0: float = 0.0) -> LogisticModel:
    """Logistic regression by gradient descent (mini-batch SGD when ``batch_size`` is set).

    With ``standardize=True`` it trains on z-scored features (so one learning rate suits every
    feature) and folds the scaling back, so the returned w, b apply to the raw features.
    ``w0``/``b0`` start the descent (in the standardised space when standardising).
    """
    check_choice("loss", loss, BINARY_LOSSES)
    X, y = check_features_labels(X, y, n_classes=2)
    lr, epochs, batch_size, seed = _check_training(lr, epochs, batch_size, seed)
    mean, scale = _scaling(X, standardize)
    Xs = (X - mean) / scale
    w = np.zeros(X.shape[1]) if w0 is None else check_array("w0", w0, ndim=1).copy()
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w0 must have one weight per feature column ({X.shape[1]}), got "
                         f"{w.shape[0]}")
    b = check_float("b0", b0)
    rng = np.random.default_rng(seed)
    history = []
    target = y.astype(np.float64)
    for _epoch in range(epochs):
        for rows in _batches(len(y), batch_size, rng):
            _value, grad_w, grad_b = logistic_loss_and_grad(w, b, Xs[rows], target[rows], loss)
            w, b = w - lr * grad_w, b - lr * grad_b
        history.append(logistic_loss_and_grad(w, b, Xs, target, loss)[0])
    return LogisticModel(w / scale, float(b - (w / scale) @ mean), history)


def predict_proba(model: LogisticModel, X) -> np.ndarray:
    """P(C1 | x) for each row of X, shape (N,)."""
    check_instance("model", model, LogisticModel, "a LogisticModel (from fit_logistic)")
    X = check_array("X", X, ndim=2)
    if X.shape[1] != model.w.shape[0]:
        raise ValueError(f"X must have {model.w.shape[0]} feature columns, got {X.shape[1]}")
    return sigmoid(X @ model.w + model.b)


def predict(model, X) -> np.ndarray:
    """Predicted labels for any model of this module (1 = C1 where P(C1|x) >= 0.5)."""
    check_instance("model", model, (LogisticModel, SoftmaxModel, CascadeModel),
                   "a model from fit_logistic, fit_softmax or fit_cascade")
    if isinstance(model, SoftmaxModel):
        return softmax_proba(model, X).argmax(axis=1)
    if isinstance(model, CascadeModel):
        return (cascade_proba(model, X) >= 0.5).astype(np.int64)
    return (predict_proba(model, X) >= 0.5).astype(np.int64)


def accuracy(model, X, y) -> float:
    """Fraction of rows of X whose predicted label equals y."""
    y = check_array("y", y, ndim=1, dtype=np.int64)
    check_same_length("X", X, "y", y)
    return float(np.mean(predict(model, X) == y))


def fit_softmax(X, y, *, lr: float = 0.5, epochs: int = 500, batch_size: int | None = None,
                standardize: bool = True, seed: int = 0) -> SoftmaxModel:
    """Softmax regression (multi-class logistic regression) by gradient descent on cross-entropy."""
    X, y = check_features_labels(X, y)
    lr, epochs, batch_size, seed = _check_training(lr, epochs, batch_size, seed)
    mean, scale = _scaling(X, standardize)
    Xs = (X - mean) / scale
    k = int(y.max()) + 1
    W, b = np.zeros((X.shape[1], k)), np.zeros(k)
    rng = np.random.default_rng(seed)
    history = []
    for _epoch in range(epochs):
        for rows in _batches(len(y), batch_size, rng):
            _value, grad_z = cross_entropy(Xs[rows] @ W + b, y[rows])  # grad_z: (B, K)
            W, b = W - lr * Xs[rows].T @ grad_z, b - lr * grad_z.sum(axis=0)
        history.append(cross_entropy(Xs @ W + b, y)[0])
    W_raw = W / scale[:, None]
    return SoftmaxModel(W_raw, b - mean @ W_raw, history)


def softmax_proba(model: SoftmaxModel, X) -> np.ndarray:
    """P(C_k | x) for each row, shape (N, K)."""
    check_instance("model", model, SoftmaxModel, "a SoftmaxModel (from fit_softmax)")
    X = check_array("X", X, ndim=2)
    if X.shape[1] != model.W.shape[0]:
        raise ValueError(f"X must have {model.W.shape[0]} feature columns, got {X.shape[1]}")
    return softmax(X @ model.W + model.b)


def _cascade_forward(W1, b1, w2, b2, X) -> tuple[np.ndarray, np.ndarray]:
    h = sigmoid(X @ W1 + b1)  # (N, H): the learned feature transformation
    return h, h @ w2 + b2  # (N,) logits of the last logistic unit


def fit_cascade(X, y, *, hidden: int = 2, lr: float = 1.0, epochs: int = 2000, seed: int = 0,
                init_scale: float = 1.0) -> CascadeModel:
    """Cascading logistic regressions: ``hidden`` logistic units whose outputs feed one more,
    all trained together by full-batch gradient descent on cross-entropy (the chain rule by
    hand)."""
    X, y = check_features_labels(X, y, n_classes=2)
    hidden = check_int("hidden", hidden, minimum=1)
    lr, epochs, _none, seed = _check_training(lr, epochs, None, seed)
    init_scale = check_float("init_scale", init_scale, minimum=0.0, min_inclusive=False)
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.0, init_scale, size=(X.shape[1], hidden))
    b1 = rng.normal(0.0, init_scale, size=hidden)
    w2 = rng.normal(0.0, init_scale, size=hidden)
    b2 = 0.0
    target = y.astype(np.float64)
    history = []
    for _epoch in range(epochs):
        h, z = _cascade_forward(W1, b1, w2, b2, X)
        value, grad_z = BINARY_LOSSES["cross_entropy"](z, target)  # (N,)
        grad_h = np.outer(grad_z, w2) * h * (1.0 - h)  # (N, H): back through each hidden sigmoid
        W1, b1 = W1 - lr * X.T @ grad_h, b1 - lr * grad_h.sum(axis=0)
        w2, b2 = w2 - lr * h.T @ grad_z, b2 - lr * float(grad_z.sum())
        history.append(value)
    return CascadeModel(W1, b1, w2, float(b2), history)


def cascade_hidden(model: CascadeModel, X) -> np.ndarray:
    """The hidden logistic units' outputs (the learned features), shape (N, H)."""
    check_instance("model", model, CascadeModel, "a CascadeModel (from fit_cascade)")
    X = check_array("X", X, ndim=2)
    if X.shape[1] != model.W1.shape[0]:
        raise ValueError(f"X must have {model.W1.shape[0]} feature columns, got {X.shape[1]}")
    return _cascade_forward(model.W1, model.b1, model.w2, model.b2, X)[0]


def cascade_proba(model: CascadeModel, X) -> np.ndarray:
    """P(C1 | x) of the cascade, shape (N,)."""
    h = cascade_hidden(model, X)
    return sigmoid(h @ model.w2 + model.b2)
