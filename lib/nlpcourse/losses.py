"""Loss functions with their gradients, numerically stable for extreme logits.

Every loss has the same shape: ``loss(prediction, target, reduction="mean") -> (value, grad)``
where ``grad`` is the derivative of ``value`` with respect to ``prediction`` (same shape).
Losses of a classifier take *logits* (``z = w.x + b``), never probabilities, so that
``log(sigmoid(z))`` is computed without overflow or ``log(0)``.
Chapter 10 writes square error and cross-entropy; chapter 11 adds more in the same shape.
"""

from __future__ import annotations

import numpy as np

from nlpcourse._checks import check_array, check_choice, check_float, check_int

__all__ = [
    "REDUCTIONS", "sigmoid", "log_sigmoid", "log_softmax", "softmax", "square_error",
    "binary_cross_entropy", "sigmoid_square_error", "cross_entropy", "BINARY_LOSSES",
    "one_weight_curves", "absolute_error", "huber", "hinge", "multiclass_hinge",
    "loss_family_curves",
]

REDUCTIONS = ("mean", "sum")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log(sigmoid(z)) = -log(1 + exp(-z)), stable for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    return np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, with the max subtracted first (shift invariance)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis, stable for large logits."""
    return np.exp(log_softmax(logits))


def _reduce(per_item: np.ndarray, grad: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
    check_choice("reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        n = per_item.shape[0] if per_item.ndim else 1
        return float(per_item.sum() / n), grad / n
    return float(per_item.sum()), grad


def _pair(name_p: str, prediction, name_t: str, target) -> tuple[np.ndarray, np.ndarray]:
    prediction = check_array(name_p, prediction)
    target = check_array(name_t, target)
    if prediction.shape != target.shape:
        raise ValueError(f"{name_p} and {name_t} must have the same shape, got {prediction.shape} "
                         f"and {target.shape}")
    if prediction.size == 0:
        raise ValueError(f"{name_p} must not be empty")
    return prediction, target


def square_error(prediction, target, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """(prediction - target)^2, summed over any trailing axes and averaged ("mean") or summed over
    items; for 1-D input "mean" equals torch's MSELoss. Returns the value and d value / d
    prediction."""
    prediction, target = _pair("prediction", prediction, "target", target)
    diff = prediction - target
    per_item = (diff**2).reshape(diff.shape[0], -1).sum(axis=1) if diff.ndim else diff**2
    return _reduce(per_item, 2.0 * diff, reduction)


def _binary_targets(target: np.ndarray) -> None:
    if np.any((target < 0) | (target > 1)):
        raise ValueError("target must hold probabilities in [0, 1] (1 for class C1, 0 for class "
                         f"C2), got values from {target.min()} to {target.max()}")


def binary_cross_entropy(logits, target, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """-[y ln sigmoid(z) + (1 - y) ln(1 - sigmoid(z))] from logits z; gradient sigmoid(z) - y."""
    logits, target = _pair("logits", logits, "target", target)
    _binary_targets(target)
    # 1 - sigmoid(z) = sigmoid(-z), so both logs come from the stable log_sigmoid
    per_item = -(target * log_sigmoid(logits) + (1.0 - target) * log_sigmoid(-logits))
    per_item = per_item.reshape(per_item.shape[0], -1).sum(axis=1) if per_item.ndim else per_item
    return _reduce(per_item, sigmoid(logits) - target, reduction)


def sigmoid_square_error(logits, target, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """(sigmoid(z) - y)^2 from logits z: square error on a logistic output.

    Its gradient 2 (f - y) f (1 - f) vanishes where f saturates, even when f is far from y:
    the reason chapter 10 trains classifiers with cross-entropy instead.
    """
    logits, target = _pair("logits", logits, "target", target)
    _binary_targets(target)
    f = sigmoid(logits)
    value, grad_f = square_error(f, target, reduction)
    return value, grad_f * f * (1.0 - f)


def _check_logits_and_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    """Validate multi-class logits (N, K >= 2) and integer labels (N,) in 0..K-1."""
    logits = check_array("logits", logits, ndim=2)
    labels = check_array("labels", labels, ndim=1, dtype=None)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.shape[0] != logits.shape[0]:
        raise ValueError(f"logits and labels must have the same length, got {logits.shape[0]} and "
                         f"{labels.shape[0]}")
    if logits.shape[0] == 0:
        raise ValueError("logits must not be empty")
    n_classes = check_int("number of classes (logits.shape[1])", logits.shape[1], minimum=2)
    if np.any((labels < 0) | (labels >= n_classes)):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got values from {labels.min()} "
                         f"to {labels.max()}")
    return logits, labels


def cross_entropy(logits, labels, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Multi-class cross-entropy -ln softmax(z)[y] from logits (N, K) and integer labels (N,);
    gradient softmax(z) - onehot(y). Matches torch's CrossEntropyLoss."""
    logits, labels = _check_logits_and_labels(logits, labels)
    log_p = log_softmax(logits)
    rows = np.arange(labels.shape[0])
    per_item = -log_p[rows, labels]
    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    return _reduce(per_item, grad, reduction)


#: Losses of a classifier's logits for two classes, by name (chapter 11 adds hinge here).
BINARY_LOSSES = {"cross_entropy": binary_cross_entropy, "square_error": sigmoid_square_error}


def one_weight_curves(weights, x: float = 1.0, y: float = 1.0) -> dict[str, dict[str, np.ndarray]]:
    """Loss and |gradient| of the one-weight model f = sigmoid(w x) on one example (x, y), for each
    of ``BINARY_LOSSES``, at every w in ``weights``: the data of the square-error vs cross-entropy
    figure."""
    weights = check_array("weights", weights, ndim=1, min_rows=1)
    curves = {}
    for name, loss in BINARY_LOSSES.items():
        values, grads = [], []
        for w in weights:
            value, grad_z = loss(np.array([w * x]), np.array([float(y)]))
            values.append(value)
            grads.append(grad_z[0] * x)  # dL/dw = dL/dz * x
        curves[name] = {"loss": np.array(values), "grad": np.array(grads)}
    return curves


# ---------------------------------------------------------------------- chapter 11: the loss family
# Absolute error, Huber and hinge losses, in the same (value, grad) shape as the losses above.
# At a kink the gradient follows torch's autograd: sign(0) = 0 for absolute error, and 0 for a
# hinge exactly at its margin.


def absolute_error(prediction, target, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """|prediction - target| (L1), summed over trailing axes, averaged or summed over items; for 1-D
    input "mean" equals torch's L1Loss. Gradient sign(prediction - target)."""
    prediction, target = _pair("prediction", prediction, "target", target)
    diff = prediction - target
    per_item = np.abs(diff).reshape(diff.shape[0], -1).sum(axis=1) if diff.ndim else np.abs(diff)
    return _reduce(per_item, np.sign(diff), reduction)


def huber(prediction, target, delta: float = 1.0,
          reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Huber loss: d^2 / 2 for |d| <= delta, delta (|d| - delta / 2) beyond (d = prediction -
    target); square near the target, absolute far from it. Equals torch's HuberLoss(delta) for 1-D
    "mean"."""
    prediction, target = _pair("prediction", prediction, "target", target)
    delta = check_float("delta", delta, minimum=0.0, min_inclusive=False)
    diff = prediction - target
    small = np.abs(diff) <= delta
    per = np.where(small, 0.5 * diff**2, delta * (np.abs(diff) - 0.5 * delta))
    per_item = per.reshape(diff.shape[0], -1).sum(axis=1) if diff.ndim else per
    return _reduce(per_item, np.where(small, diff, delta * np.sign(diff)), reduction)


def hinge(scores, target, margin: float = 1.0, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Binary hinge loss max(0, margin - y s) of scores s against labels y in {-1, +1} (the SVM's
    loss); gradient -y where the margin is violated (y s < margin), else 0."""
    scores, target = _pair("scores", scores, "target", target)
    margin = check_float("margin", margin, minimum=0.0)
    if not np.all(np.isin(target, (-1.0, 1.0))):
        raise ValueError("target must hold labels -1 and +1 for the hinge loss, got values "
                         f"{np.unique(target)[:5].tolist()}")
    slack = margin - target * scores
    per = np.maximum(slack, 0.0)
    per_item = per.reshape(per.shape[0], -1).sum(axis=1) if per.ndim else per
    return _reduce(per_item, np.where(slack > 0, -target, 0.0), reduction)


def multiclass_hinge(logits, labels, margin: float = 1.0,
                     reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Multi-class hinge (Weston-Watkins, as torch's MultiMarginLoss): for each item
    sum_{j != y} max(0, margin - z_y + z_j) / K, for logits (N, K) and integer labels (N,)."""
    logits, labels = _check_logits_and_labels(logits, labels)
    n_classes = logits.shape[1]
    margin = check_float("margin", margin, minimum=0.0)
    rows = np.arange(labels.shape[0])
    slack = margin - logits[rows, labels][:, None] + logits  # (N, K)
    slack[rows, labels] = 0.0  # the true class is not compared with itself
    active = (slack > 0).astype(np.float64)
    per_item = np.maximum(slack, 0.0).sum(axis=1) / n_classes
    grad = active / n_classes
    grad[rows, labels] = -active.sum(axis=1) / n_classes
    return _reduce(per_item, grad, reduction)


def loss_family_curves(residuals=None, margins=None, delta: float = 1.0) -> dict:
    """Each loss of chapter 11's family and its gradient, one point at a time: square, absolute
    and Huber error at each residual d = prediction - target (default -3..3), cross-entropy and
    hinge at each margin y z of a two-class score with y = +1 (default -3..3). Returns
    ``{"residuals": d, "margins": m, "regression": {name: {"loss", "grad"}},
    "classification": {...}}``, what ``plots.loss_family`` draws."""
    default = np.linspace(-3, 3, 241)
    d = default if residuals is None else check_array("residuals", residuals, ndim=1, min_rows=1)
    m = default if margins is None else check_array("margins", margins, ndim=1, min_rows=1)
    delta = check_float("delta", delta, minimum=0.0, min_inclusive=False)
    curves = {"residuals": d, "margins": m, "regression": {}, "classification": {}}
    regression = {
        "square": lambda p, t: square_error(p, t, reduction="sum"),
        "absolute": lambda p, t: absolute_error(p, t, reduction="sum"),
        f"Huber (delta={delta:g})": lambda p, t: huber(p, t, delta, reduction="sum"),
    }
    for name, value_of in regression.items():
        per_point = np.array([value_of(np.array([x]), np.array([0.0]))[0] for x in d])
        _, grad = value_of(d, np.zeros_like(d))
        curves["regression"][name] = {"loss": per_point, "grad": grad}
    # the margin y z with y = +1 is z: cross-entropy takes target 1
    classification = {
        "cross-entropy": lambda z, y: binary_cross_entropy(z, y, reduction="sum"),
        "hinge": lambda z, y: hinge(z, y, reduction="sum"),
    }
    for name, value_of in classification.items():
        per_point = np.array([value_of(np.array([z]), np.ones(1))[0] for z in m])
        _, grad = value_of(m, np.ones_like(m))
        curves["classification"][name] = {"loss": per_point, "grad": grad}
    return curves
