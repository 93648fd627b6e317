"""Optimizers as plain update rules (SGD, momentum, Nesterov, RMSProp, Adam, AdamW), the perceptron
learning algorithm (感知器學習演算法) and the pocket algorithm, early stopping, and the test
functions chapter 11 races them on.

Each optimizer holds a list of float64 numpy arrays (or ``nlpcourse.autograd.Value`` s, whose
``.data`` it updates) and changes them in place on ``step(grads)``. The rules follow
``torch.optim``'s documented algorithms line by line, including where weight decay enters, so the
tests can hold them equal to torch. A NaN or inf gradient stops the run with an error instead of
silently turning the model into NaN.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from nlpcourse._checks import check_array, check_float, check_int

__all__ = [
    "warmup_cosine", "Optimizer", "SGD", "Momentum", "Nesterov", "RMSProp", "Adam", "AdamW",
    "OPTIMIZERS", "optimize_path", "steps_to_tolerance", "ill_conditioned_quadratic", "rosenbrock",
    "rosenbrock_grad", "perceptron", "pocket", "novikoff_bound", "early_stopping_epoch",
    "minibatch_path",
]

# -------------------------------------------------------------------------- learning-rate schedules


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, floor: float = 0.0) -> float:
    """The learning-rate factor at ``step``: a linear warm-up over ``warmup_steps``, then a
    cosine from 1 down to ``floor`` at ``total_steps`` (and ``floor`` after it).

    Warm-up keeps Adam's first, badly estimated steps small; the decay lets the last steps settle
    into a minimum instead of bouncing around it at full size (what GPT and BERT train with).
    Use it with ``torch.optim.lr_scheduler.LambdaLR``.
    """
    step = check_int("step", step, minimum=0)
    total_steps = check_int("total_steps", total_steps, minimum=1)
    # longer than the run: it never reaches 1
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    floor = check_float("floor", floor, minimum=0.0, maximum=1.0)
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


# --------------------------------------------------------------------------- the optimizers


def _check_lr(lr: float) -> float:
    return check_float("lr", lr, minimum=0.0, min_inclusive=False)


def _check_beta(name: str, beta: float) -> float:
    return check_float(name, beta, minimum=0.0, maximum=1.0, max_inclusive=False)


class Optimizer:
    """Shared bookkeeping: the parameters, the step counter and the finite-gradient check."""

    def __init__(self, params: Sequence[Any], lr: float, weight_decay: float = 0.0):
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)) or not params:
            raise TypeError("params must be a non-empty list of numpy arrays or autograd Values, "
                            f"got {type(params).__name__}")
        self._params = list(params)
        for i, p in enumerate(self._array_params()):
            if not isinstance(p, np.ndarray) or p.dtype != np.float64:
                raise TypeError(f"params[{i}] must be a float64 numpy array (updated in place), "
                                f"got {type(p).__name__}"
                                + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else ""))
        self.lr = _check_lr(lr)
        self.weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self._params]

    def _array_params(self) -> list[np.ndarray]:
        return [p if isinstance(p, np.ndarray) else getattr(p, "data", p) for p in self._params]

    def _grads(self, grads: Sequence[Any] | None) -> list[np.ndarray]:
        if grads is None:
            grads = [None if isinstance(p, np.ndarray) else getattr(p, "grad", None)
                     for p in self._params]
            if any(g is None for g in grads):
                raise ValueError("grads must be given when params are plain arrays")
        if len(grads) != len(self._params):
            raise ValueError(f"grads must have one entry per parameter ({len(self._params)}), got "
                             f"{len(grads)}")
        out = []
        for i, (p, g) in enumerate(zip(self._array_params(), grads)):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] must have shape {p.shape}, got {g.shape}")
            if not np.all(np.isfinite(g)):
                raise ValueError(f"grads[{i}] contains NaN or inf at step {self.t + 1}: the run "
                                 f"diverged (lr={self.lr:g}); lower the learning rate or check the "
                                 "loss")
            out.append(g)
        return out

    def step(self, grads: Sequence[Any] | None = None) -> None:
        """Apply one update with ``grads`` (one per parameter; default: the Values' ``.grad``)."""
        grads = self._grads(grads)
        self.t += 1
        for p, g, state in zip(self._array_params(), grads, self.state):
            self._update(p, g, state)

    def _update(self, p: np.ndarray, g: np.ndarray,
                state: dict[str, np.ndarray]) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """w <- w - lr g, with optional momentum (動量) v <- mu v + (1 - dampening) g (Nesterov: step
    along g + mu v) and L2 weight decay g <- g + wd w, as ``torch.optim.SGD``."""

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = _check_beta("momentum", momentum)
        self.dampening = check_float("dampening", dampening, minimum=0.0, maximum=1.0)
        if nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0, "
                             f"got momentum={self.momentum}, dampening={self.dampening}")
        self.nesterov = bool(nesterov)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = g.copy()
            else:
                state["velocity"] = self.momentum * state["velocity"] + (1.0 - self.dampening) * g
            g = g + self.momentum * state["velocity"] if self.nesterov else state["velocity"]
        p -= self.lr * g


def Momentum(params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> SGD:
    """SGD with (heavy-ball) momentum."""
    return SGD(params, lr, momentum=momentum, weight_decay=weight_decay)


def Nesterov(params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> SGD:
    """SGD with Nesterov momentum (look ahead along the velocity)."""
    return SGD(params, lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)


class RMSProp(Optimizer):
    """s <- alpha s + (1 - alpha) g^2; w <- w - lr g / (sqrt(s) + eps), as ``torch.optim.RMSprop``
    (with optional momentum on the scaled step and L2 weight decay in the gradient)."""

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha = _check_beta("alpha", alpha)
        self.eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
        self.momentum = _check_beta("momentum", momentum)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = state.setdefault("square_avg", np.zeros_like(p))
        s *= self.alpha
        s += (1.0 - self.alpha) * g * g
        scaled = g / (np.sqrt(s) + self.eps)
        if self.momentum:
            buf = state.setdefault("momentum", np.zeros_like(p))
            buf *= self.momentum
            buf += scaled
            scaled = buf
        p -= self.lr * scaled


class Adam(Optimizer):
    """m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, bias-corrected, w <- w - lr m^ / (sqrt(v^)
    + eps), as ``torch.optim.Adam``. ``weight_decay`` here is an L2 term added to the gradient (so
    it is rescaled by the adaptive denominator); ``AdamW`` decouples it."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if len(betas) != 2:
            raise ValueError(f"betas must be two numbers (beta1, beta2), got {betas!r}")
        self.betas = (_check_beta("betas[0]", betas[0]), _check_beta("betas[1]", betas[1]))
        self.eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)

    def _update(self, p, g, state):
        b1, b2 = self.betas
        if self.decoupled:
            p *= 1.0 - self.lr * self.weight_decay  # decoupled weight decay: shrink w directly
        elif self.weight_decay:
            # L2 in the loss: the decay passes through the adaptive scaling
            g = g + self.weight_decay * p
        m = state.setdefault("exp_avg", np.zeros_like(p))
        v = state.setdefault("exp_avg_sq", np.zeros_like(p))
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * g * g
        step_size = self.lr / (1.0 - b1**self.t)
        denom = np.sqrt(v) / math.sqrt(1.0 - b2**self.t) + self.eps
        p -= step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w <- w (1 - lr wd) before the Adam
    step, as ``torch.optim.AdamW`` (default weight_decay 0.01)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


#: The optimizers by the names the chapter uses.
OPTIMIZERS = {"SGD": SGD, "momentum": Momentum, "Nesterov": Nesterov, "RMSProp": RMSProp,
              "Adam": Adam,
              "AdamW": AdamW}


# ----------------------------------------------------------- running an optimizer on a 2-D function


def optimize_path(make_optimizer: Callable[[list[np.ndarray]], Optimizer],
                  grad: Callable[[np.ndarray], np.ndarray],
                  start: Any, steps: int) -> np.ndarray:
    """Every iterate of ``steps`` updates from ``start``; shape (steps + 1, P).

    ``make_optimizer([w])`` builds the optimizer on the parameter array w; ``grad(w)`` is dL/dw.
    """
    w = check_array("start", start, ndim=1).copy()
    steps = check_int("steps", steps, minimum=0)
    optimizer = make_optimizer([w])
    path = [w.copy()]
    for _ in range(steps):
        optimizer.step([grad(w)])
        path.append(w.copy())
    return np.array(path)


def steps_to_tolerance(path: np.ndarray, loss: Callable[..., np.ndarray], minimum_loss: float,
                       tol: float) -> int | None:
    """The first step t whose loss is within ``tol`` of ``minimum_loss`` and stays so for the rest
    of ``path`` (an (n, 2) array of iterates), or None if the path never settles there."""
    path = check_array("path", path, ndim=2)
    tol = check_float("tol", tol, minimum=0.0, min_inclusive=False)
    gaps = np.asarray(loss(path[:, 0], path[:, 1]), dtype=np.float64) - minimum_loss
    outside = np.flatnonzero(~(gaps <= tol))
    if outside.size == 0:
        return 0
    last = int(outside[-1])
    return None if last == len(path) - 1 else last + 1


def ill_conditioned_quadratic(condition: float = 25.0) -> tuple[Callable, Callable]:
    """L(w) = (w1^2 + condition w2^2) / 2 (minimum 0 at the origin) and its gradient."""
    condition = check_float("condition", condition, minimum=1.0)

    def loss(w1, w2):
        return 0.5 * (np.asarray(w1) ** 2 + condition * np.asarray(w2) ** 2)

    def grad(w):
        return np.array([w[0], condition * w[1]])

    return loss, grad


def rosenbrock(w1, w2, a: float = 1.0, b: float = 100.0) -> np.ndarray:
    """Rosenbrock's banana valley (a - w1)^2 + b (w2 - w1^2)^2, minimum 0 at (a, a^2)."""
    w1, w2 = check_array("w1", w1), check_array("w2", w2)
    a, b = check_float("a", a), check_float("b", b)
    return (a - w1) ** 2 + b * (w2 - w1**2) ** 2


def rosenbrock_grad(w, a: float = 1.0, b: float = 100.0) -> np.ndarray:
    """Gradient of ``rosenbrock`` at the point w = (w1, w2)."""
    w = check_array("w", w, ndim=1)
    if w.shape != (2,):
        raise ValueError(f"w must be a point (w1, w2), got shape {w.shape}")
    a, b = check_float("a", a), check_float("b", b)
    w1, w2 = float(w[0]), float(w[1])
    return np.array([-2.0 * (a - w1) - 4.0 * b * w1 * (w2 - w1**2), 2.0 * b * (w2 - w1**2)])


# ---------------------------------------------------------------- the perceptron learning algorithm


def _perceptron_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = check_array("X", X, ndim=2, min_rows=1)
    y = check_array("y", y, ndim=1)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"y must hold labels -1 and +1, got values {np.unique(y)[:5].tolist()}")
    return np.hstack([X, np.ones((len(X), 1))]), y  # a constant 1 feature carries the bias


def perceptron(X: Any, y: Any, max_epochs: int = 100) -> dict[str, Any]:
    """PLA: cycle through the examples in order; on a mistake y (w.x) <= 0 set w <- w + y x.

    Returns ``weights`` (D + 1, bias last), ``mistakes`` (the number of updates), ``converged``
    (an epoch without a mistake) and ``errors`` (training errors after each epoch).
    """
    Xb, y = _perceptron_data(X, y)
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    w = np.zeros(Xb.shape[1])
    mistakes, errors = 0, []
    for _ in range(max_epochs):
        clean = True
        for x_n, y_n in zip(Xb, y):
            if y_n * (w @ x_n) <= 0:
                w = w + y_n * x_n
                mistakes += 1
                clean = False
        errors.append(int(np.sum(y * (Xb @ w) <= 0)))
        if clean:
            return {"weights": w, "mistakes": mistakes, "converged": True, "errors": errors}
    return {"weights": w, "mistakes": mistakes, "converged": False, "errors": errors}


def pocket(X: Any, y: Any, updates: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The pocket algorithm: PLA on randomly drawn mistakes, keeping in the "pocket" the weights
    with the fewest training errors seen so far. Returns ``weights`` (the pocket), ``errors`` (its
    error count), ``current_errors`` (the PLA iterate's errors after each update, which keep
    jumping)."""
    Xb, y = _perceptron_data(X, y)
    updates = check_int("updates", updates, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    w = np.zeros(Xb.shape[1])
    best, best_errors = w.copy(), int(np.sum(y * (Xb @ w) <= 0))
    history = []
    for _ in range(updates):
        wrong = np.flatnonzero(y * (Xb @ w) <= 0)
        if wrong.size == 0:
            break
        n = rng.choice(wrong)
        w = w + y[n] * Xb[n]
        errors = int(np.sum(y * (Xb @ w) <= 0))
        history.append(errors)
        if errors < best_errors:
            best, best_errors = w.copy(), errors
    return {"weights": best, "errors": best_errors, "current_errors": history}


def novikoff_bound(X: Any, y: Any, w_separator: Any) -> float:
    """(R / gamma)^2 for data with the bias feature appended: R = max ||x||, gamma = min y w.x /
    ||w|| for a separating ``w_separator`` (D + 1, bias last). PLA makes at most this many
    mistakes."""
    Xb, y = _perceptron_data(X, y)
    w = check_array("w_separator", w_separator, ndim=1)
    if w.shape[0] != Xb.shape[1]:
        raise ValueError(f"w_separator must have {Xb.shape[1]} entries (weights then bias), got "
                         f"{w.shape[0]}")
    margins = y * (Xb @ w) / np.linalg.norm(w)
    if margins.min() <= 0:
        raise ValueError("w_separator does not separate the data (some y w.x <= 0): no bound "
                         "exists")
    R = np.linalg.norm(Xb, axis=1).max()
    return float((R / margins.min()) ** 2)


# --------------------------------------------------------------------------- early stopping


def early_stopping_epoch(valid_losses: Sequence[float], patience: int = 10) -> int:
    """The epoch (index) early stopping keeps: training stops once the validation loss has not
    improved for ``patience`` epochs, and the best epoch seen until then is returned."""
    losses = check_array("valid_losses", valid_losses, ndim=1, min_rows=1)
    patience = check_int("patience", patience, minimum=1)
    best, since = 0, 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best, since = epoch, 0
        else:
            since += 1
            if since >= patience:
                break
    return best


# -------------------------------------------------------------- batch, mini-batch and stochastic GD


def minibatch_path(grad_on_batch: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int,
                   start: Any, lr: float,
                   steps: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """Gradient descent where each step uses the mean gradient of ``batch_size`` examples drawn
    without replacement from ``n`` (a fresh shuffle every epoch); ``batch_size == n`` is batch GD,
    1 is stochastic GD (隨機梯度下降). ``grad_on_batch(w, idx)`` is the mean gradient over rows ``idx``.
    Returns every iterate, shape (steps + 1, P): the random path (亂數路徑)."""
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n)
    steps = check_int("steps", steps, minimum=0)
    lr = _check_lr(lr)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    w = check_array("start", start, ndim=1).copy()
    optimizer = SGD([w], lr=lr)
    path, order, cursor = [w.copy()], rng.permutation(n), 0
    for _ in range(steps):
        if cursor + batch_size > n:
            order, cursor = rng.permutation(n), 0
        optimizer.step([grad_on_batch(w, order[cursor:cursor + batch_size])])
        cursor += batch_size
        path.append(w.copy())
    return np.array(path)
