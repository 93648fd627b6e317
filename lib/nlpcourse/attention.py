"""Attention (chapter 08): scaled dot-product attention, masks, multi-head attention, positions.

Mask convention (the same as ``torch.nn.functional.scaled_dot_product_attention``):

* a **boolean** mask is ``True`` where a query *may* attend to a key, ``False`` where it may not;
* an **additive** (float) mask is added to the scores: ``0`` keeps a pair, ``-inf`` removes it.

Either must broadcast to the scores' shape ``(..., T_q, T_k)``; for multi-head attention that
is ``(B, H, T_q, T_k)``, which is why ``padding_mask`` returns ``(B, 1, 1, T)``. A query row
whose keys are all masked gets attention weights of exactly 0 and an output of 0 (not NaN),
as torch does. ``torch.nn.MultiheadAttention`` uses the opposite boolean convention (``True``
= ignore); ``to_torch_mha_masks`` converts.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Any, Callable, NamedTuple, Sequence

import torch
from torch import Tensor, nn

from nlpcourse._checks import check_choice, check_float, check_instance, check_int
from nlpcourse._blockwise_attention import blockwise_attention
from nlpcourse._tensor_checks import check_tensor

__all__ = [
    "scaled_dot_product_attention",
    "fused_attention",
    "padding_mask",
    "causal_mask",
    "combine_masks",
    "to_additive_mask",
    "to_torch_mha_masks",
    "MultiHeadAttention",
    "recorded_weights",
    "sinusoidal_positions",
    "relative_position_map",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEncoding",
    "SEQUENCE_LAYERS",
    "LayerCost",
    "layer_costs",
    "counted_flops",
    "autograd_depth",
    "SequenceConvStack",
    "input_influence",
    "receptive_field",
]


# --------------------------------------------------------------------------- masks

def padding_mask(lengths: Sequence[int] | Tensor, max_len: int | None = None) -> Tensor:
    """Boolean key mask of shape ``(B, 1, 1, max_len)``: True at the first ``lengths[b]`` positions.

    Broadcasts over heads and query positions, so padded *keys* are never attended to.
    """
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1 or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be a 1-D integer tensor, got {lengths.dtype} of shape "
                            f"{tuple(lengths.shape)}")
        values = [int(x) for x in lengths.tolist()]
    else:
        if isinstance(lengths, (str, bytes)):
            raise TypeError("lengths must be a sequence of integers, got a str")
        if not hasattr(lengths, "__iter__"):
            raise TypeError(f"lengths must be a sequence of integers, got {type(lengths).__name__}")
        values = [check_int(f"lengths[{i}]", x, minimum=0) for i, x in enumerate(lengths)]
    if not values:
        raise ValueError("lengths must hold at least one sequence length, got none")
    if min(values) < 0:
        raise ValueError(f"lengths must be >= 0, got {min(values)}")
    if max_len is None:
        max_len = max(values)
    max_len = check_int("max_len", max_len, minimum=1)
    if max(values) > max_len:
        raise ValueError(f"lengths must be <= max_len={max_len}, got a length of {max(values)}")
    positions = torch.arange(max_len)
    keep = positions[None, :] < torch.tensor(values)[:, None]  # (B, T)
    return keep[:, None, None, :]


def causal_mask(size: int) -> Tensor:
    """Boolean ``(size, size)`` sequence mask: query i may attend to keys 0..i (lower triangle)."""
    size = check_int("size", size, minimum=1)
    return torch.ones(size, size, dtype=torch.bool).tril()


def combine_masks(*masks: Tensor | None) -> Tensor | None:
    """Logical AND of boolean masks (broadcast), ignoring ``None``; e.g. padding & causal."""
    result = None
    for i, mask in enumerate(masks):
        if mask is None:
            continue
        check_tensor(f"masks[{i}]", mask, min_ndim=1)
        if mask.dtype != torch.bool:
            raise TypeError(f"masks[{i}] must be a boolean mask (True = may attend), got dtype "
                            f"{mask.dtype}")
        if result is None:
            result = mask
            continue
        try:
            shape = torch.broadcast_shapes(result.shape, mask.shape)
        except RuntimeError:
            raise ValueError(f"masks[{i}] of shape {tuple(mask.shape)} does not broadcast with "
                             f"the masks before it, shape {tuple(result.shape)}") from None
        result = result.expand(shape) & mask.expand(shape)
    return result


def to_additive_mask(mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Boolean mask -> additive mask: 0 where True (attend), -inf where False."""
    check_tensor("mask", mask, min_ndim=1)
    if mask.dtype != torch.bool:
        raise TypeError("mask must be boolean to convert it to an additive mask, got dtype "
                        f"{mask.dtype}")
    return torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, float("-inf"))


def to_torch_mha_masks(mask: Tensor | None, n_heads: int) -> Tensor | None:
    """Our boolean mask (True = attend) of shape broadcastable to (B, H, Tq, Tk) -> the
    ``attn_mask`` of ``torch.nn.MultiheadAttention`` (True = ignore), shape (B*H, Tq, Tk)."""
    if mask is None:
        return None
    if mask.dim() != 4:
        raise ValueError("mask must have 4 dimensions (B, H, Tq, Tk) to convert, got shape "
                         f"{tuple(mask.shape)}")
    b = mask.shape[0]
    tq, tk = mask.shape[-2], mask.shape[-1]
    return (~mask).expand(b, n_heads, tq, tk).reshape(b * n_heads, tq, tk)


# --------------------------------------------------------------------------- attention

def _check_mask(mask: Tensor, scores_shape: torch.Size) -> None:
    check_tensor("mask", mask, min_ndim=1)
    ok = mask.dim() <= len(scores_shape) and all(
        m in (1, s) for m, s in zip(reversed(mask.shape), reversed(scores_shape)))
    if not ok:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                         f"shape {tuple(scores_shape)} (batch..., T_q, T_k); padding masks are (B, "
                         "1, 1, T_k), causal masks (T_q, T_k)")
    if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
        raise TypeError(f"mask must be boolean (True = may attend) or a float additive mask "
                        f"(0 or -inf), got dtype {mask.dtype}")


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> torch.Size:
    """Check q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v); return the scores' shape."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(name, t, min_ndim=2, floating=True)
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"q, k and v must share one dtype, got q {q.dtype}, k {k.dtype}, v "
                        f"{v.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got q {tuple(q.shape)} "
                         f"and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError("k and v must have the same number of positions T_k, got k "
                         f"{tuple(k.shape)} and v {tuple(v.shape)}")
    try:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError("q, k and v must share (or broadcast) their leading dimensions, got q "
                         f"{tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}") from None
    return torch.Size((*batch, q.shape[-2], k.shape[-2]))


def _causal(t_q: int, t_k: int, device: torch.device) -> Tensor:
    """Boolean (T_q, T_k) lower triangle: query i may attend to keys 0..i (torch's
    ``is_causal``)."""
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril()


def _apply_causal(mask: Tensor | None, t_q: int, t_k: int, device: torch.device) -> Tensor:
    """``mask`` (boolean or additive, already checked) combined with the causal mask."""
    causal = _causal(t_q, t_k, device)
    if mask is None:
        return causal
    if mask.dtype == torch.bool:
        return mask & causal
    return mask.masked_fill(~causal, float("-inf"))


def _check_additive_dtype(mask: Tensor, dtype: torch.dtype) -> None:
    if mask.dtype != torch.bool and mask.dtype != dtype:
        raise TypeError(f"an additive mask must have the scores' dtype {dtype}, got {mask.dtype}; "
                        f"a boolean mask must have dtype torch.bool")


def _rows_with_a_key(mask: Tensor) -> Tensor:
    """(..., T_q, 1) boolean: True where a query row keeps at least one key (no host sync)."""
    keep = mask if mask.dtype == torch.bool else ~torch.isneginf(mask)
    return keep.any(dim=-1, keepdim=True)


def _prepared_mask(mask: Tensor | None, scores_shape: torch.Size, q: Tensor, is_causal: bool,
                   sync: bool = True) -> tuple[Tensor | None, Tensor | None]:
    """Check ``mask`` against the scores, add the causal mask if asked, and mend the query rows
    left with no key: softmax over -inf only is NaN, so such a row may see every key (finite
    weights and gradients) and its output is zeroed after. Returns (mask, rows to zero or None).
    ``sync=False`` skips asking whether any row is empty (a host sync) and mends regardless."""
    if mask is None:  # a causal mask alone never empties a row
        return (_causal(scores_shape[-2], scores_shape[-1], q.device) if is_causal else None), None
    _check_mask(mask, scores_shape)
    _check_additive_dtype(mask, q.dtype)
    if is_causal:
        mask = _apply_causal(mask, scores_shape[-2], scores_shape[-1], q.device)
    has_key = _rows_with_a_key(mask)
    if sync and bool(has_key.all()):
        return mask, None
    empty_rows = ~has_key
    return (mask | empty_rows if mask.dtype == torch.bool
            else mask.masked_fill(empty_rows, 0.0)), empty_rows


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, *,
                                 dropout_p: float = 0.0, training: bool = False,
                                 scale: float | None = None,
                                 is_causal: bool = False, need_weights: bool = True):
    """softmax(q k^T / sqrt(d_k) + mask) v -> (output (..., T_q, d_v), weights (..., T_q, T_k)).

    q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v). ``mask``: boolean, True = may attend
    (or additive: 0 or -inf); a query row with every key masked gives zeros. ``is_causal`` adds
    the causal mask. ``need_weights=False`` returns (output, None), computed one block of rows at
    a time (``nlpcourse._blockwise_attention``), never holding all the weights.
    """
    scores_shape = _check_qkv(q, k, v)
    dropout_p = check_float("dropout_p", dropout_p, minimum=0.0, maximum=1.0, max_inclusive=False)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else check_float("scale", scale)
    mask, empty_rows = _prepared_mask(mask, scores_shape, q, is_causal)
    dropout = dropout_p > 0.0 and training
    if not need_weights and not dropout:
        out = blockwise_attention(q, k, v, mask, scale)
        return (out if empty_rows is None else out.masked_fill(empty_rows, 0.0)), None

    scores = torch.matmul(q * scale, k.transpose(-2, -1))  # (..., T_q, T_k)
    if mask is not None:  # -inf where a key may not be attended to
        scores = (scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool
                  else scores + mask)
    weights = torch.softmax(scores, dim=-1)
    if empty_rows is not None:
        weights = weights.masked_fill(empty_rows, 0.0)
    if dropout:
        weights = nn.functional.dropout(weights, p=dropout_p)
    return torch.matmul(weights, v), (weights if need_weights else None)


def fused_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    *,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    training: bool = False,
    scale: float | None = None,
) -> Tensor:
    """The same maths as ``scaled_dot_product_attention``, torch's fused kernel; no weights.

    Calls ``torch.nn.functional.scaled_dot_product_attention`` with our mask convention and our
    input checks; returns only the output ``(..., T_q, d_v)`` (the fused kernel never builds the
    (T_q, T_k) weights, which is why it is fast). A fully masked query row gives zeros, as ours.
    ``is_causal`` combines the causal mask with ``mask``; dropout acts only when ``training``.
    """
    scores_shape = _check_qkv(q, k, v)
    dropout_p = check_float("dropout_p", dropout_p, minimum=0.0, maximum=1.0, max_inclusive=False)
    if scale is not None:
        scale = check_float("scale", scale)
    dropout_p = dropout_p if training else 0.0
    if mask is None:  # torch's own causal path; a causal mask alone never empties a row
        return nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p,
                                                          is_causal=bool(is_causal),
                                                          scale=scale)
    mask, empty_rows = _prepared_mask(mask, scores_shape, q, is_causal, sync=False)
    out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                     scale=scale)
    return out.masked_fill(empty_rows, 0.0)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with the parameter layout of ``torch.nn.MultiheadAttention``.

    ``in_proj_weight`` stacks W^Q, W^K, W^V (3 d_model x d_model), ``out_proj`` is W^O, so
    ``ours.load_state_dict(theirs.state_dict())`` copies a torch layer. Inputs are batch-first
    ``(B, T, d_model)``; ``forward`` returns (output, per-head weights ``(B, H, T_q, T_k)``).
    With ``fused=True`` it attends with ``fused_attention``, torch's kernel, and returns
    (output, None): the same maths, faster, no weights to draw. To read the weights of layers
    deep inside a model, run it inside ``with recorded_weights(model) as weights:``.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True,
                 fused: bool = False):
        super().__init__()
        d_model = check_int("d_model", d_model, minimum=1)
        n_heads = check_int("n_heads", n_heads, minimum=1)
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads: got d_model={d_model}, "
                             f"n_heads={n_heads} (d_model / n_heads = {d_model / n_heads:.3g})")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                                   max_inclusive=False)
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model)) if bias else None
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        #: ``True``: attend with torch's fused kernel (no weights), except inside
        #: ``recorded_weights``.
        self.fused = bool(fused)
        # set by recorded_weights: the weights of each call go here
        self._recorder: list | None = None
        nn.init.xavier_uniform_(self.in_proj_weight)  # as torch.nn.MultiheadAttention does
        if bias:
            nn.init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.d_head).transpose(1, 2)  # (B, H, T, d_head)

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None,
                mask: Tensor | None = None, *, is_causal: bool = False,
                need_weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` (B, T_q, d) to ``key``/``value`` (B, T_k, d); self-attention if
        omitted.

        ``is_causal=True`` adds the causal mask (combined with ``mask``). Returns (output, weights);
        weights are None on the fused path and with ``need_weights=False`` (attention in blocks),
        except inside ``recorded_weights``, which always computes them."""
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            check_tensor(name, t, shape=("B", "T", f"d_model={self.d_model}"))
            if t.shape[-1] != self.d_model:
                raise ValueError(f"{name} must have shape (B, T, d_model={self.d_model}), got "
                                 f"{tuple(t.shape)}")
            check_tensor(name, t, dtype=self.in_proj_weight.dtype)
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError("query, key and value must share the batch size and key/value the "
                             f"length; got query {tuple(query.shape)}, key {tuple(key.shape)}, "
                             f"value {tuple(value.shape)}")
        # W^Q, W^K, W^V are the three row blocks of in_proj_weight: one projection per input
        biases = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        q, k, v = (self._split_heads(nn.functional.linear(t, w, b))  # (B, H, T, d_head)
                   for t, w, b in zip((query, key, value), self.in_proj_weight.chunk(3), biases))
        recording = self._recorder is not None
        if self.fused and not recording:
            out = fused_attention(q, k, v, mask, is_causal=is_causal, dropout_p=self.dropout,
                                  training=self.training)
            weights = None
        else:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=self.dropout,
                                                        training=self.training,
                                                        is_causal=is_causal,
                                                        need_weights=need_weights or recording)
        if recording:
            self._recorder.append(weights.detach())
        # (B, T_q, d)
        out = out.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.d_model)
        return self.out_proj(out), weights


@contextlib.contextmanager
def recorded_weights(model: nn.Module):
    """The one way to read attention weights from inside a model: within the ``with`` block every
    ``MultiHeadAttention`` in ``model`` (or ``model`` itself) computes its weights on the course's
    path (never the fused kernel) and records them. Yields a dict from each layer's name in
    ``model.named_modules()`` ("" for ``model`` itself) to the list of its weights
    (B, H, T_q, T_k), one per call, in order; the recording stops when the block ends, even on
    an error::

        with recorded_weights(model) as weights:
            model(src, tgt)
        first_layer = weights["encoder.0.self_attn"][0]
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    layers = {name: m for name, m in model.named_modules() if isinstance(m, MultiHeadAttention)}
    if not layers:
        raise ValueError(f"model must contain a MultiHeadAttention layer; {type(model).__name__} "
                         "has none")
    busy = [name for name, m in layers.items() if m._recorder is not None]
    if busy:
        raise RuntimeError(f"the weights of {busy[0]!r} are already being recorded (nested "
                           "recorded_weights)")
    weights: dict[str, list[Tensor]] = {name: [] for name in layers}
    for name, m in layers.items():
        m._recorder = weights[name]
    try:
        yield weights
    finally:
        for m in layers.values():
            m._recorder = None


# --------------------------------------------------------------------------- positions

def sinusoidal_positions(max_len: int, d_model: int) -> Tensor:
    """The paper's table (max_len, d_model): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] =
    cos(...)."""
    max_len = check_int("max_len", max_len, minimum=1)
    d_model = check_int("d_model", d_model, minimum=2)
    if d_model % 2:
        raise ValueError(f"d_model must be even for sin/cos pairs, got {d_model}")
    position = torch.arange(max_len, dtype=torch.float64)[:, None]  # (T, 1)
    # (d/2,)
    frequency = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.zeros(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table.float()


def relative_position_map(offset: int, d_model: int) -> Tensor:
    """The (d_model, d_model) matrix M with PE[p + offset] = M @ PE[p] for every p.

    It is block-diagonal: one 2x2 rotation by ``offset * frequency_i`` per sin/cos pair, so a
    fixed shift of position is a linear map that does not depend on the position itself.
    """
    offset = check_int("offset", offset)
    d_model = check_int("d_model", d_model, minimum=2)
    if d_model % 2:
        raise ValueError(f"d_model must be even for sin/cos pairs, got {d_model}")
    frequency = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angle = offset * frequency
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    c, s = torch.cos(angle), torch.sin(angle)
    i = torch.arange(0, d_model, 2)
    # [sin(a+b), cos(a+b)] = [[cos b, sin b], [-sin b, cos b]] @ [sin a, cos a]
    m[i, i], m[i, i + 1], m[i + 1, i], m[i + 1, i + 1] = c, s, -s, c
    return m


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table to (B, T, d_model) inputs; T must not exceed ``max_len``."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self.register_buffer("table", sinusoidal_positions(max_len, d_model), persistent=False)
        self.max_len, self.d_model = int(max_len), int(d_model)
        self.dropout = nn.Dropout(check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                                              max_inclusive=False))

    def forward(self, x: Tensor) -> Tensor:
        _check_positions_input(x, self.d_model, self.max_len)
        return self.dropout(x + self.table[: x.shape[1]].to(x.dtype))


class LearnedPositionalEncoding(nn.Module):
    """Adds a learned vector per position (an embedding table of ``max_len`` rows) to (B, T, d)."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self.max_len = check_int("max_len", max_len, minimum=1)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.embedding = nn.Embedding(self.max_len, self.d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.dropout = nn.Dropout(check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                                              max_inclusive=False))

    def forward(self, x: Tensor) -> Tensor:
        _check_positions_input(x, self.d_model, self.max_len)
        positions = torch.arange(x.shape[1], device=x.device)
        return self.dropout(x + self.embedding(positions))


def _check_positions_input(x: Tensor, d_model: int, max_len: int) -> None:
    check_tensor("x", x, floating=True)
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise ValueError(f"x must have shape (B, T, d_model={d_model}), got {tuple(x.shape)}")
    if x.shape[1] > max_len:
        raise ValueError(f"sequence length {x.shape[1]} exceeds the positional table's "
                         f"max_len={max_len}; build the encoding with a larger max_len or crop the "
                         "input")


# ----------------------------------------------------------------- why self-attention: costs, reach

#: The sequence layers ``layer_costs`` counts: one layer of width d over n positions.
SEQUENCE_LAYERS = ("self-attention", "rnn", "lstm", "convolution")


class LayerCost(NamedTuple):
    """What one sequence layer of width d costs over n positions (``layer_costs``)."""

    # multiply and add counted as 2 FLOPs, biases left out (as torch's FlopCounterMode)
    flops: int
    # the part that mixes positions: self-attention's q.k and weights @ v (4 n^2 d)
    mixing_flops: int
    sequential_steps: int  # operations that must wait for the previous position's result
    # steps (RNN: first input to last output) or layers (convolution: the middle output)
    path_length: int
                           # until one output depends on all n positions


def layer_costs(kind: str, n: int, d: int, kernel_size: int = 3) -> LayerCost:
    """FLOPs, sequential steps and path length of one ``kind`` layer (SEQUENCE_LAYERS), from the
    shapes.

    self-attention: four d x d projections (8 n d^2) plus the scores and the weighted sum (4 n^2 d);
    rnn: x W_ih + h W_hh per step (4 n d^2); lstm: four gates (16 n d^2); convolution (d -> d,
    ``kernel_size`` k): 2 k n d^2, and a stack needs ceil((n - 1) / (k - 1)) layers so that one
    output sees n positions (its receptive field grows by k - 1 per layer).
    """
    kind = check_choice("kind", kind, SEQUENCE_LAYERS)
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    k = check_int("kernel_size", kernel_size, minimum=2)
    if kind == "self-attention":
        return LayerCost(8 * n * d * d + 4 * n * n * d, 4 * n * n * d, 1, 1)
    if kind in ("rnn", "lstm"):
        gates = 1 if kind == "rnn" else 4
        return LayerCost(4 * gates * n * d * d, 2 * gates * n * d * d, n, n - 1)
    return LayerCost(2 * k * n * d * d, 2 * k * n * d * d, 1, -(-(n - 1) // (k - 1)))


def counted_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """FLOPs of ``fn(*args, **kwargs)`` counted by ``torch.utils.flop_counter.FlopCounterMode``
    (from shapes, no timing)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


def autograd_depth(output: Tensor) -> int:
    """The longest chain of dependent operations behind ``output`` in autograd's graph.

    A timing-free measure of what must run one after another: an RNN's chain grows with every
    step, self-attention's does not depend on the sequence length.
    """
    check_tensor("output", output)
    if output.grad_fn is None:
        raise ValueError("output must come from operations on tensors with requires_grad=True (it "
                         "has no grad_fn)")
    depth: dict[Any, int] = {}
    stack = [(output.grad_fn, False)]
    while stack:  # iterative post-order: an RNN's graph is thousands of nodes deep
        node, children_done = stack.pop()
        if node in depth:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if children_done:
            depth[node] = 1 + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if c not in depth)
    return depth[output.grad_fn]


class SequenceConvStack(nn.Module):
    """``n_layers`` 1-D convolutions (d -> d, odd ``kernel_size``, same length) with tanh, on (B, T,
    d)."""

    def __init__(self, n_layers: int, d: int, kernel_size: int = 3):
        super().__init__()
        n_layers = check_int("n_layers", n_layers, minimum=1)
        d = check_int("d", d, minimum=1)
        k = check_int("kernel_size", kernel_size, minimum=1)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd (centred on each position), got {k}")
        self.convs = nn.ModuleList(nn.Conv1d(d, d, k, padding=k // 2) for _ in range(n_layers))

    def forward(self, x: Tensor) -> Tensor:
        check_tensor("x", x, shape=("B", "T", f"d={self.convs[0].in_channels}"),
                     dtype=self.convs[0].weight.dtype)
        if x.shape[-1] != self.convs[0].in_channels:
            raise ValueError(f"x must have shape (B, T, d={self.convs[0].in_channels}), got "
                             f"{tuple(x.shape)}")
        h = x.transpose(1, 2)  # (B, d, T)
        for conv in self.convs:
            h = torch.tanh(conv(h))
        return h.transpose(1, 2)  # (B, T, d)


def input_influence(model: Callable[[Tensor], Tensor], x: Tensor, position: int) -> Tensor:
    """|d model(x)[:, position] / d x| summed over the batch and the features: (T,), one value per
    input position.

    ``model`` maps (B, T, d) to (B, T, d'); a position whose value is exactly 0 cannot influence
    output ``position`` (it is outside the receptive field)."""
    if not callable(model):
        raise TypeError(f"model must be callable, got {type(model).__name__}")
    check_tensor("x", x, shape=("B", "T", "d"), floating=True)
    position = check_int("position", position, minimum=0, maximum=x.shape[1] - 1)
    x = x.detach().requires_grad_(True)
    out = model(x)
    out = out[0] if isinstance(out, tuple) else out  # attention modules return (output, weights)
    if not isinstance(out, Tensor) or out.dim() != 3 or out.shape[:2] != x.shape[:2]:
        raise ValueError(f"model must return (B, T, d') for x of shape {tuple(x.shape)}, got "
                         f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    (grad,) = torch.autograd.grad(out[:, position].sum(), x)
    return grad.abs().sum(dim=(0, 2))  # (T,)


def receptive_field(model: Callable[[Tensor], Tensor], x: Tensor, position: int) -> int:
    """How many input positions influence output ``position`` (non-zero gradient), measured by
    autograd."""
    return int((input_influence(model, x, position) > 0).sum())
