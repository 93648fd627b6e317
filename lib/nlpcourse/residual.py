"""Deep stacks of plain, residual and highway blocks, and what to measure on them.

A plain block computes ``y = f(W x + b)``. A residual block adds a skip connection,
``y = f(W x + b) + Q x`` with ``Q`` the identity or a fixed random orthogonal matrix
(Orhan & Pitkow 2018), so its Jacobian is ``Q + dF/dx``: with ``Q = I`` that is the notes'
``1 + dF/dx``. A highway block gates the two paths, ``y = H(x) T(x) + x (1 - T(x))``.

The helpers return per-layer gradient norms and the singular values / effective rank of the
hidden representations. Headless: this module never imports matplotlib or ipywidgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from nlpcourse._checks import (check_array, check_choice, check_float, check_instance, check_int,
                               check_same_length)
from nlpcourse._tensor_checks import check_tensor
from nlpcourse._training import shuffled_epoch

__all__ = [
    "BLOCKS", "SKIPS", "ACTIVATIONS", "random_orthogonal", "PlainBlock", "ResidualBlock",
    "HighwayBlock", "StackConfig", "DeepStack", "build_stack", "layer_gradient_norms",
    "gradient_ratio", "gradient_norms_by_depth", "History", "evaluate", "train", "singular_values",
    "effective_rank", "hidden_spectra", "effective_ranks",
    "INITS", "DEGENERATE_WEIGHTS", "degenerate_weight", "numerical_rank", "unit_redundancy",
    "singular_layer",
]

BLOCKS = ("plain", "residual", "highway")
INITS = ("default", "he")
SKIPS = ("identity", "orthogonal")
ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _activation(name: str):
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def random_orthogonal(n: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random n x n orthogonal matrix, uniform (Haar) over the orthogonal group, from ``seed``."""
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    # QR's sign convention is arbitrary; fixing diag(r) > 0 makes Q Haar-distributed.
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q.to(dtype)


def _check_block_input(x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
    """x must be (batch, width) in the block's dtype: a block reads the previous block's output."""
    return check_tensor("x", x, shape=("batch", linear.in_features), dtype=linear.weight.dtype)


class PlainBlock(nn.Module):
    """y = f(W x + b): one layer of an ordinary deep network (``batch_norm=True``: y = f(BN(W x +
    b)))."""

    def __init__(self, width: int, activation: str = "tanh", *, batch_norm: bool = False):
        super().__init__()
        width = check_int("width", width, minimum=1)
        self.activation = activation
        self._f = _activation(activation)
        self.linear = nn.Linear(width, width)
        self.norm = (nn.BatchNorm1d(width) if check_instance("batch_norm", batch_norm, bool)
                     else None)

    @property
    def main_weight(self) -> nn.Parameter:
        return self.linear.weight

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)  # (B, width)
        return self._f(z if self.norm is None else self.norm(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(_check_block_input(x, self.linear))


class ResidualBlock(PlainBlock):
    """y = f(W x + b) + Q x, with Q the identity or a fixed (not trained) random orthogonal matrix.

    ``zero_init=True`` starts the branch at W = 0, b = 0, so for an activation with f(0) = 0
    the block begins as the skip alone (y = x for the identity skip).
    """

    def __init__(self, width: int, activation: str = "tanh", skip: str = "identity", *,
                 seed: int = 0, zero_init: bool = False):
        super().__init__(width, activation)
        self.skip = check_choice("skip", skip, SKIPS)
        if skip == "orthogonal":
            # kept in float64 (cast per call) so a model converted with .double() stays exact
            self.register_buffer("skip_matrix", random_orthogonal(width, seed, torch.float64))
        else:
            self.skip_matrix = None
        if zero_init:
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.skip_matrix is None:
            return x
        return x @ self.skip_matrix.to(x.dtype).T  # (B, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_block_input(x, self.linear)
        return self.branch(x) + self.shortcut(x)


class HighwayBlock(nn.Module):
    """y = H(x) T(x) + x (1 - T(x)), with H(x) = f(W_H x + b_H) and the gate T(x) = sigmoid(W_T x +
    b_T).

    ``gate_bias`` starts b_T negative so that the block begins mostly carrying x through
    (Srivastava et al. 2015); T = 0 gives y = x, T = 1 gives y = H(x).
    """

    def __init__(self, width: int, activation: str = "tanh", *, gate_bias: float = -3.0):
        super().__init__()
        width = check_int("width", width, minimum=1)
        gate_bias = check_float("gate_bias", gate_bias)
        self.activation = activation
        self._f = _activation(activation)
        self.transform = nn.Linear(width, width)
        self.gate = nn.Linear(width, width)
        nn.init.constant_(self.gate.bias, gate_bias)

    @property
    def main_weight(self) -> nn.Parameter:
        return self.transform.weight

    def gate_values(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.gate(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_block_input(x, self.transform)
        h = self._f(self.transform(x))
        t = self.gate_values(x)
        return h * t + x * (1 - t)


@dataclass
class StackConfig:
    """The shape of a deep classifier: input layer, ``depth`` blocks of ``width`` units, output
    layer."""

    depth: int = 16
    width: int = 64
    in_features: int = 64
    n_classes: int = 10
    block: str = "plain"
    activation: str = "tanh"
    skip: str = "identity"
    gate_bias: float = -3.0
    zero_init: bool = False
    seed: int = 0
    init: str = "default"
    batch_norm: bool = False

    def __post_init__(self):
        self.depth = check_int("depth", self.depth, minimum=1)
        self.width = check_int("width", self.width, minimum=1)
        self.in_features = check_int("in_features", self.in_features, minimum=1)
        self.n_classes = check_int("n_classes", self.n_classes, minimum=2)
        check_choice("block", self.block, BLOCKS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("skip", self.skip, SKIPS)
        self.gate_bias = check_float("gate_bias", self.gate_bias)
        self.seed = check_int("seed", self.seed, minimum=0)
        check_choice("init", self.init, INITS)
        if check_instance("batch_norm", self.batch_norm, bool) and self.block != "plain":
            raise ValueError("batch_norm=True needs block='plain' (the earlier remedy), got "
                             f"block={self.block!r}")


class DeepStack(nn.Module):
    """Input layer -> ``depth`` blocks -> linear read-out, for classifying feature vectors."""

    def __init__(self, config: StackConfig):
        super().__init__()
        if not isinstance(config, StackConfig):
            raise TypeError(f"config must be a StackConfig, got {type(config).__name__}")
        self.config = c = config
        # Build under a private RNG state so the same seed gives the same weights anywhere.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.embed = nn.Linear(c.in_features, c.width)
            self._f = _activation(c.activation)
            blocks = []
            for i in range(c.depth):
                if c.block == "plain":
                    blocks.append(PlainBlock(c.width, c.activation, batch_norm=c.batch_norm))
                elif c.block == "residual":
                    blocks.append(ResidualBlock(c.width, c.activation, c.skip,
                                                seed=c.seed * 10_007 + i,
                                                zero_init=c.zero_init))
                else:
                    blocks.append(HighwayBlock(c.width, c.activation, gate_bias=c.gate_bias))
            self.blocks = nn.ModuleList(blocks)
            self.head = nn.Linear(c.width, c.n_classes)
            if c.init == "he":
                # He et al. 2015: W ~ N(0, 2 / fan_in), b = 0, input layer and block transforms
                for linear in [self.embed] + [getattr(b, "linear", None) or b.transform
                                              for b in self.blocks]:
                    nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
                    nn.init.zeros_(linear.bias)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        return check_tensor("x", x, shape=("batch", self.config.in_features),
                            dtype=self.embed.weight.dtype)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every block, first block first: ``depth`` tensors of shape (B, width)."""
        h = self._f(self.embed(self._check_input(x)))  # (B, width)
        outputs = []
        for block in self.blocks:
            h = block(h)
            outputs.append(h)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x)[-1])  # (B, n_classes)


def build_stack(depth: int = 16, block: str = "plain", *, width: int = 64, in_features: int = 64,
                n_classes: int = 10, activation: str = "tanh", skip: str = "identity",
                gate_bias: float = -3.0, zero_init: bool = False, seed: int = 0,
                init: str = "default",
                batch_norm: bool = False) -> DeepStack:
    """A ``DeepStack`` from keyword arguments (see ``StackConfig``)."""
    return DeepStack(StackConfig(depth=depth, width=width, in_features=in_features,
                                 n_classes=n_classes,
                                 block=block, activation=activation, skip=skip, gate_bias=gate_bias,
                                 zero_init=zero_init, seed=seed, init=init, batch_norm=batch_norm))


# --------------------------------------------------------------------------- inputs

def _as_batch(model: DeepStack, X, y=None,
              names: tuple[str, str] = ("X", "y")) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check X (and labels y) against the model and return them as tensors."""
    if not isinstance(model, DeepStack):
        raise TypeError(f"model must be a DeepStack, got {type(model).__name__}")
    X = check_array(names[0], X, ndim=2, min_rows=1)
    if X.shape[1] != model.config.in_features:
        raise ValueError(f"{names[0]} must have shape (n, {model.config.in_features}), got "
                         f"{X.shape}")
    dtype = model.head.weight.dtype
    X_t = torch.as_tensor(X, dtype=dtype)
    if y is None:
        return X_t, None
    y = check_array(names[1], y, ndim=1, dtype=None)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{names[1]} must hold integer class labels, got dtype {y.dtype}")
    check_same_length(names[0], X, names[1], y)
    if y.min() < 0 or y.max() >= model.config.n_classes:
        raise ValueError(f"{names[1]} must hold labels in [0, {model.config.n_classes - 1}], got "
                         f"{y.min()}..{y.max()}")
    return X_t, torch.as_tensor(y, dtype=torch.long)


# --------------------------------------------------------------------------- gradients

def layer_gradient_norms(model: DeepStack, X, y, *, of: str = "weights") -> np.ndarray:
    """Per-block gradient norm of the mean cross-entropy on (X, y), first block first.

    ``of="weights"`` gives ||dL/dW|| of each block's main weight matrix; ``of="activations"``
    gives ||dL/dh|| of each block's output (the signal back-propagation carries). The model's
    own ``.grad`` fields are left untouched.
    """
    check_choice("of", of, ("weights", "activations"))
    X_t, y_t = _as_batch(model, X, y)
    hidden = model.hidden(X_t)
    loss = nn.functional.cross_entropy(model.head(hidden[-1]), y_t)
    targets = [b.main_weight for b in model.blocks] if of == "weights" else hidden
    grads = torch.autograd.grad(loss, targets)
    return np.array([g.norm().item() for g in grads])


def gradient_ratio(norms: Sequence[float]) -> float:
    """First-block over last-block gradient norm: << 1 vanishing, >> 1 exploding, ~1 healthy."""
    norms = check_array("norms", norms, ndim=1, min_rows=1)
    if norms[-1] == 0:
        raise ValueError("norms[-1] must be non-zero to form a ratio, got 0")
    return float(norms[0] / norms[-1])


def gradient_norms_by_depth(X, y, depths: Sequence[int],
                            blocks: Sequence[str] = ("plain", "residual"),
                            **stack_options) -> dict[int, dict[str, np.ndarray]]:
    """Per-layer weight-gradient norms at initialisation for each depth and block type.

    Returns ``{depth: {block: norms}}``; the precomputed table behind the depth slider.
    """
    if len(depths) == 0:
        raise ValueError("depths must name at least one depth, got an empty sequence")
    result = {}
    for depth in depths:
        depth = check_int("depth", depth, minimum=1)
        result[depth] = {block: layer_gradient_norms(build_stack(depth, block, **stack_options),
                                                     X, y)
                         for block in blocks}
    return result


# --------------------------------------------------------------------------- training

@dataclass
class History:
    """What a training run reached, one entry per epoch (entry 0 is before training).

    ``train_loss`` after epoch k is the mean of that epoch's mini-batch losses (free to
    compute, as in most training loops); entry 0 is the full training loss at initialisation.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


@torch.no_grad()
def evaluate(model: DeepStack, X, y) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on (X, y)."""
    X_t, y_t = _as_batch(model, X, y)
    was_training = model.training
    model.eval()  # batch norm uses its running statistics at test time
    logits = model(X_t)
    model.train(was_training)
    loss = nn.functional.cross_entropy(logits, y_t).item()
    accuracy = (logits.argmax(dim=1) == y_t).sum().item() / len(y_t)
    return loss, accuracy


def train(model: DeepStack, X_train, y_train, X_val, y_val, *, epochs: int = 10, lr: float = 0.05,
          momentum: float = 0.9, batch_size: int = 64, seed: int = 0) -> History:
    """Mini-batch SGD (with momentum) on cross-entropy; returns the per-epoch history.

    Plain SGD on purpose: an adaptive optimiser such as Adam rescales each weight's step and
    would hide the vanishing gradients this chapter is about.
    """
    epochs = check_int("epochs", epochs, minimum=0)
    lr = check_float("lr", lr, minimum=0, min_inclusive=False)
    momentum = check_float("momentum", momentum, minimum=0, maximum=1, max_inclusive=False)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    X_t, y_t = _as_batch(model, X_train, y_train, ("X_train", "y_train"))
    _as_batch(model, X_val, y_val, ("X_val", "y_val"))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    history = History()

    def record(train_loss: float):
        history.train_loss.append(train_loss)
        loss, accuracy = evaluate(model, X_val, y_val)
        history.val_loss.append(loss)
        history.val_accuracy.append(accuracy)

    record(evaluate(model, X_train, y_train)[0])
    for _epoch in range(epochs):
        record(shuffled_epoch(model, X_t, y_t, nn.functional.cross_entropy, optimizer, batch_size,
                              generator))
    return history


# --------------------------------------------------------------------------- degeneration

def singular_values(H, *, center: bool = False) -> np.ndarray:
    """Singular values (largest first) of a representation matrix H (n samples x width).

    Uncentred by default: a layer that maps every sample to the same vector then has rank 1.
    (Centring such a layer leaves only float rounding noise, whose spectrum looks full-rank.)
    """
    if isinstance(H, torch.Tensor):
        H = H.detach().cpu().numpy()
    H = check_array("H", H, ndim=2, min_rows=1).astype(np.float64)
    if center:
        H = H - H.mean(axis=0, keepdims=True)
    return np.linalg.svd(H, compute_uv=False)


def effective_rank(values) -> float:
    """Roy & Vetterli's effective rank exp(entropy(s / sum s)) of singular values ``values``.

    Equals k for k equal non-zero values, 1 for a rank-one matrix; defined as 0 for all zeros.
    """
    s = check_array("values", values, ndim=1, min_rows=1)
    if np.any(s < 0):
        raise ValueError("values must be singular values (>= 0), got a negative entry")
    if s.max() == 0:
        return 0.0
    s = s / s.max()  # rescale first so tiny values do not underflow in s / sum(s)
    p = s[s > 0] / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


@torch.no_grad()
def hidden_spectra(model: DeepStack, X, *, center: bool = False) -> list[np.ndarray]:
    """Singular values of every block's output on X, first block first."""
    X_t, _ = _as_batch(model, X)
    return [singular_values(h, center=center) for h in model.hidden(X_t)]


def effective_ranks(model: DeepStack, X, *, center: bool = False) -> np.ndarray:
    """Effective rank of every block's output on X, first block first."""
    return np.array([effective_rank(s) for s in hidden_spectra(model, X, center=center)])


# ------------------------------------------------------------------------ the notes' singular cases

DEGENERATE_WEIGHTS = ("zero", "tied", "random")


def degenerate_weight(kind: str, width: int, *, seed: int = 0) -> torch.Tensor:
    """A (width, width) float64 weight matrix of one of the notes' singular cases.

    ``"zero"``: W = 0 (the notes' figure a); ``"tied"``: every row the same random row, so all
    units compute the same function (figure b, symmetric weights); ``"random"``: torch's default
    ``nn.Linear`` initialisation, for contrast.
    """
    check_choice("kind", kind, DEGENERATE_WEIGHTS)
    width = check_int("width", width, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / np.sqrt(width)  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    draw = (torch.rand(width, width, generator=generator, dtype=torch.float64) * 2 - 1) * bound
    if kind == "zero":
        return torch.zeros(width, width, dtype=torch.float64)
    if kind == "tied":
        return draw[:1].expand(width, width).clone()  # (width, width), all rows equal
    return draw


def numerical_rank(M, *, rtol: float = 1e-8) -> int:
    """Rank of a matrix: the number of singular values above ``rtol`` times the largest (0 if all
    zero)."""
    s = singular_values(M)
    rtol = check_float("rtol", rtol, minimum=0, min_inclusive=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int((s > rtol * s[0]).sum())


def unit_redundancy(H, *, atol: float = 1e-9) -> tuple[float, float]:
    """(dead share, duplicate share) of the units (columns) of H, n samples x units.

    A dead unit gives the same value for every sample (it never responds to the input); a
    duplicate unit is a live unit whose column equals an earlier live unit's within ``atol``.
    """
    if isinstance(H, torch.Tensor):
        H = H.detach().cpu().numpy()
    H = check_array("H", H, ndim=2, min_rows=1).astype(np.float64)
    atol = check_float("atol", atol, minimum=0)
    dead = np.ptp(H, axis=0) <= atol  # (units,)
    duplicate = np.zeros_like(dead)
    live = np.flatnonzero(~dead)
    for k, j in enumerate(live):
        duplicate[j] = any(np.max(np.abs(H[:, j] - H[:, i])) <= atol for i in live[:k])
    return float(dead.mean()), float(duplicate.mean())


def singular_layer(X, W, b=None, *, skip: bool = False,
                   activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """One layer y = f(x W^T + b) (+ x with ``skip=True``) on the samples X (n x width).

    Returns (Y, J): the outputs (n x width) and the Jacobian dy/dx at the first sample
    (width x width), in float64.
    """
    X = torch.as_tensor(check_array("X", X, ndim=2, min_rows=1), dtype=torch.float64)
    W = check_tensor("W", torch.as_tensor(W), shape=(X.shape[1], X.shape[1])).to(torch.float64)
    b = torch.zeros(X.shape[1], dtype=torch.float64) if b is None else \
        check_tensor("b", torch.as_tensor(b), shape=(X.shape[1],)).to(torch.float64)
    check_instance("skip", skip, bool)
    f = _activation(activation)

    def layer(x: torch.Tensor) -> torch.Tensor:
        return f(x @ W.T + b) + (x if skip else 0)

    J = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0], X[0])
    return layer(X).numpy(), J.numpy()
