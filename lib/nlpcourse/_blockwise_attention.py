"""Attention one block of scores at a time: the fast path behind
``attention.scaled_dot_product_attention(..., need_weights=False)``.

Chapter 08 teaches attention as softmax(q k^T / sqrt(d) + mask) v over all the weights at once.
This module computes the same numbers a block of query rows at a time (the idea of
FlashAttention), so the (T_q, T_k) weights never exist in full, with a hand-written backward
that recomputes each block's weights. Masks arrive checked, in the course's convention
(boolean, True = may attend, or additive 0 / -inf) and with no fully masked row (the caller
mends those and zeroes their output). Tested against the full weights and torch in
tests/test_attention.py; timed in benchmarks/attention_vs_torch.py.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["BLOCK_ELEMENTS", "blockwise_attention"]


def blockwise_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None,
                        scale: float) -> Tensor:
    """softmax(scale q k^T + mask) v for checked inputs (..., T, d); returns (..., T_q, d_v)."""
    out = _BlockwiseAttention.apply(*_as_blocks_input(q, k, v, mask), scale)  # (N, H, T_q, d_v)
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    return out.reshape(*batch, q.shape[-2], v.shape[-1])


#: Scores per block when ``need_weights=False``, per thread: 2**18 float32 numbers are 1 MiB, one
#: core's L2 cache on the 2-core AMD EPYC we benchmark on, so a block's scores are written,
#: soft-maxed and multiplied by v while they are still in cache. With ``n`` threads a block holds
#: ``n`` times as many (each thread works on its share of it), which also keeps the number of
#: parallel regions (each one a wait for every thread) small. Chosen with
#: benchmarks/attention_vs_torch.py.
BLOCK_ELEMENTS = 1 << 18


def _as_blocks_input(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None):
    """q, k, v as (N, H, T, d) with one batch shape, and the mask as ``_block_weights`` takes it.

    Expanded views; the batch dimensions before the last are merged into N (a view unless
    broadcasting forbids it) and (T, d) inputs become (1, 1, T, d). The mask becomes an additive
    (N, H, T_q, T_k) view: a boolean one (True = may attend, the course's convention) is turned
    into 0 / -inf at its own small shape first, so nothing of the scores' size is made."""
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]) or torch.Size([1])

    def four_d(t: Tensor, last: torch.Size) -> Tensor:
        return t.expand(*batch, *last).reshape(-1, batch[-1], *last)

    q4, k4, v4 = (four_d(t, t.shape[-2:]) for t in (q, k, v))
    if mask is not None:
        additive = (mask if mask.dtype != torch.bool
                    else torch.zeros(mask.shape, dtype=q.dtype).masked_fill(~mask, float("-inf")))
        mask = four_d(additive, torch.Size((q.shape[-2], k.shape[-2])))
    return q4, k4, v4, mask


def _block_shape(shape: torch.Size) -> tuple[int, int, int]:
    """(n_rows, n_heads, n_queries) of a block of the scores (N, H, T_q, T_k): about
    ``BLOCK_ELEMENTS`` numbers per thread; several heads only with all their query rows, several
    batch rows only with all their heads, so a block of a contiguous tensor is contiguous."""
    n, h, t_q, t_k = shape
    block = BLOCK_ELEMENTS * max(1, torch.get_num_threads())
    n_queries = min(t_q, max(1, block // t_k))
    n_heads = min(h, max(1, block // (t_q * t_k))) if n_queries == t_q else 1
    n_rows = min(n, max(1, block // (h * t_q * t_k))) if n_heads == h else 1
    return n_rows, n_heads, n_queries


def _blocks(shape: torch.Size):
    """Tile the scores (N, H, T_q, T_k) into blocks of ``_block_shape``: yield (rows, heads,
    queries) slices. A block's part of a contiguous (N, H, T_q, d) tensor is contiguous, so a
    matmul can write it in place (``out=``)."""
    n_rows, n_heads, n_queries = _block_shape(shape)
    for r in range(0, shape[0], n_rows):
        for h in range(0, shape[1], n_heads):
            for i in range(0, shape[2], n_queries):
                yield slice(r, r + n_rows), slice(h, h + n_heads), slice(i, i + n_queries)


def _flat(t: Tensor, block: tuple[slice, ...]) -> Tensor:
    """The block's part of t (N, H, T, d), rows and heads merged: (n_rows * n_heads, n_t, d)."""
    # a view for our own contiguous tensors; may copy an input's block
    return t[block].flatten(0, 1)


def _block_weights(q: Tensor, k: Tensor, mask: Tensor | None, scale: float,
                   block: tuple[slice, slice, slice],
                   buffer: Tensor) -> Tensor:
    """One block's weights softmax(scale q k^T + mask), (n_rows * n_heads, n_queries, T_k), in
    ``buffer``.

    q (N, H, T_q, d_k), k (N, H, T_k, d_k) and ``mask`` from ``_as_blocks_input``; ``buffer``
    is contiguous, at least the block's size (a smaller last block uses its front)."""
    rows, heads, queries = block
    q_b, k_b = _flat(q, block), _flat(k, (rows, heads))  # (n, n_queries, d_k), (n, T_k, d_k)
    scores = buffer.view(-1)[: q_b.shape[0] * q_b.shape[1]
                             * k_b.shape[1]].view(q_b.shape[0], q_b.shape[1], -1)
    # the scale rides in the matmul (alpha), as torch scales q k^T; beta=0 ignores the old contents
    torch.baddbmm(scores, q_b, k_b.transpose(-2, -1), beta=0, alpha=scale, out=scores)
    if mask is not None:
        mask_b = mask[block]  # (n_rows, n_heads, n_queries, T_k), a view
        scores.view(mask_b.shape).add_(mask_b)  # 0 keeps a score, -inf drops it
    return torch.softmax(scores, dim=-1, out=scores)  # in place


def _attend_in_blocks(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float) -> Tensor:
    """softmax(scale q k^T + mask) v one block (``_blocks``) at a time, for inputs from
    ``_as_blocks_input``, each block's weights in one reused buffer; returns (N, H, T_q, d_v)."""
    shape = torch.Size((*q.shape[:-1], k.shape[-2]))  # the scores' (N, H, T_q, T_k)
    out = q.new_empty(*q.shape[:-1], v.shape[-1])  # (N, H, T_q, d_v)
    n_rows, n_heads, n_queries = _block_shape(shape)
    buffer = q.new_empty(n_rows * n_heads, n_queries, shape[-1])
    for block in _blocks(shape):
        w_b = _block_weights(q, k, mask, scale, block, buffer)  # (n, n_queries, T_k)
        torch.bmm(w_b, _flat(v, block[:2]), out=_flat(out, block))  # written in place
    return out


class _BlockwiseAttention(torch.autograd.Function):
    """softmax(scale q k^T + mask) v one block at a time (see ``_blocks``), never all the weights.

    q, k, v: (N, H, T, d) and the mask from ``_as_blocks_input``; the forward keeps only the
    output O; the backward recomputes each block's weights W and uses, with dO the output's
    gradient, dV = W^T dO, dS = W * (dO V^T - rowsum(dO * O)), dQ = scale dS K, dK = scale dS^T Q.
    """

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float) -> Tensor:
        out = _attend_in_blocks(q, k, v, mask, scale)  # (N, H, T_q, d_v)
        ctx.save_for_backward(q, k, v, mask, out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, d_out: Tensor):
        q, k, v, mask, out = ctx.saved_tensors
        scale = ctx.scale
        shape = torch.Size((*q.shape[:-1], k.shape[-2]))
        dq = torch.empty(q.shape, dtype=q.dtype, device=q.device)  # every block writes its rows
        # sums over blocks
        dk, dv = (torch.zeros(t.shape, dtype=t.dtype, device=t.device) for t in (k, v))
        n_rows, n_heads, n_queries = _block_shape(shape)
        buffer = q.new_empty(n_rows * n_heads, n_queries, shape[-1])
        for block in _blocks(shape):
            rows_heads = block[:2]
            weights = _block_weights(q, k, mask, scale, block, buffer)  # W: (n, n_queries, T_k)
            # (n, n_queries, d)
            q_b, d_out_b, out_b = _flat(q, block), _flat(d_out, block), _flat(out, block)
            _flat(dv, rows_heads).baddbmm_(weights.transpose(-2, -1), d_out_b)  # dV += W^T dO
            # dW = dO V^T, then dS in place
            d_scores = torch.bmm(d_out_b, _flat(v, rows_heads).transpose(-2, -1))
            d_scores.sub_((d_out_b * out_b).sum(-1, keepdim=True)).mul_(weights)
            dq_b = _flat(dq, block)
            # dQ = scale dS K
            torch.baddbmm(dq_b, d_scores, _flat(k, rows_heads), beta=0, alpha=scale, out=dq_b)
            # dK += scale dS^T Q
            _flat(dk, rows_heads).baddbmm_(d_scores.transpose(-2, -1), q_b, alpha=scale)
        return dq, dk, dv, None, None
