"""Recurrent cells from scratch (chapter 07): RNN, LSTM, GRU, and a layer that unrolls a cell.

Each cell keeps its weights under the names and in the layout of ``torch.nn.RNNCell``,
``LSTMCell`` and ``GRUCell`` (``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H), ``bias_ih``,
``bias_hh``; gate order i, f, g, o for the LSTM and r, z, n for the GRU), so a state dict
copies either way. A cell's *state* is a tensor (RNN, GRU) or an ``(h, c)`` tuple (LSTM);
``hidden_of(state)`` gives the hidden vector h that the next layer reads.

Chapter 09's ELMo reuses ``make_cell``, ``Recurrent`` and ``Bidirectional``.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import torch
from torch import nn

from nlpcourse._checks import check_choice, check_float, check_instance, check_int
from nlpcourse._tensor_checks import check_tensor

__all__ = [
    "CELL_KINDS", "RNNCell", "LSTMCell", "GRUCell", "make_cell", "check_mask", "Recurrent",
    "Bidirectional", "copy_from_torch", "gradient_norms_through_time",
]

CELL_KINDS = ("rnn", "lstm", "gru")

State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]


class _Cell(nn.Module):
    """Shared parts: torch's parameter layout and its uniform(-1/sqrt(H), 1/sqrt(H))
    initialisation."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        rows = self.gates * self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, self.hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _check_input(self, x: torch.Tensor) -> None:
        check_tensor("x", x, shape=("batch", self.input_size), dtype=self.weight_ih.dtype)

    def _check_hidden(self, name: str, h: torch.Tensor, batch: int) -> None:
        check_tensor(name, h, shape=(batch, self.hidden_size), dtype=self.weight_hh.dtype)

    def _projections(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gi = x @ self.weight_ih.T  # (B, G*H)
        gh = h @ self.weight_hh.T  # (B, G*H)
        if self.bias_ih is not None:
            gi = gi + self.bias_ih
            gh = gh + self.bias_hh
        return gi, gh

    def initial_state(self, batch: int, like: torch.Tensor | None = None) -> State:
        """The all-zero state for ``batch`` sequences (dtype and device of ``like``)."""
        batch = check_int("batch", batch, minimum=1)
        ref = like if like is not None else self.weight_hh
        return torch.zeros(batch, self.hidden_size, dtype=ref.dtype, device=ref.device)

    @staticmethod
    def hidden_of(state: State) -> torch.Tensor:
        """The hidden vector h of a state (the state itself, or h of an LSTM's (h, c))."""
        return state[0] if isinstance(state, tuple) else state


class RNNCell(_Cell):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), like torch.nn.RNNCell."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x)
        h = self.initial_state(x.shape[0], x) if state is None else state
        self._check_hidden("state", h, x.shape[0])
        gi, gh = self._projections(x, h)
        return torch.tanh(gi + gh) if self.nonlinearity == "tanh" else torch.relu(gi + gh)


class LSTMCell(_Cell):
    """LSTM with input, forget, candidate and output gates (order i, f, g, o), like
    torch.nn.LSTMCell.

    c' = f * c + i * g and h' = o * tanh(c'): the additive path through c is what lets
    gradients survive many steps.
    """

    gates = 4

    def initial_state(self, batch: int,
                      like: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = super().initial_state(batch, like)
        return h, torch.zeros_like(h)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        self._check_input(x)
        if state is None:
            state = self.initial_state(x.shape[0], x)
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError("state must be an (h, c) tuple for an LSTM, got "
                            f"{type(state).__name__}")
        h, c = state
        self._check_hidden("state h", h, x.shape[0])
        self._check_hidden("state c", c, x.shape[0])
        gi, gh = self._projections(x, h)
        i, f, g, o = (gi + gh).chunk(4, dim=1)  # each (B, H)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_next = torch.sigmoid(o) * torch.tanh(c_next)
        return h_next, c_next


class GRUCell(_Cell):
    """GRU with reset and update gates (order r, z, n), like torch.nn.GRUCell.

    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h.
    """

    gates = 3

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x)
        h = self.initial_state(x.shape[0], x) if state is None else state
        self._check_hidden("state", h, x.shape[0])
        gi, gh = self._projections(x, h)
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1.0 - z) * n + z * h


_CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(kind: str, input_size: int, hidden_size: int, bias: bool = True) -> _Cell:
    """A from-scratch cell by name: ``"rnn"``, ``"lstm"`` or ``"gru"``."""
    check_choice("kind", kind, CELL_KINDS)
    return _CELLS[kind](input_size, hidden_size, bias)


def _select(mask: torch.Tensor, new: State, old: State) -> State:
    """Per sequence, the new state where ``mask`` (B,) is true, else the old one."""
    if isinstance(new, tuple):
        return tuple(_select(mask, n, o) for n, o in zip(new, old))
    return torch.where(mask[:, None], new, old)


def check_mask(name: str, mask, batch: int, steps: int) -> torch.Tensor:
    """Return ``mask`` as a (batch, steps) bool tensor, or raise naming ``name``."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of bools, got {type(mask).__name__}")
    if tuple(mask.shape) != (batch, steps):
        raise ValueError(f"{name} must have shape ({batch}, {steps}) like the inputs, got "
                         f"{tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool, got {mask.dtype}")
    return mask


class Recurrent(nn.Module):
    """Unroll a cell over time: inputs (B, T, D) -> outputs (B, T, H) and the final state.

    ``mask`` (B, T) marks real tokens (True) and padding (False): at a padded step the state
    is carried over unchanged and the output is zero, so the final state of each sequence is
    its state after its last real token. With ``reverse=True`` the steps run from T-1 down to 0
    (a backward RNN): right padding is then skipped before the sequence starts.
    """

    def __init__(self, cell: _Cell, reverse: bool = False):
        super().__init__()
        if not isinstance(cell, _Cell):
            raise TypeError("cell must be an RNNCell, LSTMCell or GRUCell, got "
                            f"{type(cell).__name__}")
        self.cell = cell
        self.reverse = bool(reverse)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None,
                state: State | None = None) -> tuple[torch.Tensor, State]:
        check_tensor("inputs", inputs, shape=("batch", "steps", self.cell.input_size),
                     dtype=self.cell.weight_ih.dtype)
        batch, steps, _ = inputs.shape
        if steps == 0:
            raise ValueError(f"inputs must have at least one step, got shape {tuple(inputs.shape)}")
        if mask is not None:
            mask = check_mask("mask", mask, batch, steps)
        if state is None:
            state = self.cell.initial_state(batch, inputs)
        outputs = [None] * steps
        order = range(steps - 1, -1, -1) if self.reverse else range(steps)
        for t in order:
            new = self.cell(inputs[:, t], state)
            if mask is None:
                state = new
                outputs[t] = self.cell.hidden_of(new)
            else:
                state = _select(mask[:, t], new, state)
                outputs[t] = self.cell.hidden_of(new) * mask[:, t, None]
        return torch.stack(outputs, dim=1), state  # (B, T, H)


class Bidirectional(nn.Module):
    """A forward and a backward ``Recurrent`` over the same inputs, outputs concatenated.

    h_j = [forward h_j ; backward h_j] (B, T, 2H): position j sees the words before it and
    the words after it. Returns the outputs and the (forward, backward) final states.
    """

    def __init__(self, forward_cell: _Cell, backward_cell: _Cell):
        super().__init__()
        for name, cell in (("forward_cell", forward_cell), ("backward_cell", backward_cell)):
            if not isinstance(cell, _Cell):
                raise TypeError(f"{name} must be an RNNCell, LSTMCell or GRUCell, got "
                                f"{type(cell).__name__}")
        if forward_cell.input_size != backward_cell.input_size:
            raise ValueError(
                f"forward_cell and backward_cell must read the same input size, got "
                f"{forward_cell.input_size} and {backward_cell.input_size}")
        self.forward_layer = Recurrent(forward_cell)
        self.backward_layer = Recurrent(backward_cell, reverse=True)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None):
        out_f, state_f = self.forward_layer(inputs, mask)
        out_b, state_b = self.backward_layer(inputs, mask)
        return torch.cat([out_f, out_b], dim=2), (state_f, state_b)  # (B, T, 2H)


def copy_from_torch(cell: _Cell, reference: nn.Module, suffix: str = "") -> _Cell:
    """Copy the weights of a torch cell (or one direction/layer of torch.nn.RNN/LSTM/GRU) into
    ``cell``.

    ``suffix`` picks the layer and direction of a multi-layer module, e.g. ``"_l0_reverse"``.
    """
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if cell.bias_ih is not None
                                          else [])
    with torch.no_grad():
        for name in names:
            source = getattr(reference, name + suffix, None)
            if source is None:
                raise ValueError(f"reference has no parameter {name + suffix!r} to copy")
            target = getattr(cell, name)
            if source.shape != target.shape:
                raise ValueError(f"{name}{suffix} must have shape {tuple(target.shape)}, got "
                                 f"{tuple(source.shape)}")
            target.copy_(source)
    return cell


def gradient_norms_through_time(cell: _Cell, steps: int, *, batch: int = 16, seed: int = 0,
                                recurrent_scale: float = 1.0) -> np.ndarray:
    """||dL/dh_t|| for t = 1..steps, where L reads only the last hidden state h_T.

    The inputs are standard-normal noise (seeded); L = h_T . u for a fixed random unit vector u,
    so the norm at step t measures how much of the error signal travels back T - t steps.
    ``recurrent_scale`` multiplies W_hh for the run (the cell is left unchanged), to show
    vanishing (< 1) and exploding (> 1) products of Jacobians. Returns the batch mean per step.
    """
    check_instance("cell", cell, _Cell, "an RNNCell, LSTMCell or GRUCell (make_cell)")
    steps = check_int("steps", steps, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    recurrent_scale = check_float("recurrent_scale", recurrent_scale, minimum=0.0)
    generator = torch.Generator().manual_seed(seed)
    dtype = cell.weight_hh.dtype
    inputs = torch.randn(steps, batch, cell.input_size, generator=generator, dtype=dtype)
    direction = torch.randn(cell.hidden_size, generator=generator, dtype=dtype)
    direction = direction / direction.norm()
    saved = cell.weight_hh.detach().clone()
    hiddens = []
    try:
        with torch.no_grad():
            cell.weight_hh.mul_(recurrent_scale)
        state = cell.initial_state(batch, inputs)
        for t in range(steps):
            state = cell(inputs[t], state)
            h = cell.hidden_of(state)
            h.retain_grad()
            hiddens.append(h)
        loss = (cell.hidden_of(state) @ direction).sum()
        loss.backward()
    finally:
        with torch.no_grad():
            cell.weight_hh.copy_(saved)
        cell.zero_grad(set_to_none=True)
    return np.array([h.grad.norm(dim=1).mean().item() for h in hiddens])
