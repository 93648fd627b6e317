"""nlpcourse.autograd against torch.autograd (float64, rtol 1e-6) and central finite differences (1e-4)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import autograd as ag

RTOL, ATOL = 1e-6, 1e-12


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _expression(lib, a, b, c):
    """The same expression written for the engine (lib="ag") or torch (lib="torch")."""
    if lib == "ag":
        h = (a * b + c).tanh() * a.sigmoid() - (b / (c * c + 1.0)) + (a - 0.5).relu() ** 2
        return (h.exp().log() * 3.0 + 1.0 / (h * h + 2.0)).sum()
    h = torch.tanh(a * b + c) * torch.sigmoid(a) - (b / (c * c + 1.0)) + torch.relu(a - 0.5) ** 2
    return (torch.log(torch.exp(h)) * 3.0 + 1.0 / (h * h + 2.0)).sum()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_random_elementwise_expression_equals_torch(seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=5) for _ in range(3)]
    values = [ag.Value(a) for a in arrays]
    out = _expression("ag", *values)
    out.backward()
    tensors = [_t(a) for a in arrays]
    ref = _expression("torch", *tensors)
    ref.backward()
    np.testing.assert_allclose(out.data, ref.item(), rtol=RTOL, atol=ATOL)
    for v, t in zip(values, tensors):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_broadcasting_matmul_and_reductions_equal_torch():
    rng = np.random.default_rng(1)
    A, B, bias = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(5,))
    col = rng.normal(size=(4, 1))
    a, b, c, d = ag.Value(A), ag.Value(B), ag.Value(bias), ag.Value(col)
    out = ((a @ b + c) * d).mean(axis=0).sum() + (a.T @ a).mean() - (2.0 - a).sum(axis=1).mean()
    out.backward()
    ta, tb, tc, td = _t(A), _t(B), _t(bias), _t(col)
    ref = ((ta @ tb + tc) * td).mean(dim=0).sum() + (ta.T @ ta).mean() - (2.0 - ta).sum(dim=1).mean()
    ref.backward()
    np.testing.assert_allclose(out.data, ref.item(), rtol=RTOL, atol=ATOL)
    for v, t in ((a, ta), (b, tb), (c, tc), (d, td)):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_a_node_used_twice_accumulates_both_paths():
    x = ag.Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert float(x.grad) == pytest.approx(7.0, abs=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_two_layer_mlp_with_cross_entropy_equals_torch(activation):
    rng = np.random.default_rng(2)
    X, labels = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
    params = ag.init_mlp([4, 6, 3], rng)
    loss = ag.cross_entropy(ag.mlp_forward(params, X, activation), labels)
    loss.backward()
    tp = [_t(p.data) for p in params]
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    logits = act(torch.tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3]
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    ref.backward()
    np.testing.assert_allclose(loss.data, ref.item(), rtol=RTOL, atol=ATOL)
    for p, t in zip(params, tp):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_mlp_gradient_equals_central_finite_differences():
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    params = ag.init_mlp([3, 5, 2], rng)

    def loss_value():
        return float(ag.cross_entropy(ag.mlp_forward(params, X, "tanh"), labels).data)

    ag.cross_entropy(ag.mlp_forward(params, X, "tanh"), labels).backward()
    h = 1e-6
    for p in params:
        numeric = np.zeros_like(p.data)
        for idx in np.ndindex(p.data.shape):
            old = p.data[idx]
            p.data[idx] = old + h
            up = loss_value()
            p.data[idx] = old - h
            down = loss_value()
            p.data[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-4, atol=1e-8)


def test_non_scalar_backward_with_seed_equals_torch_vector_jacobian_product():
    rng = np.random.default_rng(4)
    A, seed = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    a = ag.Value(A)
    (a.sigmoid() * a).backward(seed)
    ta = _t(A)
    (torch.sigmoid(ta) * ta).backward(torch.tensor(seed))
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_topological_order_puts_every_node_after_its_parents():
    a, b = ag.Value(1.0), ag.Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = ag.topological_order(e)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(order) == 5 and order[-1] is e
    for node in order:
        for parent in node._parents:
            assert position[id(parent)] < position[id(node)]


def test_zero_grad_resets_the_graph():
    a = ag.Value([1.0, 2.0])
    out = (a * a).sum()
    out.backward()
    out.zero_grad()
    assert np.all(a.grad == 0) and np.all(out.grad == 0)


def test_dropout_follows_torch_semantics():
    torch.manual_seed(0)
    x = np.linspace(1.0, 2.0, 200).reshape(20, 10)
    ref = torch.nn.functional.dropout(torch.tensor(x), p=0.3, training=True).numpy()
    mask = (ref != 0).astype(float)  # torch's own draw
    out = ag.dropout(ag.Value(x), 0.3, mask=mask)
    np.testing.assert_allclose(out.data, ref, rtol=RTOL, atol=ATOL)  # survivors scaled by 1/(1-p)
    # test time: the identity, as torch in eval mode
    np.testing.assert_array_equal(ag.dropout(ag.Value(x), 0.3, training=False).data, x)
    np.testing.assert_array_equal(torch.nn.functional.dropout(torch.tensor(x), 0.3, training=False).numpy(), x)
    # the random draw keeps the expectation: mean over many units close to the input's mean
    big = np.ones((400, 500))
    kept = ag.dropout(ag.Value(big), 0.5, np.random.default_rng(0)).data
    assert abs(kept.mean() - 1.0) < 0.01 and set(np.unique(kept)) == {0.0, 2.0}


def test_dropout_gradient_is_the_scaled_mask():
    mask = np.array([1.0, 0.0, 1.0, 1.0])
    x = ag.Value([1.0, 2.0, 3.0, 4.0])
    ag.dropout(x, 0.25, mask=mask).sum().backward()
    np.testing.assert_allclose(x.grad, mask / 0.75)


class TestBadInput:
    def test_backward_from_non_scalar_needs_a_seed(self):
        with pytest.raises(ValueError, match="non-scalar.*seed gradient"):
            (ag.Value([1.0, 2.0]) * 2.0).backward()

    def test_seed_of_wrong_shape(self):
        with pytest.raises(ValueError, match="grad must have the output's shape"):
            ag.Value([1.0, 2.0]).backward(np.ones(3))

    def test_nan_data(self):
        with pytest.raises(ValueError, match="data must not contain NaN"):
            ag.Value([1.0, np.nan])

    def test_non_numeric_data(self):
        with pytest.raises(TypeError, match="data must be array-like"):
            ag.Value("abc")

    def test_value_of_value(self):
        with pytest.raises(TypeError, match="got a Value"):
            ag.Value(ag.Value(1.0))

    def test_matmul_shapes(self):
        with pytest.raises(ValueError, match="matching inner sizes"):
            ag.Value(np.ones((2, 3))) @ ag.Value(np.ones((2, 3)))
        with pytest.raises(ValueError, match="two matrices"):
            ag.Value(np.ones(3)) @ ag.Value(np.ones((3, 1)))

    def test_log_of_non_positive(self):
        with pytest.raises(ValueError, match="log needs positive input"):
            ag.Value([1.0, 0.0]).log()

    def test_power_needs_a_constant(self):
        with pytest.raises(TypeError, match="exponent must be a real number"):
            ag.Value(2.0) ** ag.Value(2.0)

    def test_cross_entropy_labels_outside_the_classes(self):
        with pytest.raises(ValueError, match="labels must lie in 0..2"):
            ag.cross_entropy(ag.Value(np.zeros((2, 3))), np.array([0, 3]))

    def test_dropout_probability_and_missing_rng(self):
        with pytest.raises(ValueError, match="p must be < 1.0"):
            ag.dropout(ag.Value([1.0]), 1.0)
        with pytest.raises(ValueError, match="needs rng"):
            ag.dropout(ag.Value([1.0]), 0.5)
        with pytest.raises(ValueError, match="mask must hold 0/1"):
            ag.dropout(ag.Value([1.0, 2.0]), 0.5, mask=[1.0, 0.5])

    def test_mlp_arguments(self):
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match="sizes must list at least two"):
            ag.init_mlp([3], rng)
        with pytest.raises(ValueError, match="scale must be"):
            ag.init_mlp([3, 2], rng, scale="xavier")
        with pytest.raises(ValueError, match="activation must be"):
            ag.mlp_forward(ag.init_mlp([3, 2], rng), np.ones((1, 3)), "gelu")
        with pytest.raises(TypeError, match=r"parameters\[1\] must be a Value"):
            ag.parameters(ag.Value(1.0), np.ones(2))
