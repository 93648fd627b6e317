"""A small reverse-mode automatic differentiation engine (反向傳播, back-propagation) over numpy.

A ``Value`` holds a float64 array (a scalar is a 0-d array), the values it was computed from and
a function that pushes its gradient back to them by the chain rule. ``backward()`` sorts the
graph topologically and calls those functions from the output back to the inputs, so each node's
gradient is complete before it is passed on. Chapter 11 builds this in the open; the tests hold
it equal to ``torch.autograd``.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable

import numpy as np

from nlpcourse import activations, losses
from nlpcourse._checks import check_array, check_float, check_int

__all__ = [
    "Value", "as_value", "topological_order", "cross_entropy", "dropout", "parameters", "init_mlp",
    "mlp_forward",
]

ArrayLike = Any


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Value:
    """A node of the computational graph (計算圖): data, gradient, parents and a backward rule."""

    def __init__(self, data: ArrayLike, parents: tuple["Value", ...] = (), op: str = "",
                 name: str = ""):
        if isinstance(data, Value):
            raise TypeError("data must be a number or an array, got a Value (use it directly)")
        self.data = check_array("data", data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._parents = parents
        self._backward: Callable[[], None] = lambda: None
        self.op = op
        self.name = name

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"Value{label}(shape={self.data.shape}, op={self.op!r})"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    # ------------------------------------------------------------------ building blocks

    def _child(self, data: np.ndarray, parents: tuple["Value", ...], op: str) -> "Value":
        out = Value.__new__(Value)
        out.data = np.asarray(data, dtype=np.float64)
        out.grad = np.zeros_like(out.data)
        out._parents, out._backward, out.op, out.name = parents, (lambda: None), op, ""
        return out

    def __add__(self, other: ArrayLike) -> "Value":
        other = as_value(other)
        out = self._child(self.data + other.data, (self, other), "+")

        def backward() -> None:
            self.grad += _unbroadcast(out.grad, self.shape)
            other.grad += _unbroadcast(out.grad, other.shape)

        out._backward = backward
        return out

    def __mul__(self, other: ArrayLike) -> "Value":
        other = as_value(other)
        out = self._child(self.data * other.data, (self, other), "*")

        def backward() -> None:
            self.grad += _unbroadcast(out.grad * other.data, self.shape)
            other.grad += _unbroadcast(out.grad * self.data, other.shape)

        out._backward = backward
        return out

    def __pow__(self, exponent: float) -> "Value":
        if (isinstance(exponent, Value) or not isinstance(exponent, numbers.Real)
            or isinstance(exponent, bool)):
            raise TypeError("exponent must be a real number (a constant), got "
                            f"{type(exponent).__name__}")
        k = float(exponent)
        out = self._child(self.data**k, (self,), f"**{k:g}")

        def backward() -> None:
            self.grad += out.grad * k * self.data ** (k - 1)

        out._backward = backward
        return out

    def __matmul__(self, other: ArrayLike) -> "Value":
        other = as_value(other)
        if self.data.ndim != 2 or other.data.ndim != 2:
            raise ValueError(f"@ needs two matrices, got shapes {self.shape} and {other.shape}")
        if self.shape[1] != other.shape[0]:
            raise ValueError(f"@ needs matching inner sizes, got shapes {self.shape} and "
                             f"{other.shape}")
        out = self._child(self.data @ other.data, (self, other), "@")

        def backward() -> None:
            self.grad += out.grad @ other.data.T  # (N, M) @ (M, K) -> (N, K)
            other.grad += self.data.T @ out.grad  # (K, N) @ (N, M) -> (K, M)

        out._backward = backward
        return out

    def _unary(self, data: np.ndarray, local_grad: np.ndarray, op: str) -> "Value":
        """An elementwise function whose derivative at the input is ``local_grad``."""
        out = self._child(data, (self,), op)

        def backward() -> None:
            self.grad += out.grad * local_grad

        out._backward = backward
        return out

    def exp(self) -> "Value":
        e = np.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> "Value":
        if np.any(self.data <= 0):
            raise ValueError(f"log needs positive input, got a minimum of {self.data.min()}")
        return self._unary(np.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> "Value":
        return self._unary(activations.tanh(self.data), activations.tanh_grad(self.data), "tanh")

    def sigmoid(self) -> "Value":
        return self._unary(activations.sigmoid(self.data), activations.sigmoid_grad(self.data),
                           "sigmoid")

    def relu(self) -> "Value":
        return self._unary(activations.relu(self.data), activations.relu_grad(self.data), "relu")

    def sum(self, axis: int | None = None) -> "Value":
        out = self._child(self.data.sum(axis=axis), (self,), "sum")

        def backward() -> None:
            g = out.grad if axis is None else np.expand_dims(out.grad, axis)
            self.grad += np.broadcast_to(g, self.shape)

        out._backward = backward
        return out

    def mean(self, axis: int | None = None) -> "Value":
        count = self.data.size if axis is None else self.data.shape[axis]
        return self.sum(axis) * (1.0 / count)

    @property
    def T(self) -> "Value":
        out = self._child(self.data.T, (self,), "T")

        def backward() -> None:
            self.grad += out.grad.T

        out._backward = backward
        return out

    # ------------------------------------------------------------------ the rest of arithmetic

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other: ArrayLike) -> "Value":
        return self + (-as_value(other))

    def __truediv__(self, other: ArrayLike) -> "Value":
        return self * as_value(other) ** -1.0

    def __radd__(self, other: ArrayLike) -> "Value":
        return as_value(other) + self

    def __rsub__(self, other: ArrayLike) -> "Value":
        return as_value(other) - self

    def __rmul__(self, other: ArrayLike) -> "Value":
        return as_value(other) * self

    def __rtruediv__(self, other: ArrayLike) -> "Value":
        return as_value(other) / self

    def __rmatmul__(self, other: ArrayLike) -> "Value":
        return as_value(other) @ self

    # ------------------------------------------------------------------ backward pass

    def backward(self, grad: ArrayLike | None = None) -> None:
        """Fill ``.grad`` of every node this value depends on with d self / d node (accumulating).

        A scalar output is seeded with 1; a non-scalar output needs ``grad`` (its upstream
        gradient).
        """
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward from a non-scalar of shape {self.shape} needs a seed "
                                 "gradient grad of the same shape (d loss / d this value)")
            seed = np.ones_like(self.data)
        else:
            seed = check_array("grad", grad, dtype=np.float64)
            if seed.shape != self.shape:
                raise ValueError(f"grad must have the output's shape {self.shape}, got "
                                 f"{seed.shape}")
        order = topological_order(self)
        self.grad = self.grad + seed
        for node in reversed(order):  # the output first, the inputs last
            node._backward()

    def zero_grad(self) -> None:
        """Reset the gradient of this node and of every node it depends on to zero."""
        for node in topological_order(self):
            node.grad = np.zeros_like(node.data)


def as_value(x: ArrayLike) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding it."""
    return x if isinstance(x, Value) else Value(x)


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents (an iterative depth-first
    sort)."""
    order, seen = [], set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if id(p) not in seen)
    return order


# ----------------------------------------------------------------------- losses and layers as nodes


def cross_entropy(logits: Value, labels: ArrayLike) -> Value:
    """Mean multi-class cross-entropy of ``logits`` (N, K) against integer ``labels`` (N,), as one
    node whose local gradient is (softmax - onehot) / N (``nlpcourse.losses.cross_entropy``)."""
    logits = as_value(logits)
    value, grad = losses.cross_entropy(logits.data, labels)
    out = logits._child(np.array(value), (logits,), "cross_entropy")

    def backward() -> None:
        logits.grad += out.grad * grad

    out._backward = backward
    return out


def dropout(x: Value, p: float, rng: np.random.Generator | None = None, *, training: bool = True,
            mask: ArrayLike | None = None) -> Value:
    """Inverted dropout as torch does it: in training each unit is zeroed with probability ``p`` and
    the survivors are scaled by 1 / (1 - p), so the expected output equals the input; at test time
    it is the identity. ``mask`` (1 keep, 0 drop) replaces the random draw, e.g. to reuse
    torch's."""
    x = as_value(x)
    p = check_float("p", p, minimum=0.0, maximum=1.0, max_inclusive=False)
    if not training or p == 0.0:
        return x
    if mask is None:
        if rng is None:
            raise ValueError("dropout in training needs rng (a numpy Generator) or a mask")
        keep = (rng.random(x.shape) >= p).astype(np.float64)
    else:
        keep = check_array("mask", mask, dtype=np.float64)
        if keep.shape != x.shape or not np.all((keep == 0) | (keep == 1)):
            raise ValueError(f"mask must hold 0/1 of shape {x.shape}, got shape {keep.shape}")
    return x * (keep / (1.0 - p))


def parameters(*values: Value) -> list[Value]:
    """The given leaves as a list, checked to be Values (for an optimizer)."""
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"parameters[{i}] must be a Value, got {type(v).__name__}")
    return list(values)


# ------------------------------------------------------------------------ a small MLP on the engine


def _show_value(value) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def init_mlp(sizes: Iterable[int], rng: np.random.Generator, scale: str = "he") -> list[Value]:
    """Weights and biases [W1, b1, W2, b2, ...] of an MLP with layer ``sizes`` (inputs first):
    W_l (n_in, n_out) normal with variance 2 / n_in ("he") or 1 / n_in ("lecun"), biases zero."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError("sizes must be a list of layer sizes such as [2, 8, 1], got "
                        f"{_show_value(sizes)}")
    sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two positive layer sizes, got {sizes}")
    gain = {"he": 2.0, "lecun": 1.0}
    if scale not in gain:
        raise ValueError(f"scale must be 'he' or 'lecun', got {scale!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (np.random.default_rng(seed)), got "
                        f"{type(rng).__name__}")
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params.append(Value(rng.normal(0.0, np.sqrt(gain[scale] / n_in), (n_in, n_out)), name="W"))
        params.append(Value(np.zeros(n_out), name="b"))
    return params


def mlp_forward(params: list[Value], X: ArrayLike, activation: str = "relu", *, p_drop: float = 0.0,
                rng: np.random.Generator | None = None, training: bool = False) -> Value:
    """Logits of the MLP: hidden layers h = act(h W + b) (with dropout if ``p_drop``), a linear
    output."""
    if activation not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"activation must be 'relu', 'tanh' or 'sigmoid', got {activation!r}")
    if len(params) % 2 or not params:
        raise ValueError(f"params must be [W1, b1, W2, b2, ...], got {len(params)} entries")
    p_drop = check_float("p_drop", p_drop, minimum=0.0, maximum=1.0, max_inclusive=False)
    h = X if isinstance(X, Value) else Value(check_array("X", X, ndim=2, min_rows=1))  # (N, D)
    for layer in range(0, len(params), 2):
        W, b = params[layer], params[layer + 1]
        h = h @ W + b  # (N, n_out)
        if layer + 2 < len(params):
            h = getattr(h, activation)()
            if p_drop:
                h = dropout(h, p_drop, rng, training=training)
    return h
