"""nlpcourse.rnn: from-scratch cells and layers against torch.nn with copied weights."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import rnn

TORCH_CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
TORCH_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)


def _pair(kind, dtype, input_size=5, hidden=7, seed=0):
    torch.manual_seed(seed)
    reference = TORCH_CELLS[kind](input_size, hidden).to(dtype)
    cell = rnn.copy_from_torch(rnn.make_cell(kind, input_size, hidden).to(dtype), reference)
    return cell, reference


def _state(kind, batch, hidden, dtype, generator):
    h = torch.randn(batch, hidden, generator=generator, dtype=dtype)
    if kind == "lstm":
        return h, torch.randn(batch, hidden, generator=generator, dtype=dtype)
    return h


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_cell_step_equals_torch(kind, dtype, tol):
    cell, reference = _pair(kind, dtype)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5, generator=g, dtype=dtype)
    state = _state(kind, 4, 7, dtype, g)
    ours, theirs = cell(x, state), reference(x, state)
    if kind == "lstm":
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, **tol)
    else:
        torch.testing.assert_close(ours, theirs, **tol)


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
def test_cell_default_state_is_zero_like_torch(kind):
    cell, reference = _pair(kind, torch.float64)
    x = torch.randn(3, 5, dtype=torch.float64)
    ours, theirs = cell(x), reference(x)
    if kind == "lstm":
        ours, theirs = ours[0], theirs[0]
    torch.testing.assert_close(ours, theirs, **F64)


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
def test_cell_gradients_equal_torch(kind):
    cell, reference = _pair(kind, torch.float64)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 5, generator=g, dtype=torch.float64)
    state = _state(kind, 3, 7, torch.float64, g)
    weights = torch.randn(7, generator=g, dtype=torch.float64)
    for module in (cell, reference):
        out = module(x, state)
        h = out[0] if kind == "lstm" else out
        ((h @ weights) ** 2).sum().backward()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        torch.testing.assert_close(getattr(cell, name).grad, getattr(reference, name).grad, **F64)


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
def test_state_dict_has_torch_layout(kind):
    cell, _ = _pair(kind, torch.float32)
    fresh = TORCH_CELLS[kind](5, 7)
    fresh.load_state_dict(cell.state_dict())  # strict: same names and shapes
    x = torch.randn(2, 5)
    a, b = cell(x), fresh(x)
    torch.testing.assert_close(a[0] if kind == "lstm" else a, b[0] if kind == "lstm" else b, **F32)


def test_relu_rnn_and_no_bias_equal_torch():
    torch.manual_seed(0)
    reference = torch.nn.RNNCell(4, 6, bias=False, nonlinearity="relu").double()
    cell = rnn.copy_from_torch(rnn.RNNCell(4, 6, bias=False, nonlinearity="relu").double(), reference)
    x, h = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 6, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h), reference(x, h), **F64)
    assert cell.bias_ih is None


def test_gru_update_gate_by_hand():
    # One unit, one input, weights chosen so every gate is a known number.
    cell = rnn.GRUCell(1, 1).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[0.5], [-1.0], [2.0]]))
        cell.weight_hh.copy_(torch.tensor([[1.0], [0.5], [-0.5]]))
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    x, h = torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[0.4]], dtype=torch.float64)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    r, z = sig(0.5 + 0.4), sig(-1.0 + 0.2)
    n = np.tanh(2.0 + r * (-0.2))
    expected = (1 - z) * n + z * 0.4
    assert cell(x, h).item() == pytest.approx(expected, rel=1e-12)


def _packed_reference(kind, lengths, bidirectional, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    reference = TORCH_LAYERS[kind](5, 6, batch_first=True, bidirectional=bidirectional).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(len(lengths), max(lengths), 5, generator=g, dtype=dtype)
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out, final = reference(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=max(lengths))
    return reference, x, mask, out, final


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
def test_masked_layer_equals_packed_torch_layer(kind):
    lengths = [4, 1, 3, 4, 2]
    reference, x, mask, out, final = _packed_reference(kind, lengths, bidirectional=False)
    layer = rnn.Recurrent(rnn.copy_from_torch(rnn.make_cell(kind, 5, 6).double(), reference, "_l0"))
    ours, state = layer(x, mask)
    torch.testing.assert_close(ours, out, **F64)  # padded outputs are zero in both
    h_n = final[0] if kind == "lstm" else final
    torch.testing.assert_close(layer.cell.hidden_of(state), h_n[0], **F64)
    if kind == "lstm":
        torch.testing.assert_close(state[1], final[1][0], **F64)


@pytest.mark.parametrize("kind", rnn.CELL_KINDS)
def test_bidirectional_equals_packed_torch_layer(kind):
    lengths = [3, 5, 1, 5]
    reference, x, mask, out, final = _packed_reference(kind, lengths, bidirectional=True, seed=3)
    layer = rnn.Bidirectional(
        rnn.copy_from_torch(rnn.make_cell(kind, 5, 6).double(), reference, "_l0"),
        rnn.copy_from_torch(rnn.make_cell(kind, 5, 6).double(), reference, "_l0_reverse"),
    )
    ours, (state_f, state_b) = layer(x, mask)
    torch.testing.assert_close(ours, out, **F64)
    h_n = final[0] if kind == "lstm" else final
    torch.testing.assert_close(rnn.GRUCell.hidden_of(state_f), h_n[0], **F64)
    torch.testing.assert_close(rnn.GRUCell.hidden_of(state_b), h_n[1], **F64)


def test_unmasked_layer_equals_torch_layer_float32():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(5, 6, batch_first=True)
    layer = rnn.Recurrent(rnn.copy_from_torch(rnn.LSTMCell(5, 6), reference, "_l0"))
    x = torch.randn(3, 7, 5)
    ours, (h, c) = layer(x)
    theirs, (h_ref, c_ref) = reference(x)
    torch.testing.assert_close(ours, theirs, **F32)
    torch.testing.assert_close(c, c_ref[0], **F32)


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4), kind=st.sampled_from(rnn.CELL_KINDS),
       reverse=st.booleans())
def test_padding_does_not_change_a_sequence(lengths, kind, reverse):
    """Property: each sequence run alone gives the same outputs and final state as inside a padded batch."""
    torch.manual_seed(0)
    layer = rnn.Recurrent(rnn.make_cell(kind, 3, 4).double(), reverse=reverse)
    width = max(lengths) + 1
    x = torch.randn(len(lengths), width, 3, dtype=torch.float64)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    out, state = layer(x, mask)
    for row, n in enumerate(lengths):
        alone, alone_state = layer(x[row:row + 1, :n])
        torch.testing.assert_close(out[row, :n], alone[0], **F64)
        assert torch.all(out[row, n:] == 0)
        torch.testing.assert_close(layer.cell.hidden_of(state)[row], layer.cell.hidden_of(alone_state)[0], **F64)


def _jacobian_reference(cell, steps, batch, seed):
    """dL/dh_t by an explicit product of per-step Jacobians (torch.autograd.functional.jacobian)."""
    g = torch.Generator().manual_seed(seed)
    dtype = cell.weight_hh.dtype
    x = torch.randn(steps, batch, cell.input_size, generator=g, dtype=dtype)
    u = torch.randn(cell.hidden_size, generator=g, dtype=dtype)
    u = u / u.norm()
    norms = np.zeros((steps, batch))
    for b in range(batch):
        hs = [torch.zeros(1, cell.hidden_size, dtype=dtype)]
        for t in range(steps):
            hs.append(cell(x[t, b:b + 1], hs[-1]).detach())
        grad = u.clone()
        norms[steps - 1, b] = grad.norm().item()
        for t in range(steps - 1, 0, -1):  # h_{t+1} = f(x_{t+1}, h_t): grad_t = grad_{t+1} J
            jac = torch.autograd.functional.jacobian(lambda h: cell(x[t, b:b + 1], h)[0], hs[t])[:, 0, :]
            grad = grad @ jac
            norms[t - 1, b] = grad.norm().item()
    return norms.mean(axis=1)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_gradient_norms_equal_jacobian_products(kind):
    torch.manual_seed(0)
    cell = rnn.make_cell(kind, 3, 5).double()
    ours = rnn.gradient_norms_through_time(cell, 6, batch=3, seed=4)
    expected = _jacobian_reference(cell, 6, 3, seed=4)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
    assert ours[-1] == pytest.approx(1.0, rel=1e-12)  # L = h_T . u with |u| = 1


def test_gradient_norms_vanish_and_explode_with_recurrent_scale():
    torch.manual_seed(0)
    cell = rnn.RNNCell(4, 16).double()
    before = cell.weight_hh.detach().clone()
    small = rnn.gradient_norms_through_time(cell, 20, recurrent_scale=0.5)
    large = rnn.gradient_norms_through_time(cell, 20, recurrent_scale=8.0)
    zero = rnn.gradient_norms_through_time(cell, 20, recurrent_scale=0.0)
    assert torch.equal(cell.weight_hh, before) and cell.weight_hh.grad is None  # cell restored
    assert np.all(np.diff(small) > 0) and small[0] < 1e-6  # shrinks going back in time
    assert large[0] > 10 * large[-1]  # grows going back in time
    np.testing.assert_array_equal(zero[:-1], 0.0)  # no recurrent path: nothing flows back


# --------------------------------------------------------------------------- bad input


def test_bad_sizes_and_kinds():
    with pytest.raises(ValueError, match="kind must be one of"):
        rnn.make_cell("transformer", 3, 4)
    with pytest.raises(ValueError, match="hidden_size must be >= 1, got 0"):
        rnn.make_cell("gru", 3, 0)
    with pytest.raises(TypeError, match="input_size must be an integer"):
        rnn.LSTMCell(2.5, 3)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        rnn.RNNCell(3, 4, nonlinearity="sigmoid")


def test_bad_cell_inputs():
    cell = rnn.GRUCell(3, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 3\), got \(2, 5\)"):
        cell(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        cell([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"state must have shape \(2, 4\), got \(3, 4\)"):
        cell(torch.zeros(2, 3), torch.zeros(3, 4))
    with pytest.raises(TypeError, match=r"state must be an \(h, c\) tuple"):
        rnn.LSTMCell(3, 4)(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"state c must have shape \(2, 4\)"):
        rnn.LSTMCell(3, 4)(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 5)))


def test_bad_layer_inputs():
    layer = rnn.Recurrent(rnn.RNNCell(3, 4))
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, steps, 3\), got \(2, 3\)"):
        layer(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 5\) like the inputs, got \(2, 4\)"):
        layer(torch.zeros(2, 5, 3), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must have dtype torch.bool"):
        layer(torch.zeros(2, 5, 3), torch.ones(2, 5))
    with pytest.raises(TypeError, match="cell must be an RNNCell, LSTMCell or GRUCell"):
        rnn.Recurrent(torch.nn.GRUCell(3, 4))
    with pytest.raises(ValueError, match="must read the same input size, got 3 and 2"):
        rnn.Bidirectional(rnn.GRUCell(3, 4), rnn.GRUCell(2, 4))


def test_bad_copy_and_gradient_arguments():
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(12, 3\), got \(12, 2\)"):
        rnn.copy_from_torch(rnn.GRUCell(3, 4), torch.nn.GRUCell(2, 4))
    with pytest.raises(ValueError, match="reference has no parameter 'weight_ih_l1'"):
        rnn.copy_from_torch(rnn.GRUCell(3, 4), torch.nn.GRU(3, 4), "_l1")
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        rnn.gradient_norms_through_time(rnn.RNNCell(3, 4), 0)
    with pytest.raises(ValueError, match="recurrent_scale must be >= 0.0"):
        rnn.gradient_norms_through_time(rnn.RNNCell(3, 4), 5, recurrent_scale=-1.0)
