"""Activation functions (激活函數) and their derivatives, in float64 numpy, stable for any finite input.

Each ``f`` has a ``f_grad`` giving df/dx elementwise; at a kink (x = 0) the derivative follows
torch's autograd convention (ReLU: 0, leaky/parametric ReLU: the negative slope, ELU/SELU: the
left-hand value). ``softmax`` takes a temperature and also accepts a torch tensor (chapter 09's
GPT samples with it). Inputs must be finite (softmax also allows -inf, a masked logit).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nlpcourse._checks import check_array, check_float, check_int

__all__ = [
    "SELU_LAMBDA", "SELU_ALPHA", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu",
    "relu_grad", "leaky_relu", "leaky_relu_grad", "prelu", "prelu_grad", "prelu_grad_a", "elu",
    "elu_grad", "selu", "selu_grad", "softplus", "softplus_grad", "gelu", "gelu_grad", "softmax",
    "softmax_jacobian", "entropy", "ACTIVATIONS", "max_entropy_distribution",
    "softmax_multiplier_for_mean",
]

#: SELU's constants from Klambauer et al. (2017), "Self-Normalizing Neural Networks".
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def _as_input(x: Any) -> np.ndarray:
    return check_array("x", x, dtype=np.float64)


# --------------------------------------------------------------------------- sigmoid, tanh

def sigmoid(x: Any) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-x)), computed without overflow for any finite x."""
    x = _as_input(x)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])  # exp of a negative number never overflows
    out[~positive] = e / (1.0 + e)
    return out


def sigmoid_grad(x: Any) -> np.ndarray:
    """sigmoid'(x) = f(1 - f); written f(x) f(-x), which keeps full precision where f is near 1."""
    x = _as_input(x)
    return sigmoid(x) * sigmoid(-x)


def tanh(x: Any) -> np.ndarray:
    """Hyperbolic tangent (e^x - e^-x) / (e^x + e^-x), which equals 2 sigmoid(2x) - 1."""
    return np.tanh(_as_input(x))


def tanh_grad(x: Any) -> np.ndarray:
    """tanh'(x) = 1 - tanh(x)^2."""
    t = np.tanh(_as_input(x))
    return 1.0 - t * t


# --------------------------------------------------------------------------- the ReLU family

def relu(x: Any) -> np.ndarray:
    """Rectified linear unit max(0, x)."""
    return np.maximum(_as_input(x), 0.0)


def relu_grad(x: Any) -> np.ndarray:
    """1 where x > 0, else 0 (0 at x = 0, as torch)."""
    return (_as_input(x) > 0).astype(np.float64)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> np.ndarray:
    """x for x > 0, ``negative_slope`` * x otherwise."""
    x = _as_input(x)
    slope = check_float("negative_slope", negative_slope)
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x: Any, negative_slope: float = 0.01) -> np.ndarray:
    """1 where x > 0, else ``negative_slope``."""
    x = _as_input(x)
    slope = check_float("negative_slope", negative_slope)
    return np.where(x > 0, 1.0, slope)


def prelu(x: Any, a: Any = 0.25) -> np.ndarray:
    """Parametric ReLU: like leaky ReLU, but the slope ``a`` is learned (a scalar or one per
    last-axis feature)."""
    x = _as_input(x)
    a = check_array("a", a, dtype=np.float64)
    return np.where(x > 0, x, a * x)


def prelu_grad(x: Any, a: Any = 0.25) -> np.ndarray:
    """d prelu / dx: 1 where x > 0, else ``a``."""
    x = _as_input(x)
    a = check_array("a", a, dtype=np.float64)
    return np.where(x > 0, 1.0, a * np.ones_like(x))


def prelu_grad_a(x: Any) -> np.ndarray:
    """d prelu / da elementwise: 0 where x > 0, else x (sum over positions that share an ``a``)."""
    x = _as_input(x)
    return np.where(x > 0, 0.0, x)


def elu(x: Any, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise (saturates at -alpha)."""
    x = _as_input(x)
    alpha = check_float("alpha", alpha, minimum=0.0)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: Any, alpha: float = 1.0) -> np.ndarray:
    """1 where x > 0, alpha e^x otherwise."""
    x = _as_input(x)
    alpha = check_float("alpha", alpha, minimum=0.0)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def selu(x: Any) -> np.ndarray:
    """Scaled ELU, lambda * elu(x, alpha) with the paper's constants: keeps mean 0 and variance
    1."""
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def selu_grad(x: Any) -> np.ndarray:
    """lambda where x > 0, lambda alpha e^x otherwise."""
    return SELU_LAMBDA * elu_grad(x, SELU_ALPHA)


def softplus(x: Any, beta: float = 1.0) -> np.ndarray:
    """Smooth ReLU log(1 + e^(beta x)) / beta, computed as max(x, 0) + log1p(e^-|beta x|) / beta."""
    x = _as_input(x)
    beta = check_float("beta", beta, minimum=0.0, min_inclusive=False)
    bx = beta * x
    return (np.maximum(bx, 0.0) + np.log1p(np.exp(-np.abs(bx)))) / beta


def softplus_grad(x: Any, beta: float = 1.0) -> np.ndarray:
    """softplus'(x) = sigmoid(beta x)."""
    beta = check_float("beta", beta, minimum=0.0, min_inclusive=False)
    return sigmoid(beta * _as_input(x))


def gelu(x: Any) -> np.ndarray:
    """Gaussian error linear unit x * Phi(x) (Hendrycks & Gimpel 2016), Phi the standard normal CDF.

    The exact form, as ``torch.nn.functional.gelu`` by default and as BERT and GPT in chapter 09 use
    it.
    """
    from scipy.special import ndtr

    x = _as_input(x)
    return x * ndtr(x)


def gelu_grad(x: Any) -> np.ndarray:
    """Phi(x) + x phi(x), phi the standard normal density."""
    from scipy.special import ndtr

    x = _as_input(x)
    return ndtr(x) + x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


# --------------------------------------------------------------------------- softmax

def _softmax_torch(x: Any, temperature: float, axis: int) -> Any:
    import torch

    if x.ndim == 0:
        raise ValueError(f"x must have at least 1 dimension, got shape {tuple(x.shape)}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim - 1}] for x of shape "
                         f"{tuple(x.shape)}, got {axis}")
    if torch.isnan(x).any() or (x == float("inf")).any():
        raise ValueError("x must not contain NaN or +inf (-inf marks a masked entry)")
    z = x / temperature
    if (~torch.isfinite(z) & torch.isfinite(x)).any():  # a tiny temperature: shift, then divide
        shifted = x - x.amax(dim=axis, keepdim=True)
        z = torch.where(shifted == 0, torch.zeros_like(shifted), shifted / temperature)
    top = z.amax(dim=axis, keepdim=True)
    if torch.isneginf(top).any():
        raise ValueError("x has a slice where every entry along axis is -inf; softmax is undefined "
                         "there")
    # shift invariance: subtracting the max changes nothing but avoids overflow
    e = torch.exp(z - top)
    return e / e.sum(dim=axis, keepdim=True)


def softmax(x: Any, temperature: float = 1.0, axis: int = -1) -> Any:
    """exp(x / T) normalised to sum 1 along ``axis``; T < 1 sharpens, T > 1 flattens.

    Shift invariant and stable (the max is subtracted first). A torch tensor in gives a tensor
    out (differentiable); anything else gives a float64 numpy array. -inf entries get probability 0.
    """
    temperature = check_float("temperature", temperature, minimum=0.0, min_inclusive=False)
    axis = check_int("axis", axis)
    if type(x).__module__.startswith("torch"):
        return _softmax_torch(x, temperature, axis)
    x = check_array("x", x, dtype=np.float64, finite=False)
    if x.ndim == 0:
        raise ValueError(f"x must have at least 1 dimension, got shape {x.shape}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim - 1}] for x of shape {x.shape}, got "
                         f"{axis}")
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ValueError("x must not contain NaN or +inf (-inf marks a masked entry)")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = x / temperature
    if (~np.isfinite(z) & np.isfinite(x)).any():  # a tiny temperature: shift, then divide
        shifted = x - x.max(axis=axis, keepdims=True)
        with np.errstate(over="ignore", divide="ignore"):
            z = np.where(shifted == 0, 0.0, shifted / temperature)
    top = z.max(axis=axis, keepdims=True)
    if np.isneginf(top).any():
        raise ValueError("x has a slice where every entry along axis is -inf; softmax is undefined "
                         "there")
    e = np.exp(z - top)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_jacobian(x: Any, temperature: float = 1.0) -> np.ndarray:
    """d softmax(x / T)_i / d x_j for a 1-D x: (diag(p) - p p^T) / T, shape (n, n)."""
    x = check_array("x", x, ndim=1, dtype=np.float64)
    temperature = check_float("temperature", temperature, minimum=0.0, min_inclusive=False)
    p = softmax(x, temperature)
    return (np.diag(p) - np.outer(p, p)) / temperature


def entropy(p: Any, axis: int = -1) -> np.ndarray:
    """Shannon entropy -sum p log p in nats along ``axis`` (0 log 0 counts as 0)."""
    p = check_array("p", p, dtype=np.float64)
    axis = check_int("axis", axis, minimum=-max(p.ndim, 1), maximum=max(p.ndim, 1) - 1)
    if (p < 0).any():
        raise ValueError("p must be a probability vector (no negative entries)")
    logs = np.log(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=axis)


# ---------------------------------------------------------------------- a registry for the explorer

#: name -> (function, derivative), each taking only ``x`` (default parameters), for the explorer
#: widget.
ACTIVATIONS: dict[str, tuple[Callable[[Any], np.ndarray], Callable[[Any], np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "ReLU": (relu, relu_grad),
    "leaky ReLU (0.1)": (lambda x: leaky_relu(x, 0.1), lambda x: leaky_relu_grad(x, 0.1)),
    "PReLU (a=0.25)": (prelu, prelu_grad),
    "ELU": (elu, elu_grad),
    "SELU": (selu, selu_grad),
    "softplus": (softplus, softplus_grad),
    "GELU": (gelu, gelu_grad),
}


# ----------------------------------------------------------------- softmax as maximum entropy (最大熵)

def _scores_and_mean(scores: Any, mean: Any) -> tuple[np.ndarray, float]:
    s = check_array("scores", scores, ndim=1, dtype=np.float64)
    if s.size < 2 or s.max() == s.min():
        raise ValueError(f"scores must hold at least two different values, got {s.tolist()}")
    mean = check_float("mean", mean)
    if not s.min() < mean < s.max():
        raise ValueError(f"mean must lie strictly between min(scores) = {s.min():g} and "
                         f"max(scores) = {s.max():g} (no distribution with full support has "
                         f"another expected score), got {mean:g}")
    return s, mean


def max_entropy_distribution(scores: Any, mean: float) -> np.ndarray:
    """The distribution p over len(scores) classes with the largest entropy -sum p log p among
    those with sum p = 1, p >= 0 and expected score sum p_k s_k = ``mean``, found by a general
    constrained optimiser (scipy's SLSQP), with no exponential in sight."""
    from scipy.optimize import minimize

    s, mean = _scores_and_mean(scores, mean)
    n = s.size
    eps = 1e-300  # log of an exact 0 is -inf; p log p -> 0 there anyway

    def negative_entropy(p):
        return float(np.sum(p * np.log(np.maximum(p, eps))))

    def gradient(p):
        return np.log(np.maximum(p, eps)) + 1.0

    constraints = [{"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones(n)},
                   {"type": "eq", "fun": lambda p: p @ s - mean, "jac": lambda p: s}]
    result = minimize(negative_entropy, np.full(n, 1.0 / n), jac=gradient, method="SLSQP",
                      bounds=[(0.0, 1.0)] * n, constraints=constraints,
                      options={"ftol": 1e-14, "maxiter": 500})
    if not result.success:  # pragma: no cover - SLSQP converges on every well-posed case we test
        raise RuntimeError(f"SLSQP did not converge: {result.message}")
    p = np.clip(result.x, 0.0, None)
    return p / p.sum()


def softmax_multiplier_for_mean(scores: Any, mean: float) -> float:
    """The lambda for which softmax(lambda * scores) has expected score ``mean`` (the Lagrange
    multiplier of the maximum-entropy problem; lambda = 1 / temperature). Found by bisection:
    the expected score rises strictly with lambda."""
    from scipy.optimize import brentq

    s, mean = _scores_and_mean(scores, mean)

    def gap(lam):
        return float(softmax(lam * s) @ s) - mean

    low, high = -1.0, 1.0
    while gap(low) > 0:
        low *= 2.0
    while gap(high) < 0:
        high *= 2.0
    return float(brentq(gap, low, high, xtol=1e-14, rtol=1e-14))
