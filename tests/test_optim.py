"""nlpcourse.optim: update rules equal torch.optim over 100 steps (float64, rtol 1e-6), the perceptron
within Novikoff's bound, pocket, early stopping, the test functions, and every bad-input error."""

import numpy as np
import pytest
import torch

from nlpcourse import autograd as ag
from nlpcourse import optim

RTOL, ATOL = 1e-6, 1e-12

# (ours, torch's, shared hyper-parameters): weight decay included everywhere
CASES = {
    "SGD": (optim.SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.01)),
    "momentum": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "momentum+dampening": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.02)),
    "Nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "RMSProp": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.01)),
    "RMSProp+momentum": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01, alpha=0.95, momentum=0.5, weight_decay=0.0)),
    "Adam": (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.05)),
    "AdamW": (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)),
}


def _gradient_sequence(shape_list, steps, seed):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in shape_list] for _ in range(steps)]


@pytest.mark.parametrize("name", CASES)
def test_100_steps_equal_torch_optim(name):
    ours_cls, torch_cls, hyper = CASES[name]
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), ()]
    start = [rng.normal(size=s) for s in shapes]
    ours = [p.copy() for p in start]
    theirs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
    opt_ours, opt_theirs = ours_cls(ours, **hyper), torch_cls(theirs, **hyper)
    for grads in _gradient_sequence(shapes, 100, seed=1):
        opt_ours.step(grads)
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt_theirs.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert opt_ours.t == 100


@pytest.mark.parametrize("name", ["SGD", "Nesterov", "Adam"])
def test_training_on_a_real_loss_equals_torch_with_gradients_from_the_engine(name):
    """Gradients come from each framework's own autograd on the same loss, so errors would compound."""
    ours_cls, torch_cls, hyper = CASES[name]
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    params = ag.init_mlp([3, 4, 2], rng)
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    opt_ours, opt_theirs = ours_cls(params, **hyper), torch_cls(tparams, **hyper)
    for _ in range(100):
        loss = ag.cross_entropy(ag.mlp_forward(params, X, "tanh"), y)
        loss.zero_grad()
        loss.backward()
        opt_ours.step()  # reads each Value's .grad
        opt_theirs.zero_grad()
        logits = torch.tanh(torch.tensor(X) @ tparams[0] + tparams[1]) @ tparams[2] + tparams[3]
        torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
        opt_theirs.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=RTOL, atol=1e-10)


def test_adam_l2_and_adamw_decay_differ_but_agree_without_decay():
    grads = _gradient_sequence([(5,)], 50, seed=2)
    start = np.linspace(-2, 2, 5)
    runs = {}
    for cls, wd in ((optim.Adam, 0.1), (optim.AdamW, 0.1), (optim.Adam, 0.0), (optim.AdamW, 0.0)):
        w = start.copy()
        opt = cls([w], lr=0.05, weight_decay=wd)
        for g in grads:
            opt.step(g)
        runs[(cls.__name__, wd)] = w
    np.testing.assert_allclose(runs[("Adam", 0.0)], runs[("AdamW", 0.0)], rtol=0, atol=0)
    assert np.max(np.abs(runs[("Adam", 0.1)] - runs[("AdamW", 0.1)])) > 1e-3


def test_momentum_and_nesterov_factories():
    assert optim.Momentum([np.zeros(2)], lr=0.1).momentum == 0.9
    assert optim.Nesterov([np.zeros(2)], lr=0.1).nesterov
    assert set(optim.OPTIMIZERS) == {"SGD", "momentum", "Nesterov", "RMSProp", "Adam", "AdamW"}


def test_optimize_path_on_the_quadratic_matches_the_closed_form():
    loss, grad = optim.ill_conditioned_quadratic(10.0)
    path = optim.optimize_path(lambda ps: optim.SGD(ps, lr=0.05), grad, [1.0, 1.0], 20)
    assert path.shape == (21, 2)
    # GD on (w1^2 + 10 w2^2)/2 multiplies w1 by (1 - 0.05) and w2 by (1 - 0.5) each step
    np.testing.assert_allclose(path[-1], [0.95**20, 0.5**20], rtol=1e-12)
    gap = [0.5 * (0.95 ** (2 * t) + 10 * 0.5 ** (2 * t)) for t in range(21)]  # hand value of L at step t
    assert optim.steps_to_tolerance(path, loss, 0.0, tol=(gap[19] + gap[20]) / 2) == 20
    assert optim.steps_to_tolerance(path, loss, 0.0, tol=gap[0]) == 0
    assert optim.steps_to_tolerance(path, loss, 0.0, tol=1e-9) is None


def test_rosenbrock_gradient_equals_torch():
    w = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    value = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    value.backward()
    assert optim.rosenbrock(-1.2, 1.0) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(optim.rosenbrock_grad([-1.2, 1.0]), w.grad.numpy(), rtol=1e-12)
    assert optim.rosenbrock(1.0, 1.0) == 0.0


def _separable(n=60, seed=0, gap=0.5):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(4 * n, 2))
    margin = X @ np.array([1.0, -2.0]) + 0.3
    keep = np.abs(margin) > gap
    return X[keep][:n], np.where(margin[keep][:n] > 0, 1.0, -1.0)


def test_perceptron_converges_within_novikoff_bound_and_separates():
    X, y = _separable()
    result = optim.perceptron(X, y, max_epochs=1000)
    assert result["converged"] and result["errors"][-1] == 0
    Xb = np.hstack([X, np.ones((len(X), 1))])
    assert np.all(y * (Xb @ result["weights"]) > 0)
    bound = optim.novikoff_bound(X, y, np.array([1.0, -2.0, 0.3]))
    assert 0 < result["mistakes"] <= bound


def test_perceptron_equals_sklearn_perceptron_without_shuffling():
    from sklearn.linear_model import Perceptron

    X, y = _separable(seed=3)
    ours = optim.perceptron(X, y, max_epochs=1)
    ref = Perceptron(eta0=1.0, shuffle=False, max_iter=1, tol=None, alpha=0.0).fit(X, y)
    np.testing.assert_allclose(ours["weights"], np.r_[ref.coef_[0], ref.intercept_], rtol=1e-12)


def test_novikoff_bound_hand_value():
    # two points at x = +-1 on a line, bias feature 1: R^2 = 2, w = (1, 0) gives gamma = 1
    assert optim.novikoff_bound([[1.0], [-1.0]], [1.0, -1.0], [1.0, 0.0]) == pytest.approx(2.0)


def test_perceptron_cycles_on_xor_and_pocket_keeps_the_best():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([-1.0, -1.0, 1.0, 1.0])
    result = optim.perceptron(X, y, max_epochs=50)
    assert not result["converged"] and min(result["errors"]) >= 1
    pocketed = optim.pocket(X, y, updates=2000, seed=0)
    assert pocketed["errors"] == 1  # the best a line can do on XOR
    assert pocketed["errors"] <= min(pocketed["current_errors"])
    assert max(pocketed["current_errors"]) > pocketed["errors"]  # the plain iterate keeps jumping
    Xb = np.hstack([X, np.ones((4, 1))])
    assert int(np.sum(y * (Xb @ pocketed["weights"]) <= 0)) == pocketed["errors"]


def test_early_stopping_epoch():
    losses = [5, 4, 3, 2.5, 2.6, 2.7, 2.4, 2.8, 2.9, 3.0, 3.1]
    assert optim.early_stopping_epoch(losses, patience=2) == 3  # stops before seeing 2.4
    assert optim.early_stopping_epoch(losses, patience=5) == 6
    assert optim.early_stopping_epoch([1.0], patience=3) == 0


class TestBadInput:
    @pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
    def test_learning_rate(self, lr):
        with pytest.raises(ValueError, match="lr must be"):
            optim.SGD([np.zeros(2)], lr=lr)

    def test_learning_rate_type(self):
        with pytest.raises(TypeError, match="lr must be a real number"):
            optim.Adam([np.zeros(2)], lr="0.1")

    @pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9)])
    def test_betas(self, betas):
        with pytest.raises(ValueError, match=r"betas\[[01]\] must be"):
            optim.Adam([np.zeros(2)], lr=0.1, betas=betas)

    def test_betas_length(self):
        with pytest.raises(ValueError, match="betas must be two numbers"):
            optim.AdamW([np.zeros(2)], betas=(0.9,))

    def test_other_coefficients(self):
        with pytest.raises(ValueError, match="alpha must be < 1.0"):
            optim.RMSProp([np.zeros(2)], alpha=1.0)
        with pytest.raises(ValueError, match="momentum must be < 1.0"):
            optim.SGD([np.zeros(2)], lr=0.1, momentum=1.0)
        with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
            optim.SGD([np.zeros(2)], lr=0.1, nesterov=True)
        with pytest.raises(ValueError, match="eps must be > 0"):
            optim.Adam([np.zeros(2)], eps=0.0)

    @pytest.mark.parametrize("cls", [optim.SGD, optim.RMSProp, optim.Adam, optim.AdamW])
    def test_negative_weight_decay(self, cls):
        with pytest.raises(ValueError, match="weight_decay must be >= 0"):
            cls([np.zeros(2)], lr=0.1, weight_decay=-1e-3)

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_gradient_stops_the_run(self, bad):
        w = np.array([1.0, 2.0])
        opt = optim.Adam([w], lr=0.1)
        opt.step([np.array([0.1, 0.2])])
        before = w.copy()
        with pytest.raises(ValueError, match=r"grads\[0\] contains NaN or inf at step 2"):
            opt.step([np.array([bad, 0.2])])
        np.testing.assert_array_equal(w, before)  # nothing was updated

    def test_gradient_shape_and_count(self):
        opt = optim.SGD([np.zeros(2), np.zeros(3)], lr=0.1)
        with pytest.raises(ValueError, match="one entry per parameter"):
            opt.step([np.zeros(2)])
        with pytest.raises(ValueError, match=r"grads\[1\] must have shape \(3,\)"):
            opt.step([np.zeros(2), np.zeros(2)])
        with pytest.raises(ValueError, match="grads must be given"):
            opt.step()

    def test_params(self):
        with pytest.raises(TypeError, match="params must be a non-empty list"):
            optim.SGD(np.zeros(2), lr=0.1)
        with pytest.raises(TypeError, match="params must be a non-empty list"):
            optim.SGD([], lr=0.1)
        with pytest.raises(TypeError, match=r"params\[0\] must be a float64 numpy array"):
            optim.SGD([np.zeros(2, dtype=np.float32)], lr=0.1)

    def test_perceptron_labels_and_separator(self):
        with pytest.raises(ValueError, match="y must hold labels -1 and \\+1"):
            optim.perceptron([[0.0], [1.0]], [0.0, 1.0])
        with pytest.raises(ValueError, match="X and y must have the same length"):
            optim.pocket([[0.0], [1.0]], [1.0])
        with pytest.raises(ValueError, match="does not separate"):
            optim.novikoff_bound([[1.0], [-1.0]], [1.0, -1.0], [-1.0, 0.0])
        with pytest.raises(ValueError, match="w_separator must have 2 entries"):
            optim.novikoff_bound([[1.0], [-1.0]], [1.0, -1.0], [1.0])

    def test_early_stopping_and_paths(self):
        with pytest.raises(ValueError, match="patience must be >= 1"):
            optim.early_stopping_epoch([1.0, 2.0], patience=0)
        with pytest.raises(ValueError, match="tol must be > 0"):
            optim.steps_to_tolerance(np.zeros((2, 2)), optim.rosenbrock, 0.0, tol=0.0)
        with pytest.raises(ValueError, match="condition must be >= 1"):
            optim.ill_conditioned_quadratic(0.5)


def test_full_batch_path_equals_gradient_descent_and_small_batches_are_noisier():
    from nlpcourse import normalization as norm

    rng = np.random.default_rng(7)
    X = np.c_[rng.normal(size=100), np.ones(100)]
    y = X @ np.array([2.0, -1.0]) + rng.normal(size=100)
    problem = norm.LeastSquares.fit(X, y)

    def grad_on_batch(w, idx):
        return X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)

    full = optim.minibatch_path(grad_on_batch, 100, [0.0, 0.0], 0.1, 50, batch_size=100)
    np.testing.assert_allclose(full, norm.gradient_descent_path(problem.grad, [0.0, 0.0], 0.1, 50), rtol=1e-12)
    # after the transient, the distance to the minimum shrinks with the batch size
    spread = {b: np.linalg.norm(optim.minibatch_path(grad_on_batch, 100, [0.0, 0.0], 0.1, 400, b, seed=1)[200:]
                                - problem.minimum, axis=1).mean() for b in (1, 10, 100)}
    assert spread[1] > spread[10] > spread[100]
    again = optim.minibatch_path(grad_on_batch, 100, [0.0, 0.0], 0.1, 30, batch_size=1, seed=1)
    np.testing.assert_array_equal(again, optim.minibatch_path(grad_on_batch, 100, [0.0, 0.0], 0.1, 30, 1, seed=1))
    with pytest.raises(ValueError, match="batch_size must be <= 100"):
        optim.minibatch_path(grad_on_batch, 100, [0.0, 0.0], 0.1, 5, batch_size=101)


def test_warmup_cosine_warms_up_linearly_then_follows_torchs_cosine_annealing():
    import torch

    from nlpcourse.optim import warmup_cosine

    assert [warmup_cosine(s, 4, 20) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    # after the warm-up: torch's CosineAnnealingLR over the remaining steps, down to the floor
    for floor in (0.0, 0.1):
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=1.0)
        annealing = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=16, eta_min=floor)
        expected = []
        for _ in range(17):
            expected.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            annealing.step()
        ours = [warmup_cosine(s, 4, 20, floor=floor) for s in range(4, 21)]
        assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert warmup_cosine(100, 4, 20, floor=0.1) == pytest.approx(0.1)   # stays at the floor after the end
