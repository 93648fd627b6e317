"""nlpcourse.attention's cost and reach measures (chapter 08, "why self-attention"): the analytic
FLOP counts equal torch's FlopCounterMode on real layers, autograd depth by hand, the gradient
receptive field of a convolution stack equals 1 + L(k - 1), bad input refused."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import attention as at
from nlpcourse import rnn


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def layer(kind, d, k=3):
    torch.manual_seed(0)
    if kind == "self-attention":
        return at.MultiHeadAttention(d, 2).double()
    if kind == "convolution":
        return at.SequenceConvStack(1, d, k).double()
    return rnn.Recurrent(rnn.make_cell(kind, d, d)).double()


# --------------------------------------------------------------------------- FLOPs

@pytest.mark.parametrize("kind", at.SEQUENCE_LAYERS)
@pytest.mark.parametrize("n", [1, 5, 12])
def test_layer_costs_equal_torch_flop_counter(kind, n):
    d = 8
    model, x = layer(kind, d), rand(1, n, d)
    assert at.counted_flops(model, x) == at.layer_costs(kind, n, d).flops


def test_layer_costs_by_hand():
    n, d = 10, 4
    attn = at.layer_costs("self-attention", n, d)
    assert attn == at.LayerCost(flops=8 * 10 * 16 + 4 * 100 * 4, mixing_flops=1600, sequential_steps=1, path_length=1)
    assert at.layer_costs("rnn", n, d) == at.LayerCost(640, 320, 10, 9)
    assert at.layer_costs("lstm", n, d).flops == 4 * at.layer_costs("rnn", n, d).flops
    conv = at.layer_costs("convolution", n, d, kernel_size=5)
    assert conv.flops == 2 * 5 * 10 * 16 and conv.sequential_steps == 1 and conv.path_length == 3  # ceil(9 / 4)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2000), d=st.integers(1, 512))
def test_attention_mixing_crosses_an_rnn_layer_at_n_equal_d(n, d):
    mixing, rnn_flops = at.layer_costs("self-attention", n, d).mixing_flops, at.layer_costs("rnn", n, d).flops
    assert (mixing > rnn_flops) == (n > d) and (mixing == rnn_flops) == (n == d)
    # the whole attention layer: 2 + n / d times an RNN layer of the same width
    assert at.layer_costs("self-attention", n, d).flops * d == (2 * d + n) * rnn_flops


def test_counted_flops_of_a_matrix_product():
    a, b = rand(3, 4), rand(4, 5)
    assert at.counted_flops(torch.matmul, a, b) == 2 * 3 * 4 * 5


# --------------------------------------------------------------------------- sequential depth

def test_autograd_depth_by_hand():
    x = rand(3).requires_grad_(True)
    assert at.autograd_depth(x * 2) == 2                        # MulBackward -> AccumulateGrad
    assert at.autograd_depth(((x * 2).exp() + x).sum()) == 5    # Sum -> Add -> Exp -> Mul -> Accumulate


def test_autograd_depth_grows_with_an_rnn_not_with_attention():
    d = 4
    rec, mha = layer("rnn", d), layer("self-attention", d)
    rnn_depths = [at.autograd_depth(rec(rand(1, n, d).requires_grad_(True))[0]) for n in (2, 3, 4, 40)]
    attn_depths = [at.autograd_depth(mha(rand(1, n, d).requires_grad_(True))[0]) for n in (2, 3, 4, 40)]
    step = rnn_depths[1] - rnn_depths[0]
    assert step > 0 and rnn_depths[2] - rnn_depths[1] == step and rnn_depths[3] - rnn_depths[2] == 36 * step
    assert len(set(attn_depths)) == 1


def test_autograd_depth_handles_thousands_of_steps():
    x = rand(1).requires_grad_(True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    assert at.autograd_depth(y) == 3001


# --------------------------------------------------------------------------- receptive field

@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_conv_receptive_field_is_one_plus_l_times_k_minus_one(k, n_layers):
    torch.manual_seed(n_layers)
    stack = at.SequenceConvStack(n_layers, 3, k).double()
    T, t = 41, 20
    influence = at.input_influence(stack, rand(2, T, 3), t)
    width = 1 + n_layers * (k - 1)
    inside = torch.zeros(T, dtype=torch.bool)
    inside[t - (width - 1) // 2: t + (width - 1) // 2 + 1] = True
    assert torch.equal(influence > 0, inside) and at.receptive_field(stack, rand(2, T, 3), t) == width


def test_conv_receptive_field_is_cut_by_the_sequence_ends():
    torch.manual_seed(0)
    stack = at.SequenceConvStack(3, 2, 3).double()
    assert at.receptive_field(stack, rand(1, 10, 2), 0) == 4   # positions 0..3 (3 to the right, none to the left)


def test_one_attention_layer_sees_every_position_and_a_causal_one_the_past():
    mha = layer("self-attention", 4)
    x = rand(1, 9, 4)
    assert at.receptive_field(mha, x, 3) == 9
    assert at.receptive_field(lambda h: mha(h, is_causal=True), x, 3) == 4


def test_input_influence_matches_a_hand_gradient():
    w = rand(3, 3)
    model = lambda x: x @ w               # (B, T, 3): position t depends on x[:, t] only
    x = rand(2, 5, 3)
    influence = at.input_influence(model, x, 2)
    assert influence[2] == pytest.approx(float(2 * w.sum(dim=1).abs().sum()), rel=1e-12)
    assert torch.count_nonzero(influence) == 1


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kind="transformer", n=4, d=4), ValueError, "kind"),
    (dict(kind="rnn", n=0, d=4), ValueError, "n must be"),
    (dict(kind="rnn", n=4, d=2.5), TypeError, "d must be"),
    (dict(kind="convolution", n=4, d=4, kernel_size=1), ValueError, "kernel_size"),
])
def test_layer_costs_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        at.layer_costs(**kwargs)


def test_measures_bad_input():
    stack = at.SequenceConvStack(1, 3).double()
    with pytest.raises(TypeError, match="fn must be callable"):
        at.counted_flops(3)
    with pytest.raises(TypeError, match="output must be a torch.Tensor"):
        at.autograd_depth([1.0])
    with pytest.raises(ValueError, match="output must come from"):
        at.autograd_depth(rand(3))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        at.SequenceConvStack(2, 3, kernel_size=4)
    with pytest.raises(ValueError, match="n_layers must be"):
        at.SequenceConvStack(0, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, d=3\)"):
        stack(rand(1, 5, 4))
    with pytest.raises(TypeError, match="model must be callable"):
        at.input_influence("conv", rand(1, 5, 3), 0)
    with pytest.raises(ValueError, match="x must have shape"):
        at.input_influence(stack, rand(5, 3), 0)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        at.input_influence(stack, torch.ones(1, 5, 3, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="position must be <= 4"):
        at.receptive_field(stack, rand(1, 5, 3), 5)
    with pytest.raises(ValueError, match="model must return"):
        at.input_influence(lambda x: x.sum(1), rand(1, 5, 3), 0)
