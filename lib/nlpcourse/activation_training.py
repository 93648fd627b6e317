"""Small torch networks that put chapter 04's claims about activation functions (激活函數) to a test.

The same multi-layer perceptron with a chosen activation, trained with plain SGD while the
full training loss is recorded (does ReLU train faster than sigmoid?); a ReLU whose derivative
at exactly 0 can be set and which counts the exact zeros it meets (does the kink matter?); and
a one-hidden-layer fit of a 1-D curve (universal approximation, 近似逼近).
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nlpcourse._checks import check_choice, check_float, check_int
from nlpcourse._tensor_checks import check_tensor

__all__ = [
    "ACTIVATION_MODULES", "mlp", "loss_curve", "KinkReLU", "exact_zero_fraction",
    "one_hidden_layer_fit",
]

#: name -> torch module class, for the networks of this module (the names chapter 04 prints).
ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "softplus": nn.Softplus, "ReLU": nn.ReLU,
    "SELU": nn.SELU,
}


def _activation(activation: Any) -> nn.Module:
    if isinstance(activation, nn.Module):
        return activation
    name = check_choice("activation", activation, list(ACTIVATION_MODULES))
    return ACTIVATION_MODULES[name]()


def mlp(sizes: Sequence[int], activation: Any = "ReLU", *, seed: int = 0,
        init: str = "torch") -> nn.Sequential:
    """Linear layers of the given ``sizes`` with ``activation`` between them (none after the last).

    ``activation`` is a name of ``ACTIVATION_MODULES`` or a module instance (used between every
    pair of layers). The weights depend only on ``sizes``, ``seed`` and ``init``, not on the
    activation, so networks that differ only in it start from the same point. ``init`` is
    "torch" (nn.Linear's default), "lecun" (normal with variance 1 / fan_in, zero bias: what
    SELU's self-normalisation assumes) or "he" (variance 2 / fan_in, zero bias: He/MSRA, for ReLU).
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer widths, got {type(sizes).__name__}")
    sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    seed = check_int("seed", seed, minimum=0)
    init = check_choice("init", init, ["torch", "lecun", "he"])
    template = _activation(activation)
    generator = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            if init == "torch":
                # nn.Linear's own rule, drawn from our generator: U(-1/sqrt(n_in), 1/sqrt(n_in))
                # bias, and kaiming_uniform(a=sqrt(5)) weights, which is the same bound
                bound = 1.0 / np.sqrt(n_in)
                linear.weight.uniform_(-bound, bound, generator=generator)
                linear.bias.uniform_(-bound, bound, generator=generator)
            else:
                gain = 1.0 if init == "lecun" else 2.0
                linear.weight.normal_(0.0, float(np.sqrt(gain / n_in)), generator=generator)
                linear.bias.zero_()
        layers.append(linear)
        if i < len(sizes) - 2:
            # one module per layer (a PReLU's slope is its own)
            layers.append(copy.deepcopy(template))
    return nn.Sequential(*layers)


def _check_data(X: Any, y: Any) -> tuple[Tensor, Tensor]:
    X = check_tensor("X", X, shape=(None, None), floating=True)
    y = check_tensor("y", y, shape=(None,))
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    return X, y


def loss_curve(model: nn.Module, X: Any, y: Any, *, steps: int, lr: float = 0.1,
               batch_size: int = 64,
               seed: int = 0, every: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Train ``model`` in place with plain SGD on cross-entropy; return (step, full training loss).

    The loss over all of ``X`` is recorded before the first step and after every ``every`` steps
    (and after the last), so curves are smooth and comparable between models; mini-batches are
    drawn by shuffling with ``seed``, the same for every model.
    """
    X, y = _check_data(X, y)
    steps = check_int("steps", steps, minimum=0)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    every = check_int("every", every, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    def full_loss() -> float:
        with torch.no_grad():
            return float(loss_fn(model(X), y))

    recorded_steps, losses = [0], [full_loss()]
    order = torch.randperm(len(X), generator=generator)
    position = 0
    for step in range(1, steps + 1):
        if position + batch_size > len(X):  # a new epoch: reshuffle, drop the short remainder
            order, position = torch.randperm(len(X), generator=generator), 0
        batch = order[position:position + batch_size]
        position += batch_size
        loss = loss_fn(model(X[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % every == 0 or step == steps:
            recorded_steps.append(step)
            losses.append(full_loss())
    return np.array(recorded_steps), np.array(losses)


class _KinkReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, grad_at_zero):
        ctx.save_for_backward(x)
        ctx.grad_at_zero = grad_at_zero
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        slope = (x > 0).to(grad_out.dtype)
        slope = torch.where(x == 0, torch.full_like(slope, ctx.grad_at_zero), slope)
        return grad_out * slope, None


class KinkReLU(nn.Module):
    """ReLU whose derivative at exactly 0 is ``grad_at_zero`` (torch's ReLU uses 0; any value in
    [0, 1] is a subgradient). It counts the inputs it has seen (``seen``) and how many were exactly
    0 (``zeros``), in the forward passes made with gradients on."""

    def __init__(self, grad_at_zero: float = 0.0):
        super().__init__()
        self.grad_at_zero = check_float("grad_at_zero", grad_at_zero, minimum=0.0, maximum=1.0)
        self.seen = 0
        self.zeros = 0

    def forward(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled():
            self.seen += x.numel()
            self.zeros += int((x == 0).sum())
        return _KinkReLUFunction.apply(x, self.grad_at_zero)

    def extra_repr(self) -> str:
        return f"grad_at_zero={self.grad_at_zero}"


def exact_zero_fraction(model: nn.Sequential, X: Any) -> tuple[int, int]:
    """(how many pre-activations are exactly 0, how many there are) when ``model`` reads ``X``.

    A pre-activation is the input of any module of ``model`` that is not nn.Linear (the
    activation functions of an ``mlp``)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    X = check_tensor("X", X, shape=(None, None), floating=True)
    zeros = total = 0
    h = X
    with torch.no_grad():
        for module in model:
            if not isinstance(module, nn.Linear):
                zeros += int((h == 0).sum())
                total += h.numel()
            h = module(h)
    return zeros, total


def one_hidden_layer_fit(x: Any, y: Any, units: int, *, activation: str = "tanh", steps: int = 2000,
                         lr: float = 0.01, seed: int = 0) -> tuple[nn.Sequential, float]:
    """Fit y = f(x) on 1-D points with a 1-``units``-1 network (full-batch Adam on square error).

    Returns the trained network and its root-mean-square error on the points."""
    x = check_tensor("x", x, shape=(None,), floating=True)
    y = check_tensor("y", y, shape=(None,), floating=True)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    units = check_int("units", units, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    model = mlp([1, units, 1], activation, seed=seed)
    model = model.to(x.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    inputs, targets = x[:, None], y[:, None]  # (N, 1)
    for _ in range(steps):
        loss = ((model(inputs) - targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        rmse = float(((model(inputs) - targets) ** 2).mean().sqrt())
    return model, rmse
