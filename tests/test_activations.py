"""nlpcourse.activations against torch (values via torch.nn.functional, derivatives via autograd)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nlpcourse import activations as A

RTOL, ATOL = 1e-6, 1e-12  # the 1e-6 relative, with COURSE.md's float64 absolute floor

# a grid that includes the kink, tiny values, the saturation regions and extreme inputs
GRID = np.unique(np.concatenate([
    np.linspace(-50, 50, 2001), [0.0, 1e-300, -1e-300, 1e-8, -1e-8],
    [-1e4, -1e3, -750, -710, -100, -40, -20, 20, 40, 100, 700, 710, 750, 1e3, 1e4],
]))

TORCH_CASES = {
    "sigmoid": (A.sigmoid, A.sigmoid_grad, torch.sigmoid),
    "tanh": (A.tanh, A.tanh_grad, torch.tanh),
    "relu": (A.relu, A.relu_grad, F.relu),
    "leaky_relu": (lambda x: A.leaky_relu(x, 0.01), lambda x: A.leaky_relu_grad(x, 0.01),
                   lambda t: F.leaky_relu(t, 0.01)),
    "leaky_relu_0.2": (lambda x: A.leaky_relu(x, 0.2), lambda x: A.leaky_relu_grad(x, 0.2),
                       lambda t: F.leaky_relu(t, 0.2)),
    "prelu": (lambda x: A.prelu(x, 0.25), lambda x: A.prelu_grad(x, 0.25),
              lambda t: F.prelu(t, torch.tensor([0.25], dtype=torch.float64))),
    "elu": (A.elu, A.elu_grad, F.elu),
    "elu_alpha2": (lambda x: A.elu(x, 2.0), lambda x: A.elu_grad(x, 2.0), lambda t: F.elu(t, 2.0)),
    "selu": (A.selu, A.selu_grad, F.selu),
    "softplus": (A.softplus, A.softplus_grad, F.softplus),
    "softplus_beta3": (lambda x: A.softplus(x, 3.0), lambda x: A.softplus_grad(x, 3.0),
                       lambda t: F.softplus(t, beta=3.0)),
    "gelu": (A.gelu, A.gelu_grad, F.gelu),  # torch's default, the exact x * Phi(x)
}


def torch_value_and_grad(fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_value_and_derivative_equal_torch(name):
    f, f_grad, reference = TORCH_CASES[name]
    want_y, want_g = torch_value_and_grad(reference, GRID)
    got_y, got_g = f(GRID), f_grad(GRID)
    assert got_y.shape == GRID.shape and got_g.shape == GRID.shape
    np.testing.assert_allclose(got_y, want_y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_g, want_g, rtol=RTOL, atol=ATOL)
    # never NaN or inf where torch is finite
    assert np.all(np.isfinite(got_y)[np.isfinite(want_y)])
    assert np.all(np.isfinite(got_g)[np.isfinite(want_g)])


def test_kink_conventions_match_torch_at_zero():
    zero = np.array([0.0])
    assert A.relu_grad(zero)[0] == 0.0
    assert A.leaky_relu_grad(zero, 0.01)[0] == 0.01
    assert A.prelu_grad(zero, 0.25)[0] == 0.25
    assert A.elu_grad(zero)[0] == 1.0
    assert A.selu_grad(zero)[0] == pytest.approx(A.SELU_LAMBDA * A.SELU_ALPHA, rel=1e-15)


def test_prelu_per_channel_slope_and_its_gradient_equal_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3)) * 5
    a = np.array([0.1, 0.25, -0.3])
    tx = torch.tensor(x, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)
    y = F.prelu(tx, ta)
    upstream = torch.tensor(rng.normal(size=(7, 3)))
    gx, ga = torch.autograd.grad(y, (tx, ta), upstream)
    np.testing.assert_allclose(A.prelu(x, a), y.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(A.prelu_grad(x, a) * upstream.numpy(), gx.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose((A.prelu_grad_a(x) * upstream.numpy()).sum(axis=0), ga.numpy(), rtol=RTOL, atol=ATOL)


def test_selu_constants_are_the_papers():
    assert A.SELU_LAMBDA == pytest.approx(1.0507009873554805, rel=1e-15)
    assert A.SELU_ALPHA == pytest.approx(1.6732632423543772, rel=1e-15)
    # the constants torch uses give the same function
    np.testing.assert_allclose(A.selu([-1.0, 1.0]), F.selu(torch.tensor([-1.0, 1.0], dtype=torch.float64)).numpy(),
                               rtol=1e-15)


def test_identities_from_the_notes():
    x = np.linspace(-30, 30, 601)
    s = A.sigmoid(x)
    np.testing.assert_allclose(A.sigmoid_grad(x), s * (1 - s), rtol=1e-6, atol=1e-12)  # f' = f(1 - f)
    np.testing.assert_allclose(A.tanh(x), 2 * A.sigmoid(2 * x) - 1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.softplus_grad(x), A.sigmoid(x), rtol=1e-15)


def test_derivatives_match_central_differences():
    x = np.array([-3.0, -0.7, 0.4, 2.5])  # away from kinks
    h = 1e-6
    for name, (f, f_grad) in A.ACTIVATIONS.items():
        numeric = (f(x + h) - f(x - h)) / (2 * h)
        np.testing.assert_allclose(f_grad(x), numeric, rtol=1e-6, atol=1e-9, err_msg=name)


# --------------------------------------------------------------------------- softmax

@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 3.0, 100.0])
def test_softmax_equals_torch_along_each_axis(temperature):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5, 6)) * 10
    for axis in (0, 1, 2, -1):
        want = torch.softmax(torch.tensor(x) / temperature, dim=axis).numpy()
        np.testing.assert_allclose(A.softmax(x, temperature, axis=axis), want, rtol=RTOL, atol=ATOL)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([1e4, 1e4 - 1.0, -1e4, 0.0])
    p = A.softmax(x)
    want = torch.softmax(torch.tensor(x), dim=0).numpy()
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(p[:2], [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1))], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e3, 1e3)), st.floats(-1e3, 1e3),
       st.floats(0.01, 100.0))
def test_softmax_is_shift_invariant_and_sums_to_one(x, shift, temperature):
    p = A.softmax(x, temperature)
    np.testing.assert_allclose(A.softmax(x + shift, temperature), p, rtol=1e-9, atol=1e-12)
    assert p.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(p >= 0)


def test_temperature_sharpens_and_flattens():
    x = np.array([2.0, 1.0, 0.5, -1.0])
    h = [float(A.entropy(A.softmax(x, t))) for t in (0.1, 1.0, 10.0)]
    assert h[0] < h[1] < h[2] < np.log(4)
    assert A.softmax(x, 1e-3)[0] == pytest.approx(1.0, abs=1e-12)  # T -> 0: argmax
    np.testing.assert_allclose(A.softmax(x, 1e6), 0.25, rtol=1e-5)  # T -> inf: uniform


def test_softmax_masks_minus_inf_and_rejects_fully_masked_rows():
    x = np.array([[1.0, -np.inf, 2.0], [0.0, 0.0, 0.0]])
    p = A.softmax(x)
    assert p[0, 1] == 0.0
    np.testing.assert_allclose(p, torch.softmax(torch.tensor(x), dim=-1).numpy(), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="every entry along axis is -inf"):
        A.softmax(np.array([[1.0, 2.0], [-np.inf, -np.inf]]))


def test_softmax_on_a_torch_tensor_returns_a_differentiable_tensor():
    logits = torch.tensor([[3.0, 1.0, -2.0, float("-inf")]], requires_grad=True)
    p = A.softmax(logits, temperature=0.7)
    assert isinstance(p, torch.Tensor) and p.dtype == torch.float32
    want = torch.softmax(logits.detach() / 0.7, dim=-1)
    torch.testing.assert_close(p.detach(), want, rtol=1e-5, atol=1e-6)
    weights = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    (g,) = torch.autograd.grad((p * weights).sum(), logits)
    logits2 = logits.detach().clone().requires_grad_(True)
    (g2,) = torch.autograd.grad((torch.softmax(logits2 / 0.7, dim=-1) * weights).sum(), logits2)
    torch.testing.assert_close(g, g2, rtol=1e-5, atol=1e-6)


def test_softmax_jacobian_equals_autograd():
    x = np.array([0.3, -1.2, 2.0, 0.0])
    for temperature in (0.5, 1.0, 4.0):
        want = torch.autograd.functional.jacobian(lambda t: torch.softmax(t / temperature, dim=0),
                                                  torch.tensor(x)).numpy()
        np.testing.assert_allclose(A.softmax_jacobian(x, temperature), want, rtol=RTOL, atol=ATOL)


def test_entropy_hand_values():
    assert float(A.entropy([0.5, 0.5])) == pytest.approx(np.log(2), rel=1e-15)
    assert float(A.entropy([1.0, 0.0, 0.0])) == 0.0
    np.testing.assert_allclose(A.entropy([[0.25] * 4, [1.0, 0, 0, 0]]), [np.log(4), 0.0], rtol=1e-15)


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_softmax_rejects_non_positive_temperature(temperature):
    with pytest.raises(ValueError, match=r"temperature must be > 0.0, got"):
        A.softmax([1.0, 2.0], temperature)
    with pytest.raises(ValueError, match=r"temperature must be > 0.0"):
        A.softmax(torch.tensor([1.0, 2.0]), temperature)


def test_softmax_bad_arguments():
    with pytest.raises(TypeError, match="temperature must be a real number"):
        A.softmax([1.0], "hot")
    with pytest.raises(ValueError, match="temperature must be finite"):
        A.softmax([1.0], float("inf"))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        A.softmax(3.0)
    with pytest.raises(ValueError, match="axis must be in"):
        A.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="axis must be in"):
        A.softmax(torch.zeros(2, 3), axis=-3)
    with pytest.raises(ValueError, match=r"NaN or \+inf"):
        A.softmax([1.0, np.nan])
    with pytest.raises(ValueError, match=r"NaN or \+inf"):
        A.softmax(torch.tensor([1.0, float("inf")]))
    with pytest.raises(TypeError, match="axis must be an integer"):
        A.softmax([1.0], axis=0.5)


def test_elementwise_functions_reject_bad_input():
    with pytest.raises(ValueError, match="x must not contain NaN or inf"):
        A.sigmoid([0.0, np.nan])
    with pytest.raises(ValueError, match="x must not contain NaN or inf"):
        A.relu([np.inf])
    with pytest.raises(TypeError, match="x must be array-like of numbers"):
        A.tanh(["a"])
    with pytest.raises(ValueError, match="alpha must be >= 0.0, got -1.0"):
        A.elu([1.0], alpha=-1.0)
    with pytest.raises(ValueError, match="beta must be > 0.0, got 0.0"):
        A.softplus([1.0], beta=0.0)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        A.leaky_relu([1.0], negative_slope="0.1")
    with pytest.raises(ValueError, match="softmax_jacobian|x must have 1 dimension"):
        A.softmax_jacobian(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="p must be a probability vector"):
        A.entropy([0.5, -0.5])


# --------------------------------------------------------------------------- widgets (chapter 04)

def test_softmax_temperature_widget_draws_softmax_of_its_logits():
    from nlpcourse import widgets

    box = widgets.softmax_temperature([2.0, 1.0, -1.0], temperature=1.0)
    first_image = box.view.image.value
    np.testing.assert_allclose(box.result.probabilities, A.softmax([2.0, 1.0, -1.0]), rtol=1e-15)
    for T in (0.05, 3.0, 50.0):
        box.controls["temperature"].value = T
        want = A.softmax([2.0, 1.0, -1.0], T)
        np.testing.assert_allclose(box.result.probabilities, want, rtol=1e-12)
        assert box.result.entropy == pytest.approx(float(A.entropy(want)), rel=1e-12)
        heights = [bar.get_height() for bar in box.view.artists["bars"]]
        np.testing.assert_allclose(heights[:3], want, rtol=1e-12)
        assert heights[3:] == [0.0] * (len(heights) - 3)
    assert box.view.image.value != first_image and box.view.renders == 4


def test_softmax_temperature_widget_edits_logits_and_reports_bad_text():
    from nlpcourse import widgets

    box = widgets.softmax_temperature()
    box.controls["logits"].value = "0, 0, 0, 0"
    np.testing.assert_allclose(box.result.probabilities, 0.25, rtol=1e-15)
    assert box.message.value == ""
    box.controls["logits"].value = "1, two"
    assert "logits must be numbers separated by commas" in box.message.value
    np.testing.assert_allclose(box.result.probabilities, 0.25, rtol=1e-15)  # the last good logits stay
    box.controls["logits"].value = "5"
    assert "2 to 10 finite numbers" in box.message.value
    box.controls["logits"].value = ", ".join(["1"] * 11)
    assert "2 to 10 finite numbers" in box.message.value


def test_activation_explorer_draws_the_chosen_function_and_derivative():
    from nlpcourse import widgets

    box = widgets.activation_explorer("tanh", x_range=3.0)
    for name in ("ReLU", "softplus"):
        box.controls["function"].value = name
        f, f_grad = A.ACTIVATIONS[name]
        x = box.result.x
        assert x[0] == -3.0 and x[-1] == 3.0
        np.testing.assert_array_equal(box.view.artists["lines"][0].get_ydata(), f(x))
        np.testing.assert_array_equal(box.view.artists["lines"][1].get_ydata(), f_grad(x))
    from traitlets import TraitError

    with pytest.raises(TraitError, match="Invalid selection"):
        box.controls["function"].value = "no such function"  # the dropdown refuses unknown names


def test_gelu_tanh_approximation_is_close_but_not_equal():
    """GELU is exact x * Phi(x); the tanh form (GPT-2's) differs from it by less than 1e-3."""
    x = np.linspace(-6, 6, 1201)
    approx = F.gelu(torch.tensor(x), approximate="tanh").numpy()
    gap = np.abs(A.gelu(x) - approx).max()
    assert 1e-6 < gap < 1e-3



# --------------------------------------------------------------------------- softmax as maximum entropy

ME_SCORES = np.array([3.0, 1.5, 1.0, 0.2, -1.0])


def test_max_entropy_at_softmax_mean_is_softmax():
    p = A.softmax(ME_SCORES)
    got = A.max_entropy_distribution(ME_SCORES, float(p @ ME_SCORES))
    np.testing.assert_allclose(got, p, rtol=0, atol=1e-6)
    assert A.softmax_multiplier_for_mean(ME_SCORES, float(p @ ME_SCORES)) == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("mean", [-0.9, 0.0, 0.74, 2.0, 2.95])
def test_max_entropy_is_softmax_of_multiplier_times_scores(mean):
    lam = A.softmax_multiplier_for_mean(ME_SCORES, mean)
    q = A.softmax(lam * ME_SCORES)
    assert q @ ME_SCORES == pytest.approx(mean, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(A.max_entropy_distribution(ME_SCORES, mean), q, rtol=0, atol=1e-6)


def test_mean_of_the_scores_gives_uniform_and_lambda_zero():
    # the unconstrained entropy maximum is uniform; its expected score is the plain average
    mean = float(ME_SCORES.mean())
    assert A.softmax_multiplier_for_mean(ME_SCORES, mean) == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(A.max_entropy_distribution(ME_SCORES, mean), np.full(5, 0.2), atol=1e-6)


def test_two_classes_by_hand():
    # scores (1, 0), mean m: p = (m, 1 - m), the only distribution; lambda = log(m / (1 - m))
    np.testing.assert_allclose(A.max_entropy_distribution([1.0, 0.0], 0.8), [0.8, 0.2], atol=1e-6)
    assert A.softmax_multiplier_for_mean([1.0, 0.0], 0.8) == pytest.approx(np.log(4.0), rel=1e-10)


def test_any_other_distribution_with_that_mean_has_less_entropy():
    rng = np.random.default_rng(0)
    best = A.max_entropy_distribution(ME_SCORES, 1.5)
    for _ in range(50):  # move along the constraint set: directions d with sum d = 0 and d . s = 0
        d = rng.standard_normal(5)
        basis = np.stack([np.ones(5), ME_SCORES])
        d -= basis.T @ np.linalg.lstsq(basis.T, d, rcond=None)[0]
        other = best + 0.01 * d / np.abs(d).max()
        if other.min() >= 0:
            assert A.entropy(other) < A.entropy(best)


@pytest.mark.parametrize("scores, mean, match", [
    ([1.0, 2.0], 2.0, "mean must lie strictly between"),
    ([1.0, 2.0], 0.5, "mean must lie strictly between"),
    ([1.0, 1.0], 1.0, "scores must hold at least two different values"),
    ([1.0], 1.0, "scores must hold at least two different values"),
    ([[1.0, 2.0]], 1.5, "scores"),
])
def test_max_entropy_bad_input(scores, mean, match):
    for fn in (A.max_entropy_distribution, A.softmax_multiplier_for_mean):
        with pytest.raises(ValueError, match=match):
            fn(scores, mean)
    with pytest.raises(TypeError, match="mean"):
        A.max_entropy_distribution([1.0, 2.0], "1.5")
