"""nlpcourse.losses against torch (float64) and hand computations, including extreme logits."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import losses

RTOL, ATOL = 1e-10, 1e-12


def _torch_value_and_grad(fn, prediction, *args):
    p = torch.tensor(prediction, dtype=torch.float64, requires_grad=True)
    value = fn(p, *args)
    value.backward()
    return value.item(), p.grad.numpy()


def test_square_error_equals_torch_mse():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=7), rng.normal(size=7)
    value, grad = losses.square_error(p, t)
    ref, ref_grad = _torch_value_and_grad(lambda x: torch.nn.functional.mse_loss(x, torch.tensor(t)), p)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)


def test_square_error_sum_and_hand_value():
    value, grad = losses.square_error([1.0, 3.0], [0.0, 1.0], reduction="sum")
    assert value == pytest.approx(1.0 + 4.0)
    np.testing.assert_allclose(grad, [2.0, 4.0])


def test_binary_cross_entropy_equals_torch_with_extreme_logits():
    z = np.array([-1000.0, -40.0, -3.0, 0.0, 2.5, 40.0, 1000.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    value, grad = losses.binary_cross_entropy(z, y)
    ref, ref_grad = _torch_value_and_grad(
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(y)), z)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    # hand value of the extreme terms: -ln sigmoid(-1000) = 1000, -ln(1 - sigmoid(1000)) = 1000
    per_item = losses.binary_cross_entropy(z, y, reduction="sum")[0]
    assert per_item == pytest.approx(ref * len(z), rel=1e-12)
    assert losses.binary_cross_entropy([-1000.0], [1.0])[0] == pytest.approx(1000.0, rel=1e-12)


def test_sigmoid_square_error_equals_torch_and_vanishes_when_saturated():
    z = np.array([-30.0, -2.0, 0.0, 1.5, 30.0])
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    value, grad = losses.sigmoid_square_error(z, y)
    ref, ref_grad = _torch_value_and_grad(
        lambda x: torch.nn.functional.mse_loss(torch.sigmoid(x), torch.tensor(y)), z)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    # far from the target (z = -30, y = 1) square error barely moves; cross-entropy pulls hard
    assert abs(grad[0]) < 1e-11
    assert abs(losses.binary_cross_entropy(z[:1], y[:1])[1][0]) == pytest.approx(1.0, rel=1e-12)


def test_cross_entropy_equals_torch_with_extreme_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.1, 0.2, 0.3], [-5.0, 5.0, 0.0], [3.0, 3.0, 3.0]])
    labels = np.array([2, 0, 1, 1])
    value, grad = losses.cross_entropy(logits, labels)
    ref, ref_grad = _torch_value_and_grad(
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(labels)), logits)
    assert np.isfinite(value)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    assert losses.cross_entropy(logits[3:], labels[3:])[0] == pytest.approx(np.log(3.0), rel=1e-12)


def test_sigmoid_softmax_stable_and_equal_torch():
    z = np.array([-800.0, -20.0, 0.0, 20.0, 800.0])
    np.testing.assert_allclose(losses.sigmoid(z), torch.sigmoid(torch.tensor(z)).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(losses.log_sigmoid(z), torch.nn.functional.logsigmoid(torch.tensor(z)).numpy(),
                               rtol=RTOL, atol=ATOL)
    logits = np.array([[800.0, 799.0, -800.0]])
    np.testing.assert_allclose(losses.softmax(logits), torch.softmax(torch.tensor(logits), dim=-1).numpy(),
                               rtol=RTOL, atol=ATOL)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=8), st.data())
def test_binary_cross_entropy_gradient_matches_torch_property(zs, data):
    ys = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(zs), max_size=len(zs)))
    z, y = np.array(zs), np.array(ys)
    value, grad = losses.binary_cross_entropy(z, y)
    ref, ref_grad = _torch_value_and_grad(
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(y)), z)
    np.testing.assert_allclose(value, ref, rtol=1e-9, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=ATOL)


def test_one_weight_curves_gradients_far_from_target():
    w = np.array([-10.0, 0.0, 10.0])
    curves = losses.one_weight_curves(w, x=1.0, y=1.0)
    ce, se = curves["cross_entropy"], curves["square_error"]
    # at w = -10 the prediction sigmoid(-10) is far from y = 1
    assert abs(ce["grad"][0]) == pytest.approx(1.0 - losses.sigmoid(-10.0), rel=1e-12)
    f = losses.sigmoid(-10.0)
    assert se["grad"][0] == pytest.approx(2 * (f - 1) * f * (1 - f), rel=1e-12)
    assert abs(se["grad"][0]) < 1e-3 < abs(ce["grad"][0])
    assert ce["loss"][1] == pytest.approx(np.log(2.0), rel=1e-12)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="prediction and target must have the same shape"):
        losses.square_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.square_error([1.0], [1.0], reduction="max")
    with pytest.raises(ValueError, match="logits must not contain NaN"):
        losses.binary_cross_entropy([np.nan], [1.0])
    with pytest.raises(ValueError, match=r"target must hold probabilities in \[0, 1\]"):
        losses.binary_cross_entropy([0.0], [2.0])
    with pytest.raises(ValueError, match="logits must have 2 dimension"):
        losses.cross_entropy([0.0, 1.0], [0])
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        losses.cross_entropy([[0.0, 1.0]], [0.5])
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        losses.cross_entropy([[0.0, 1.0]], [2])
    with pytest.raises(ValueError, match="logits and labels must have the same length"):
        losses.cross_entropy([[0.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match="prediction must not be empty"):
        losses.square_error([], [])


# --------------------------------------------------------------------------- chapter 11: absolute, Huber, hinge

F = torch.nn.functional
# far from any kink (|d| = delta, y s = margin), where the derivative is a matter of convention
EXTREME = np.array([-1e6, -700.0, -40.0, -2.3, -0.4, 0.35, 1.7, 40.0, 800.0, 1e6])


def test_absolute_error_equals_torch_l1_including_extremes():
    t = np.linspace(-1, 1, EXTREME.size)
    value, grad = losses.absolute_error(EXTREME, t)
    ref, ref_grad = _torch_value_and_grad(lambda x: F.l1_loss(x, torch.tensor(t)), EXTREME)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    # at d = 0 the gradient is torch's sign(0) = 0
    _, g0 = losses.absolute_error([1.0], [1.0])
    _, t0 = _torch_value_and_grad(lambda x: F.l1_loss(x, torch.tensor([1.0], dtype=torch.float64)), np.array([1.0]))
    np.testing.assert_array_equal(g0, t0)


@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber_equals_torch_including_extremes(delta):
    t = np.zeros(EXTREME.size)
    value, grad = losses.huber(EXTREME, t, delta=delta)
    ref, ref_grad = _torch_value_and_grad(lambda x: F.huber_loss(x, torch.tensor(t), delta=delta), EXTREME)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    assert np.all(np.isfinite(grad)) and np.max(np.abs(grad)) <= delta / EXTREME.size + 1e-15


def test_huber_sum_on_a_matrix_equals_torch():
    rng = np.random.default_rng(0)
    p, t = 3 * rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    value, grad = losses.huber(p, t, reduction="sum")
    ref, ref_grad = _torch_value_and_grad(lambda x: F.huber_loss(x, torch.tensor(t), reduction="sum"), p)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)


def test_binary_hinge_equals_torch_clamp_and_multi_margin_including_extremes():
    y = np.where(np.arange(EXTREME.size) % 2 == 0, 1.0, -1.0)
    value, grad = losses.hinge(EXTREME, y)
    ref, ref_grad = _torch_value_and_grad(lambda s: torch.clamp(1 - torch.tensor(y) * s, min=0).mean(), EXTREME)
    np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
    # a score s is the two-class logits (0, s): torch's MultiMarginLoss then gives hinge / 2
    two = np.stack([np.zeros_like(EXTREME), EXTREME], axis=1)
    ref2 = F.multi_margin_loss(torch.tensor(two), torch.tensor((y > 0).astype(np.int64))).item()
    np.testing.assert_allclose(value / 2, ref2, rtol=RTOL, atol=ATOL)


def test_multiclass_hinge_equals_torch_multi_margin_including_extremes():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 4)) * np.array([[1.0], [10.0], [1e3], [1e6], [0.1], [3.0]])
    labels = np.array([0, 1, 2, 3, 1, 2])
    for margin in (1.0, 2.5):
        value, grad = losses.multiclass_hinge(z, labels, margin=margin)
        ref, ref_grad = _torch_value_and_grad(
            lambda x: F.multi_margin_loss(x, torch.tensor(labels), margin=margin), z)
        np.testing.assert_allclose(value, ref, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(grad, ref_grad, rtol=RTOL, atol=ATOL)
        assert np.all(np.isfinite(grad))


def test_hinge_hand_values():
    value, grad = losses.hinge([2.0, 0.5, -1.0], [1.0, 1.0, 1.0], reduction="sum")
    assert value == pytest.approx(0.0 + 0.5 + 2.0)
    np.testing.assert_allclose(grad, [0.0, -1.0, -1.0])


def test_chapter_11_bad_input():
    with pytest.raises(ValueError, match=r"target must hold labels -1 and \+1"):
        losses.hinge([0.5, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        losses.multiclass_hinge(np.zeros((2, 3)), [0, 3])
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        losses.multiclass_hinge(np.zeros((1, 3)), [0.5])
    with pytest.raises(ValueError, match="delta must be > 0"):
        losses.huber([1.0], [0.0], delta=0.0)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        losses.hinge([1.0], [1.0], margin=-1.0)
    with pytest.raises(ValueError, match="prediction and target must have the same shape"):
        losses.absolute_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="scores must not contain NaN"):
        losses.hinge([np.inf], [1.0])


def test_loss_family_curves_hand_values_and_torch_gradients():
    family = losses.loss_family_curves(residuals=[-2.0, 0.5, 3.0], margins=[-1.0, 0.5, 2.0], delta=1.0)
    reg, cls = family["regression"], family["classification"]
    np.testing.assert_allclose(reg["square"]["loss"], [4.0, 0.25, 9.0])
    np.testing.assert_allclose(reg["absolute"]["grad"], [-1.0, 1.0, 1.0])
    np.testing.assert_allclose(reg["Huber (delta=1)"]["loss"], [1.5, 0.125, 2.5])  # d^2/2 inside, |d| - 1/2 out
    np.testing.assert_allclose(cls["hinge"]["loss"], [2.0, 0.5, 0.0])  # max(0, 1 - margin)
    z = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(z, torch.ones(3, dtype=torch.float64),
                                                         reduction="sum").backward()
    np.testing.assert_allclose(cls["cross-entropy"]["grad"], z.grad.numpy(), rtol=1e-12)
    assert list(family["residuals"]) == [-2.0, 0.5, 3.0]
    with pytest.raises(ValueError, match="delta"):
        losses.loss_family_curves(delta=0.0)
    with pytest.raises(ValueError, match="residuals"):
        losses.loss_family_curves(residuals=[[1.0, 2.0]])
