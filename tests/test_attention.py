"""nlpcourse.attention against torch: scaled dot-product attention, masks, multi-head
attention with copied weights (outputs and gradients), positional encodings, bad input."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import attention as at
from nlpcourse import _blockwise_attention as blockwise

F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)


def rand(*shape, dtype=torch.float64, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(grad)


# --------------------------------------------------------------------------- masks

def test_padding_mask_by_hand():
    m = at.padding_mask([3, 1, 0], 4)
    assert m.shape == (3, 1, 1, 4) and m.dtype == torch.bool
    assert m[:, 0, 0].tolist() == [[True, True, True, False], [True, False, False, False], [False] * 4]
    assert at.padding_mask(torch.tensor([2, 1])).shape == (2, 1, 1, 2)  # max_len defaults to the longest


def test_causal_mask_by_hand():
    assert at.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_combined_mask_is_and_of_padding_and_causal():
    m = at.combine_masks(at.padding_mask([2, 3], 3), at.causal_mask(3))
    assert m.shape == (2, 1, 3, 3)
    assert m[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, False]]
    assert m[1, 0].tolist() == at.causal_mask(3).tolist()
    assert at.combine_masks(None, at.causal_mask(2)).tolist() == at.causal_mask(2).tolist()
    assert at.combine_masks(None) is None


def test_to_additive_mask():
    add = at.to_additive_mask(at.causal_mask(2))
    assert add.tolist() == [[0.0, -math.inf], [0.0, 0.0]]


# --------------------------------------------------------------------------- scaled dot-product attention

def test_attention_by_hand():
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    v = torch.tensor([[10.0], [20.0]], dtype=torch.float64)
    out, w = at.scaled_dot_product_attention(q, k, v)
    a = math.exp(1 / math.sqrt(2))
    expected = torch.tensor([[a / (a + 1), 1 / (a + 1)]], dtype=torch.float64)
    torch.testing.assert_close(w, expected, **F64)
    torch.testing.assert_close(out, expected @ v, **F64)


MASKS = {
    "none": lambda b, t: None,
    "padding": lambda b, t: at.padding_mask([t, t - 2, 1][:b], t),
    "causal": lambda b, t: at.causal_mask(t),
    "padding+causal": lambda b, t: at.combine_masks(at.padding_mask([t, t - 2, 1][:b], t), at.causal_mask(t)),
}


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_attention_equals_torch_output_and_gradients(mask_name, dtype, tol):
    b, h, t, d = 3, 2, 6, 8
    q, k, v = (rand(b, h, t, d, dtype=dtype, seed=s, grad=True) for s in range(3))
    mask = MASKS[mask_name](b, t)
    out, w = at.scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, **tol)
    torch.testing.assert_close(w.sum(-1), torch.ones(b, h, t, dtype=dtype), **tol)
    upstream = rand(b, h, t, d, dtype=dtype, seed=9)
    ours = torch.autograd.grad(out, (q, k, v), upstream)
    theirs = torch.autograd.grad(ref, (q, k, v), upstream)
    for a, r in zip(ours, theirs):
        torch.testing.assert_close(a, r, **tol)


def test_masked_entries_are_exactly_zero_and_additive_equals_boolean():
    mask = at.combine_masks(at.padding_mask([4, 2], 4), at.causal_mask(4))
    q, k, v = (rand(2, 1, 4, 5, seed=s) for s in range(3))
    out_b, w_b = at.scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(w_b[~mask.expand_as(w_b)] == 0.0)
    out_a, w_a = at.scaled_dot_product_attention(q, k, v, at.to_additive_mask(mask, torch.float64))
    torch.testing.assert_close(out_a, out_b, **F64)
    torch.testing.assert_close(w_a, w_b, **F64)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=at.to_additive_mask(mask, torch.float64))
    torch.testing.assert_close(out_a, ref, **F64)


@pytest.mark.parametrize("additive", [False, True])
def test_fully_masked_row_gives_zeros_and_finite_gradients(additive):
    mask = at.padding_mask([3, 0], 3)  # the second sequence has no key at all
    mask = mask.expand(2, 1, 3, 3).clone()
    mask[0, 0, 1] = False  # and one fully masked query row in the first
    if additive:
        mask = at.to_additive_mask(mask, torch.float64)
    q, k, v = (rand(2, 1, 3, 4, seed=s, grad=True) for s in range(3))
    out, w = at.scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(out[1] == 0) and torch.all(w[1] == 0)
    assert torch.all(out[0, 0, 1] == 0) and torch.all(w[0, 0, 1] == 0)
    torch.testing.assert_close(w[0, 0, [0, 2]].sum(-1), torch.ones(2, dtype=torch.float64), **F64)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    assert all(torch.isfinite(g).all() for g in grads)
    assert torch.all(grads[0][1] == 0)  # an empty row passes no gradient to its query
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # torch also gives zeros
    torch.testing.assert_close(out, ref, **F64)


def test_dropout_only_in_training_and_reproducible():
    q, k, v = (rand(2, 5, 4, seed=s) for s in range(3))
    out_eval, _ = at.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False)
    out_plain, _ = at.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out_eval, out_plain, **F64)
    torch.manual_seed(1)
    _, w1 = at.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    torch.manual_seed(1)
    _, w2 = at.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    assert torch.equal(w1, w2) and (w1 == 0).any()


def test_scaling_keeps_score_variance_near_one():
    # q.k of unit-variance vectors has variance d_k; dividing by sqrt(d_k) brings it back to 1
    g = torch.Generator().manual_seed(0)
    for d in (4, 64, 512):
        q, k = torch.randn(20000, d, generator=g), torch.randn(20000, d, generator=g)
        raw = (q * k).sum(-1)
        assert raw.var().item() == pytest.approx(d, rel=0.05)
        assert (raw / math.sqrt(d)).var().item() == pytest.approx(1.0, rel=0.05)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.booleans())
def test_property_matches_torch_for_any_lengths(lengths, causal):
    t = max(lengths)
    mask = at.combine_masks(at.padding_mask(lengths, t), at.causal_mask(t) if causal else None)
    q, k, v = (rand(len(lengths), 2, t, 3, seed=s) for s in range(3))
    out, w = at.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **F64)
    assert torch.all(w.masked_select(~mask.expand_as(w)) == 0)


# --------------------------------------------------------------------------- multi-head attention

def make_pair(d=16, h=4, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(d, h, batch_first=True).to(dtype)
    ours = at.MultiHeadAttention(d, h).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_parameter_layout_matches_torch():
    ours, theirs = make_pair()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_multihead_self_attention_equals_torch(mask_name, dtype, tol):
    b, t, d, h = 3, 6, 16, 4
    ours, theirs = make_pair(d, h, dtype)
    x = rand(b, t, d, dtype=dtype, grad=True)
    mask = MASKS[mask_name](b, t)
    out, w = ours(x, mask=mask)
    if mask is None:
        ref, ref_w = theirs(x, x, x, need_weights=True, average_attn_weights=False)
    elif mask_name == "padding":  # torch's key_padding_mask: True = ignore
        ref, ref_w = theirs(x, x, x, key_padding_mask=~mask[:, 0, 0], average_attn_weights=False)
    elif mask_name == "causal":
        ref, ref_w = theirs(x, x, x, attn_mask=~mask, average_attn_weights=False)
    else:
        ref, ref_w = theirs(x, x, x, attn_mask=at.to_torch_mha_masks(mask, h), average_attn_weights=False)
    torch.testing.assert_close(out, ref, **tol)
    torch.testing.assert_close(w, ref_w, **tol)
    upstream = rand(b, t, d, dtype=dtype, seed=5)
    g_ours = torch.autograd.grad(out, [x, *ours.parameters()], upstream)
    g_theirs = torch.autograd.grad(ref, [x, *theirs.parameters()], upstream)
    for a, r in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, r, **tol)


def test_multihead_cross_attention_equals_torch():
    ours, theirs = make_pair(12, 3)
    query, memory = rand(2, 4, 12, seed=1), rand(2, 7, 12, seed=2)
    value = rand(2, 7, 12, seed=3)
    mask = at.padding_mask([7, 3], 7)
    out, w = ours(query, memory, memory, mask)
    ref, ref_w = theirs(query, memory, memory, key_padding_mask=~mask[:, 0, 0], average_attn_weights=False)
    torch.testing.assert_close(out, ref, **F64)
    torch.testing.assert_close(w, ref_w, **F64)
    out, _ = ours(query, memory, value)  # distinct key and value tensors
    torch.testing.assert_close(out, theirs(query, memory, value)[0], **F64)


def test_multihead_records_weights_inside_recorded_weights_only():
    ours, _ = make_pair()
    x = rand(1, 3, 16)
    with at.recorded_weights(ours) as kept:
        _, w = ours(x)
        _, w2 = ours(x[:, :2])
    assert list(kept) == [""] and len(kept[""]) == 2
    assert torch.equal(kept[""][0], w) and torch.equal(kept[""][1], w2)
    ours(x)
    assert len(kept[""]) == 2  # the recording stopped with the block
    with pytest.raises(RuntimeError, match="already being recorded"):
        with at.recorded_weights(ours):
            with at.recorded_weights(ours):
                pass
    with at.recorded_weights(ours) as again:  # and an error inside the block leaves it stopped
        with pytest.raises(ValueError):
            ours(rand(1, 3, 8))
    ours(x)
    assert again[""] == []
    with pytest.raises(ValueError, match="must contain a MultiHeadAttention"):
        with at.recorded_weights(torch.nn.Linear(2, 2)):
            pass
    with pytest.raises(TypeError, match="model must be"):
        with at.recorded_weights("model"):
            pass


# --------------------------------------------------------------------------- positions

def test_sinusoidal_table_by_hand():
    pe = at.sinusoidal_positions(50, 8).double()
    p, i = 7, 2
    assert pe[p, 2 * i].item() == pytest.approx(math.sin(p / 10000 ** (2 * i / 8)), abs=1e-6)
    assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(p / 10000 ** (2 * i / 8)), abs=1e-6)
    assert pe[0, 0::2].abs().max() == 0 and torch.all(pe[0, 1::2] == 1)


@pytest.mark.parametrize("offset", [1, 3, -2])
def test_relative_position_is_a_linear_map(offset):
    d = 16
    table = at.sinusoidal_positions(40, d).double()
    m = at.relative_position_map(offset, d)
    positions = range(max(0, -offset), 40 - max(0, offset))
    for p in positions:
        torch.testing.assert_close(m @ table[p], table[p + offset], rtol=1e-5, atol=1e-6)


def test_one_hot_position_times_wp_equals_adding_ei():
    # the notes' argument: W [x; p] = W^I x + W^P p, and W^P p_i is column i of W^P (= e_i)
    g = torch.Generator().manual_seed(0)
    d_in, n_pos, d = 5, 7, 4
    wi, wp = torch.randn(d, d_in, generator=g, dtype=torch.float64), torch.randn(d, n_pos, generator=g, dtype=torch.float64)
    x, i = torch.randn(d_in, generator=g, dtype=torch.float64), 3
    p = torch.zeros(n_pos, dtype=torch.float64)
    p[i] = 1
    torch.testing.assert_close(torch.cat([wi, wp], 1) @ torch.cat([x, p]), wi @ x + wp[:, i], **F64)


@pytest.mark.parametrize("cls", [at.SinusoidalPositionalEncoding, at.LearnedPositionalEncoding])
def test_positional_encodings_add_one_vector_per_position(cls):
    enc = cls(8, max_len=10)
    x = torch.zeros(2, 5, 8)
    out = enc(x)
    assert out.shape == (2, 5, 8)
    torch.testing.assert_close(out[0], out[1])  # same positions, same vectors
    if cls is at.SinusoidalPositionalEncoding:
        torch.testing.assert_close(out[0], at.sinusoidal_positions(10, 8)[:5])
    else:
        torch.testing.assert_close(out[0], enc.embedding.weight[:5].detach())
        assert enc.embedding.weight.requires_grad


# --------------------------------------------------------------------------- bad input

def test_d_model_not_divisible_by_heads():
    with pytest.raises(ValueError, match=r"d_model must be divisible by n_heads: got d_model=10, n_heads=3"):
        at.MultiHeadAttention(10, 3)


def test_mask_that_does_not_broadcast_names_both_shapes():
    q = rand(2, 2, 5, 4)
    with pytest.raises(ValueError, match=r"mask of shape \(5, 4\) does not broadcast to the scores' shape \(2, 2, 5, 5\)"):
        at.scaled_dot_product_attention(q, q, q, torch.ones(5, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 1, 1, 5\) does not broadcast"):
        at.scaled_dot_product_attention(q, q, q, at.padding_mask([5, 5, 5], 5))
    with pytest.raises(ValueError, match=r"masks\[1\] of shape \(4, 4\) does not broadcast"):
        at.combine_masks(at.padding_mask([5], 5), at.causal_mask(4))


def test_boolean_additive_mixups():
    q = rand(1, 3, 4)
    with pytest.raises(TypeError, match=r"mask must be boolean .* or a float additive mask .* got dtype torch.int64"):
        at.scaled_dot_product_attention(q, q, q, torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"additive mask must have the scores' dtype torch.float64, got torch.float32"):
        at.scaled_dot_product_attention(q, q, q, torch.zeros(3, 3))
    with pytest.raises(TypeError, match=r"masks\[0\] must be a boolean mask .* got dtype torch.float32"):
        at.combine_masks(torch.zeros(3, 3), at.causal_mask(3))
    with pytest.raises(TypeError, match=r"mask must be boolean to convert"):
        at.to_additive_mask(torch.zeros(3, 3))


def test_sequence_longer_than_positional_table():
    for cls in (at.SinusoidalPositionalEncoding, at.LearnedPositionalEncoding):
        with pytest.raises(ValueError, match=r"sequence length 11 exceeds the positional table's max_len=10"):
            cls(8, max_len=10)(torch.zeros(1, 11, 8))


def test_other_bad_shapes_and_values():
    q = rand(1, 3, 4)
    with pytest.raises(ValueError, match=r"q and k must have the same last dimension d_k, got q \(1, 3, 4\) and k \(1, 3, 5\)"):
        at.scaled_dot_product_attention(q, rand(1, 3, 5), rand(1, 3, 5))
    with pytest.raises(ValueError, match=r"k and v must have the same number of positions"):
        at.scaled_dot_product_attention(q, q, rand(1, 2, 4))
    with pytest.raises(TypeError, match=r"q must be a torch.Tensor, got ndarray"):
        at.scaled_dot_product_attention(np.zeros((3, 4)), q, q)
    with pytest.raises(ValueError, match=r"dropout_p must be < 1.0"):
        at.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    with pytest.raises(ValueError, match=r"query must have shape \(B, T, d_model=16\), got \(2, 3, 8\)"):
        at.MultiHeadAttention(16, 4)(rand(2, 3, 8))
    with pytest.raises(ValueError, match=r"lengths must be <= max_len=3, got a length of 4"):
        at.padding_mask([4, 1], 3)
    with pytest.raises(ValueError, match=r"lengths\[1\] must be >= 0, got -1"):
        at.padding_mask([2, -1], 3)
    with pytest.raises(TypeError, match=r"lengths must be a 1-D integer tensor"):
        at.padding_mask(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"size must be >= 1, got 0"):
        at.causal_mask(0)
    with pytest.raises(ValueError, match=r"d_model must be even for sin/cos pairs, got 7"):
        at.sinusoidal_positions(4, 7)


# --------------------------------------------------------------------------- fused path and is_causal

def additive(mask, dtype):
    return None if mask is None else at.to_additive_mask(mask, dtype)


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("is_causal", [False, True], ids=["", "is_causal"])
@pytest.mark.parametrize("as_additive", [False, True], ids=["bool", "additive"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_fused_equals_course_path_outputs_and_gradients(mask_name, is_causal, as_additive, dtype, tol):
    b, h, t, d = 3, 2, 6, 8
    q, k, v = (rand(b, h, t, d, dtype=dtype, seed=s, grad=True) for s in range(3))
    mask = MASKS[mask_name](b, t)
    if as_additive:
        mask = additive(mask, dtype)
    out, _ = at.scaled_dot_product_attention(q, k, v, mask, is_causal=is_causal)
    fused = at.fused_attention(q, k, v, mask, is_causal=is_causal)
    torch.testing.assert_close(fused, out, **tol)
    upstream = rand(b, h, t, d, dtype=dtype, seed=9)
    for a, r in zip(torch.autograd.grad(fused, (q, k, v), upstream), torch.autograd.grad(out, (q, k, v), upstream)):
        torch.testing.assert_close(a, r, **tol)


@pytest.mark.parametrize("t_q,t_k", [(3, 5), (5, 3)])
def test_is_causal_equals_passing_the_causal_mask_also_when_not_square(t_q, t_k):
    q, k, v = rand(2, t_q, 4, seed=1), rand(2, t_k, 4, seed=2), rand(2, t_k, 3, seed=3)
    lower = torch.ones(t_q, t_k, dtype=torch.bool).tril()  # torch's is_causal: query i sees keys 0..i
    pad = torch.tensor([[True] * t_k, [True] * (t_k - 1) + [False]])[:, None, :]  # (2, 1, T_k)
    for mask in (None, pad):
        out, w = at.scaled_dot_product_attention(q, k, v, mask, is_causal=True)
        ref, ref_w = at.scaled_dot_product_attention(q, k, v, at.combine_masks(mask, lower))
        torch.testing.assert_close(out, ref, **F64)
        torch.testing.assert_close(w, ref_w, **F64)
        torch.testing.assert_close(at.fused_attention(q, k, v, mask, is_causal=True), ref, **F64)
        theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=at.combine_masks(mask, lower))
        torch.testing.assert_close(out, theirs, **F64)
    torch.testing.assert_close(at.fused_attention(q, k, v, is_causal=True),
                               F.scaled_dot_product_attention(q, k, v, is_causal=True), **F64)


@pytest.mark.parametrize("as_additive", [False, True], ids=["bool", "additive"])
def test_fused_fully_masked_row_gives_zeros_like_ours(as_additive):
    mask = at.padding_mask([3, 0], 3).expand(2, 1, 3, 3).clone()
    mask[0, 0, 1] = False
    if as_additive:
        mask = at.to_additive_mask(mask, torch.float64)
    q, k, v = (rand(2, 1, 3, 4, seed=s, grad=True) for s in range(3))
    fused = at.fused_attention(q, k, v, mask)
    out, _ = at.scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(fused[1] == 0) and torch.all(fused[0, 0, 1] == 0)
    torch.testing.assert_close(fused, out, **F64)
    g_fused = torch.autograd.grad(fused.sum(), (q, k, v))
    g_ours = torch.autograd.grad(out.sum(), (q, k, v))
    for a, r in zip(g_fused, g_ours):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, r, **F64)
    # a padding mask with an empty sequence and is_causal: still zeros, not NaN
    pad = at.padding_mask([3, 0], 3)
    fused = at.fused_attention(q, k, v, pad, is_causal=True)
    assert torch.all(fused[1] == 0) and torch.isfinite(fused).all()
    torch.testing.assert_close(fused, at.scaled_dot_product_attention(q, k, v, pad, is_causal=True)[0], **F64)


def test_fused_dropout_only_in_training():
    q, k, v = (rand(2, 5, 4, seed=s) for s in range(3))
    plain = at.fused_attention(q, k, v)
    torch.testing.assert_close(at.fused_attention(q, k, v, dropout_p=0.5, training=False), plain, **F64)
    torch.manual_seed(1)
    a = at.fused_attention(q, k, v, dropout_p=0.5, training=True)
    torch.manual_seed(1)
    b = at.fused_attention(q, k, v, dropout_p=0.5, training=True)
    assert torch.equal(a, b) and not torch.allclose(a, plain)


def test_fused_bad_input_same_errors_as_ours():
    q = rand(2, 2, 5, 4)
    with pytest.raises(ValueError, match=r"mask of shape \(5, 4\) does not broadcast to the scores' shape \(2, 2, 5, 5\)"):
        at.fused_attention(q, q, q, torch.ones(5, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"mask must be boolean .* got dtype torch.int64"):
        at.fused_attention(q, q, q, torch.ones(5, 5, dtype=torch.long))
    with pytest.raises(TypeError, match=r"additive mask must have the scores' dtype torch.float64, got torch.float32"):
        at.fused_attention(q, q, q, torch.zeros(5, 5), is_causal=True)
    with pytest.raises(ValueError, match=r"q and k must have the same last dimension d_k"):
        at.fused_attention(q, rand(2, 2, 5, 3), rand(2, 2, 5, 3))
    with pytest.raises(ValueError, match=r"k and v must have the same number of positions"):
        at.fused_attention(q, q, rand(2, 2, 4, 4))
    with pytest.raises(ValueError, match=r"q, k and v must share \(or broadcast\) their leading dimensions"):
        at.fused_attention(q, rand(3, 2, 5, 4), rand(3, 2, 5, 4))
    with pytest.raises(ValueError, match=r"dropout_p must be < 1.0"):
        at.fused_attention(q, q, q, dropout_p=1.0)


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_fused_multihead_equals_torch(mask_name, dtype, tol):
    b, t, d, h = 3, 6, 16, 4
    ours, theirs = make_pair(d, h, dtype)
    ours.fused = True
    x = rand(b, t, d, dtype=dtype, grad=True)
    mask = MASKS[mask_name](b, t)
    out, w = ours(x, mask=mask)
    assert w is None
    ref, _ = theirs(x, x, x, need_weights=False,
                    attn_mask=at.to_torch_mha_masks(None if mask is None else mask.expand(b, 1, t, t), h))
    torch.testing.assert_close(out, ref, **tol)
    upstream = rand(b, t, d, dtype=dtype, seed=5)
    g_ours = torch.autograd.grad(out, [x, *ours.parameters()], upstream)
    g_theirs = torch.autograd.grad(ref, [x, *theirs.parameters()], upstream)
    for a, r in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, r, **tol)


@pytest.mark.parametrize("fused", [False, True])
def test_multihead_is_causal_equals_the_causal_mask_and_torch(fused):
    b, t, d, h = 2, 5, 12, 3
    ours, theirs = make_pair(d, h)
    ours.fused = fused
    x = rand(b, t, d)
    pad = at.padding_mask([5, 3], t)
    for mask in (None, pad):
        out, w = ours(x, mask=mask, is_causal=True)
        ref, ref_w = ours.__class__.forward(ours, x, mask=at.combine_masks(mask, at.causal_mask(t)))
        torch.testing.assert_close(out, ref, **F64)
        assert (w is None) == fused
        combined = at.combine_masks(mask, at.causal_mask(t)).expand(b, 1, t, t)
        theirs_out, _ = theirs(x, x, x, attn_mask=at.to_torch_mha_masks(combined, h), need_weights=False)
        torch.testing.assert_close(out, theirs_out, **F64)


def test_fused_multihead_keeps_weights_when_asked_and_constructor_flag():
    ours, _ = make_pair()
    fused = at.MultiHeadAttention(16, 4, fused=True).double()
    fused.load_state_dict(ours.state_dict())
    assert fused.fused and not ours.fused
    x = rand(2, 3, 16)
    assert fused(x)[1] is None  # the fused kernel gives no weights
    with at.recorded_weights(fused) as kept:  # weights wanted: the course path runs and returns them
        out, w = fused(x, is_causal=True)
    ref, ref_w = ours(x, is_causal=True)
    assert torch.equal(kept[""][0], w)
    torch.testing.assert_close(w, ref_w, **F64)
    torch.testing.assert_close(out, ref, **F64)


# --------------------------------------------------------------------------- need_weights=False: attention in blocks

@pytest.fixture(params=[None, 7, 40], ids=["default-blocks", "blocks-of-7", "blocks-of-40"])
def block_elements(request, monkeypatch):
    """Small blocks split batches and queries unevenly, so every block boundary is exercised."""
    if request.param is not None:
        monkeypatch.setattr(blockwise, "BLOCK_ELEMENTS", request.param)
    return request.param


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("as_additive", [False, True], ids=["bool", "additive"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_blocks_equal_full_weights_and_torch(block_elements, mask_name, as_additive, dtype, tol):
    b, h, t, d = 3, 2, 6, 8
    q, k, v = (rand(b, h, t, d, dtype=dtype, seed=s, grad=True) for s in range(3))
    mask = MASKS[mask_name](b, t)
    if as_additive:
        mask = additive(mask, dtype)
    out, w = at.scaled_dot_product_attention(q, k, v, mask, need_weights=False)
    assert w is None
    full, _ = at.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, full, **tol)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **tol)
    upstream = rand(b, h, t, d, dtype=dtype, seed=9)
    for a, r in zip(torch.autograd.grad(out, (q, k, v), upstream), torch.autograd.grad(full, (q, k, v), upstream)):
        torch.testing.assert_close(a, r, **tol)


def test_blocks_gradcheck(monkeypatch):
    monkeypatch.setattr(blockwise, "BLOCK_ELEMENTS", 10)  # 2 queries x 5 keys per block
    q, k, v = rand(2, 5, 3, seed=1, grad=True), rand(2, 5, 3, seed=2, grad=True), rand(2, 5, 4, seed=3, grad=True)
    mask = at.combine_masks(at.padding_mask([5, 2], 5)[:, 0], at.causal_mask(5))  # (2, 5, 5)
    assert torch.autograd.gradcheck(
        lambda q, k, v: at.scaled_dot_product_attention(q, k, v, mask, need_weights=False)[0], (q, k, v),
        fast_mode=True)


def test_blocks_broadcast_batches_and_two_dimensional_inputs(block_elements):
    q = rand(2, 3, 5, 4, seed=1, grad=True)
    k, v = rand(1, 3, 6, 4, seed=2, grad=True), rand(1, 3, 6, 2, seed=3, grad=True)  # shared by the batch
    mask = at.padding_mask([6, 4], 6)
    out, _ = at.scaled_dot_product_attention(q, k, v, mask, need_weights=False, is_causal=True)
    full, _ = at.scaled_dot_product_attention(q, k, v, mask, is_causal=True)
    assert out.shape == (2, 3, 5, 2)
    torch.testing.assert_close(out, full, **F64)
    g_blocks = torch.autograd.grad(out.square().sum(), (q, k, v))
    g_full = torch.autograd.grad(full.square().sum(), (q, k, v))
    for a, r in zip(g_blocks, g_full):
        assert a.shape == r.shape
        torch.testing.assert_close(a, r, **F64)
    q2, k2, v2 = rand(4, 3, seed=4), rand(7, 3, seed=5), rand(7, 5, seed=6)  # no batch dimension at all
    out2, _ = at.scaled_dot_product_attention(q2, k2, v2, need_weights=False)
    assert out2.shape == (4, 5)
    torch.testing.assert_close(out2, at.scaled_dot_product_attention(q2, k2, v2)[0], **F64)


@pytest.mark.parametrize("as_additive", [False, True], ids=["bool", "additive"])
def test_blocks_fully_masked_row_gives_zeros(block_elements, as_additive):
    mask = at.padding_mask([3, 0], 3).expand(2, 1, 3, 3).clone()
    mask[0, 0, 1] = False
    if as_additive:
        mask = at.to_additive_mask(mask, torch.float64)
    q, k, v = (rand(2, 1, 3, 4, seed=s, grad=True) for s in range(3))
    out, _ = at.scaled_dot_product_attention(q, k, v, mask, need_weights=False)
    assert torch.all(out[1] == 0) and torch.all(out[0, 0, 1] == 0)
    full, _ = at.scaled_dot_product_attention(q, k, v, mask)
    for a, r in zip(torch.autograd.grad(out.sum(), (q, k, v)), torch.autograd.grad(full.sum(), (q, k, v))):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, r, **F64)


def test_no_weights_with_dropout_falls_back_and_weights_without_autograd_are_the_same():
    q, k, v = (rand(2, 5, 4, seed=s) for s in range(3))
    torch.manual_seed(3)
    out, w = at.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True, need_weights=False)
    torch.manual_seed(3)
    ref, _ = at.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    assert w is None and torch.equal(out, ref)
    mask = at.padding_mask([5, 0], 5)[:, 0]  # (2, 1, 5): an empty second sequence
    q.requires_grad_(True)
    with_grad = at.scaled_dot_product_attention(q, k, v, mask)
    with torch.no_grad():  # the weights overwrite the scores in place here
        no_grad = at.scaled_dot_product_attention(q, k, v, mask)
    for a, r in zip(with_grad, no_grad):
        torch.testing.assert_close(a.detach(), r, **F64)


def test_multihead_need_weights_false():
    b, t, d, h = 2, 5, 12, 3
    ours, theirs = make_pair(d, h)
    x = rand(b, t, d, grad=True)
    mask = at.padding_mask([5, 2], t)
    out, w = ours(x, mask=mask, need_weights=False, is_causal=True)
    assert w is None
    full, full_w = ours(x, mask=mask, is_causal=True)
    torch.testing.assert_close(out, full, **F64)
    combined = at.combine_masks(mask, at.causal_mask(t)).expand(b, 1, t, t)
    ref, _ = theirs(x, x, x, attn_mask=at.to_torch_mha_masks(combined, h), need_weights=False)
    torch.testing.assert_close(out, ref, **F64)
    upstream = rand(b, t, d, seed=5)
    g_ours = torch.autograd.grad(out, [x, *ours.parameters()], upstream)
    g_theirs = torch.autograd.grad(ref, [x, *theirs.parameters()], upstream)
    for a, r in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, r, **F64)
    with at.recorded_weights(ours):  # weights asked for: they are computed and returned anyway
        _, kept = ours(x, mask=mask, need_weights=False, is_causal=True)
    torch.testing.assert_close(kept, full_w, **F64)


@pytest.mark.parametrize("need_weights", [True, False])
def test_left_padding_with_is_causal_empties_rows_without_nan(need_weights):
    # left padding: the first query of the short sequence may only see key 0, which is padding
    keep = torch.tensor([[True, True, True, True], [False, False, True, True]])[:, None, None, :]
    q, k, v = (rand(2, 1, 4, 3, seed=s, grad=True) for s in range(3))
    out, _ = at.scaled_dot_product_attention(q, k, v, keep, is_causal=True, need_weights=need_weights)
    assert torch.isfinite(out).all() and torch.all(out[1, 0, :2] == 0)
    ref, _ = at.scaled_dot_product_attention(q, k, v, at.combine_masks(keep, at.causal_mask(4)))
    torch.testing.assert_close(out, ref, **F64)
    torch.testing.assert_close(at.fused_attention(q, k, v, keep, is_causal=True), ref, **F64)
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(out.sum(), (q, k, v)))


# --------------------------------------------------------------------------- blocks: tiling, scale, strides; weights without autograd

@pytest.mark.parametrize("shape,elements", [((3, 5, 7, 4), 10), ((2, 3, 6, 6), 40), ((1, 4, 3, 5), 1),
                                            ((4, 3, 4, 4), 1 << 18), ((1, 1, 9, 2), 8), ((5, 2, 3, 3), 20)])
@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_tile_every_score_once(monkeypatch, shape, elements, threads):
    monkeypatch.setattr(blockwise, "BLOCK_ELEMENTS", elements)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        n, h, t_q, t_k = shape
        n_rows, n_heads, n_queries = blockwise._block_shape(torch.Size(shape))
        count = torch.zeros(n, h, t_q, dtype=torch.int64)
        out = torch.zeros(n, h, t_q, 3)
        for rows, heads, queries in blockwise._blocks(torch.Size(shape)):
            count[rows, heads, queries] += 1
            block = out[rows, heads, queries]
            assert block.is_contiguous() and all(a <= b for a, b in zip(block.shape, (n_rows, n_heads, n_queries)))
            assert blockwise._flat(out, (rows, heads, queries)).data_ptr() == block.data_ptr()  # a view, not a copy
        assert torch.all(count == 1)
        assert n_rows * n_heads * n_queries * t_k <= max(elements * threads, t_k)  # at least one row per block
        assert (n_queries == t_q or n_heads == 1) and (n_heads == h or n_rows == 1)
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("need_weights", [False, True], ids=["blocks", "weights"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_blocks_with_a_given_scale_and_strided_inputs_equal_torch(block_elements, need_weights, dtype, tol):
    b, t, h, d = 2, 7, 3, 4
    # q, k, v as multi-head attention makes them: (B, T, H, d) transposed to (B, H, T, d), not contiguous
    q, k, v = (rand(b, t, h, d, dtype=dtype, seed=s).transpose(1, 2).requires_grad_(True) for s in range(3))
    mask = at.padding_mask([7, 3], t)
    with torch.no_grad():
        out_ng, w_ng = at.scaled_dot_product_attention(q, k, v, mask, scale=0.3, need_weights=need_weights)
    out, _ = at.scaled_dot_product_attention(q, k, v, mask, scale=0.3, need_weights=need_weights)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3)
    torch.testing.assert_close(out, ref, **tol)
    torch.testing.assert_close(out_ng, ref, **tol)
    upstream = rand(b, t, h, d, dtype=dtype, seed=7).transpose(1, 2)  # a strided upstream gradient
    for a, r in zip(torch.autograd.grad(out, (q, k, v), upstream), torch.autograd.grad(ref, (q, k, v), upstream)):
        torch.testing.assert_close(a, r, **tol)


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("as_additive", [False, True], ids=["bool", "additive"])
@pytest.mark.parametrize("is_causal", [False, True], ids=["", "is_causal"])
def test_weights_without_autograd_equal_the_autograd_path(
        block_elements, mask_name, as_additive, is_causal):
    b, h, t, d = 3, 2, 6, 8
    q, k, v = (rand(b, h, t, d, seed=s, grad=True) for s in range(3))
    mask = MASKS[mask_name](b, t)
    if as_additive:
        mask = additive(mask, torch.float64)
    out, w = at.scaled_dot_product_attention(q, k, v, mask, is_causal=is_causal)  # autograd: full weights
    with torch.no_grad():  # the softmax overwrites the scores in place
        out_ng, w_ng = at.scaled_dot_product_attention(q, k, v, mask, is_causal=is_causal)
    assert w_ng.shape == w.shape == (b, h, t, t) and out_ng.shape == (b, h, t, d)
    torch.testing.assert_close(out_ng, out.detach(), **F64)
    torch.testing.assert_close(w_ng, w.detach(), **F64)
    if not is_causal:  # (the autograd path with is_causal is checked against torch above)
        torch.testing.assert_close(out_ng, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **F64)


def test_weights_without_autograd_fully_masked_rows_broadcast_and_no_batch(block_elements):
    keep = at.padding_mask([3, 0], 3).expand(2, 1, 3, 3).clone()
    keep[0, 0, 1] = False  # one empty row in the first sequence, an empty second sequence
    q = rand(2, 4, 3, 5, seed=1)
    k, v = rand(1, 4, 3, 5, seed=2), rand(1, 4, 3, 2, seed=3)  # shared by the batch
    out, w = at.scaled_dot_product_attention(q, k, v, keep)
    assert out.shape == (2, 4, 3, 2) and w.shape == (2, 4, 3, 3)
    assert torch.all(out[1] == 0) and torch.all(w[1] == 0) and torch.all(out[0, :, 1] == 0) and torch.all(w[0, :, 1] == 0)
    ref = F.scaled_dot_product_attention(q[:1, :, [0, 2]], k, v, attn_mask=keep[:1, :, [0, 2]])  # rows with a key
    torch.testing.assert_close(out[:1, :, [0, 2]], ref, **F64)
    q2, k2, v2 = rand(4, 3, seed=4), rand(7, 3, seed=5), rand(7, 5, seed=6)  # no batch dimension at all
    out2, w2 = at.scaled_dot_product_attention(q2, k2, v2, is_causal=True)
    assert out2.shape == (4, 5) and w2.shape == (4, 7)
    torch.testing.assert_close(out2, F.scaled_dot_product_attention(q2[None], k2[None], v2[None], is_causal=True)[0], **F64)
