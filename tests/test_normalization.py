"""nlpcourse.normalization against scikit-learn's scalers, torch.nn.BatchNorm1d / LayerNorm and hand computations."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from nlpcourse import normalization as N

RTOL32, ATOL32 = 1e-5, 1e-6  # COURSE.md, float32
RTOL64, ATOL64 = 1e-10, 1e-12


@pytest.fixture
def train_test():
    rng = np.random.default_rng(0)
    scales = np.array([1.0, 100.0, 0.01, 5.0])
    return rng.normal(size=(50, 4)) * scales + 3, rng.normal(size=(20, 4)) * scales + 3


# --------------------------------------------------------------------------- feature scaling

def test_min_max_equals_sklearn_fit_on_train_applied_to_test(train_test):
    X_train, X_test = train_test
    scaler = N.min_max(X_train)
    reference = MinMaxScaler().fit(X_train)
    np.testing.assert_allclose(scaler.transform(X_test), reference.transform(X_test), rtol=RTOL64, atol=ATOL64)
    Z = scaler.transform(X_train)
    np.testing.assert_allclose(Z.min(axis=0), 0.0, atol=ATOL64)
    np.testing.assert_allclose(Z.max(axis=0), 1.0, rtol=RTOL64)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X_test)), X_test, rtol=RTOL64)


def test_z_score_equals_sklearn(train_test):
    X_train, X_test = train_test
    scaler = N.z_score(X_train, eps=0.0)
    reference = StandardScaler().fit(X_train)
    np.testing.assert_allclose(scaler.transform(X_test), reference.transform(X_test), rtol=RTOL64, atol=ATOL64)
    Z = scaler.transform(X_train)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    # the default epsilon shrinks each feature by the factor sqrt(var / (var + eps)), as documented
    shrink = np.sqrt(X_train.var(axis=0) / (X_train.var(axis=0) + 1e-8))
    np.testing.assert_allclose(N.z_score(X_train).transform(X_test), reference.transform(X_test) * shrink,
                               rtol=RTOL64, atol=ATOL64)
    assert np.all(shrink[[0, 1, 3]] > 1 - 1e-8) and shrink[2] < 1 - 1e-5  # visible only for the tiny feature


def test_centering_hand_computation():
    X = np.array([[1.0, 10.0], [3.0, 14.0]])
    scaler = N.centering(X)
    np.testing.assert_array_equal(scaler.transform(X), [[-1.0, -2.0], [1.0, 2.0]])
    np.testing.assert_array_equal(scaler.transform([[0.0, 0.0]]), [[-2.0, -12.0]])


def test_constant_features_are_defined_never_nan():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    z = N.z_score(X, eps=1e-8).transform(X)
    assert np.all(np.isfinite(z)) and np.all(z[:, 1] == 0.0)
    m = N.min_max(X).transform(X)
    assert np.all(m[:, 1] == 0.0)
    np.testing.assert_allclose(m[:, 0], [0.0, 1 / 3, 1.0], rtol=1e-15)
    with pytest.raises(ValueError, match=r"zero-variance feature\(s\) \[1\].*eps > 0"):
        N.z_score(X, eps=0.0)


def test_scaler_bad_input(train_test):
    X_train, _ = train_test
    scaler = N.z_score(X_train)
    with pytest.raises(ValueError, match="X must have 4 features \\(as when fitted\\), got 3"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        scaler.transform(np.zeros(4))
    with pytest.raises(ValueError, match="X_train must have at least 1 row"):
        N.min_max(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="X_train must not contain NaN"):
        N.centering([[1.0, np.nan]])
    with pytest.raises(ValueError, match="eps must be >= 0.0"):
        N.z_score(X_train, eps=-1.0)


# --------------------------------------------------------------------------- gradient descent

def test_gradient_descent_path_hand_computation():
    # L = (w1^2 + 10 w2^2) / 2, grad = (w1, 10 w2); lr 0.1 halves nothing in w2 and shrinks w1 by 0.9
    path = N.gradient_descent_path(lambda w: np.array([w[0], 10 * w[1]]), [1.0, 1.0], 0.1, 3)
    np.testing.assert_allclose(path, [[1, 1], [0.9, 0.0], [0.81, 0.0], [0.729, 0.0]], rtol=1e-12, atol=1e-15)
    # lr 0.15: w2 factor 1 - 1.5 = -0.5, the zig-zag
    path = N.gradient_descent_path(lambda w: np.array([w[0], 10 * w[1]]), [1.0, 1.0], 0.15, 2)
    np.testing.assert_allclose(path[:, 1], [1.0, -0.5, 0.25], rtol=1e-12)


def test_gradient_descent_path_stops_when_diverging():
    path = N.gradient_descent_path(lambda w: w * 1e200, [1.0, 1.0], 1e200, 5)
    assert len(path) < 6 and np.all(np.isfinite(path))


def test_least_squares_loss_grad_and_minimum_equal_torch_and_numpy():
    X, y = N.scaled_features(10.0, n=50, seed=3)
    problem = N.LeastSquares.fit(X, y)
    w = torch.tensor([0.5, -0.3], dtype=torch.float64, requires_grad=True)
    loss = 0.5 * torch.mean((torch.tensor(X) @ w - torch.tensor(y)) ** 2)
    (g,) = torch.autograd.grad(loss, w)
    np.testing.assert_allclose(problem.loss(np.array(0.5), np.array(-0.3)), loss.item(), rtol=RTOL64)
    np.testing.assert_allclose(problem.grad([0.5, -0.3]), g.numpy(), rtol=RTOL64, atol=ATOL64)
    W1, W2 = np.meshgrid(np.linspace(-1, 4, 7), np.linspace(-1, 1, 5))
    grid = problem.loss(W1, W2)
    assert grid.shape == (5, 7)
    assert grid[2, 3] == pytest.approx(float(problem.loss(np.array([[W1[2, 3], W2[2, 3]]]))[0]), rel=1e-12)
    np.testing.assert_allclose(problem.minimum, np.linalg.solve(X.T @ X, X.T @ y), rtol=1e-9)
    np.testing.assert_allclose(problem.grad(problem.minimum), 0.0, atol=1e-10)


def test_feature_scale_sets_condition_number_and_z_score_removes_it():
    for scale in (1.0, 10.0, 100.0):
        X, y = N.scaled_features(scale, n=400, seed=0)
        raw = N.LeastSquares.fit(X, y)
        # the best second weight is the true one divided by the scale (noise 0.1 moves it a little)
        np.testing.assert_allclose(raw.minimum * [1, scale], [3.0, -2.0], atol=0.03)
        # the curvature along w2 grows like scale^2
        assert raw.hessian[1, 1] / raw.hessian[0, 0] == pytest.approx(
            scale**2 * np.mean(X[:, 1] ** 2 / scale**2) / np.mean(X[:, 0] ** 2), rel=1e-9)
        normalized = N.LeastSquares.fit(N.z_score(X).transform(X), y - y.mean())
        assert normalized.condition_number < 1.3
    assert N.LeastSquares.fit(*N.scaled_features(100.0, n=400)).condition_number > 5000


def test_steps_to_converge_grows_with_scale_and_not_after_z_score():
    steps_raw, steps_norm = [], []
    for scale in (1.0, 10.0, 30.0):
        X, y = N.scaled_features(scale)
        raw = N.LeastSquares.fit(X, y)
        steps_raw.append(N.steps_to_converge(raw, [0.0, 0.0], raw.safe_lr(1.0)))
        normalized = N.LeastSquares.fit(N.z_score(X).transform(X), y - y.mean())
        steps_norm.append(N.steps_to_converge(normalized, [0.0, 0.0], normalized.safe_lr(1.0)))
    assert steps_raw[0] < steps_raw[1] < steps_raw[2]
    assert steps_raw[2] > 50 * steps_norm[2]
    assert len(set(steps_norm)) == 1  # z-score makes the problem the same whatever the scale


def test_steps_to_converge_equals_running_gradient_descent():
    X, y = N.scaled_features(5.0, n=60, seed=2)
    problem = N.LeastSquares.fit(X, y)
    best = float(problem.loss(problem.minimum[None, :])[0])
    for fraction in (0.5, 1.0, 1.6):
        lr = problem.safe_lr(fraction)
        steps = N.steps_to_converge(problem, [0.0, 0.0], lr, tol=1e-6)
        path = N.gradient_descent_path(problem.grad, [0.0, 0.0], lr, steps + 5)
        gaps = problem.loss(path) - best
        first = int(np.flatnonzero(gaps <= 1e-6)[0])
        assert first == steps and 10 < steps < len(path)


def test_steps_to_converge_hand_case():
    # 1-D-like separable problem: L = (w1^2 + w2^2)/2 with lr 1 converges in one step
    problem = N.LeastSquares.fit(np.eye(2) * np.sqrt(2), np.zeros(2))
    assert N.steps_to_converge(problem, [1.0, 1.0], 1.0) == 1
    assert N.steps_to_converge(problem, [0.0, 0.0], 1.0) == 0
    assert N.steps_to_converge(problem, [1.0, 1.0], 1e-9, max_steps=10) == 10
    assert N.steps_to_converge(problem, [1.0, 1.0], 2.5, max_steps=50) == 50  # |1 - lr| > 1: diverges
    assert N.steps_to_converge(problem, [0.0, 0.0], 2.5) == 0  # already at the minimum
    # lr 1.5: the distance flips sign and halves each step; gap = (0.5^t)^2 * 2 / 2 <= 1e-6 first at t = 10
    assert N.steps_to_converge(problem, [1.0, 1.0], 1.5) == 10


def test_gradient_descent_bad_input():
    with pytest.raises(ValueError, match="lr must be > 0.0, got 0.0"):
        N.gradient_descent_path(lambda w: w, [1.0, 1.0], 0.0, 3)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        N.gradient_descent_path(lambda w: w, [1.0, 1.0], 0.1, -1)
    with pytest.raises(ValueError, match="start must have 1 dimension"):
        N.gradient_descent_path(lambda w: w, [[1.0, 1.0]], 0.1, 1)
    with pytest.raises(ValueError, match=r"grad must return an array of shape \(2,\), got \(3,\)"):
        N.gradient_descent_path(lambda w: np.zeros(3), [1.0, 1.0], 0.1, 1)
    with pytest.raises(ValueError, match="X and y must have the same length, got 3 and 2"):
        N.LeastSquares.fit(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="fraction must be < 2.0"):
        N.LeastSquares.fit(np.eye(2), np.zeros(2)).safe_lr(2.0)
    with pytest.raises(ValueError, match="loss needs 2 weight arrays, got 3"):
        N.LeastSquares.fit(np.eye(2), np.zeros(2)).loss(np.zeros(1), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="start must have 2 entries, got 3"):
        N.steps_to_converge(N.LeastSquares.fit(np.eye(2), np.zeros(2)), [0.0, 0.0, 0.0], 0.1)
    with pytest.raises(ValueError, match="scale must be > 0.0"):
        N.scaled_features(0.0)


# --------------------------------------------------------------------------- BatchNorm / LayerNorm vs torch

def _copy_affine(ours, theirs, rng):
    gamma = torch.tensor(rng.normal(1.0, 0.3, size=ours.num_features), dtype=torch.float32)
    beta = torch.tensor(rng.normal(0.0, 0.3, size=ours.num_features), dtype=torch.float32)
    with torch.no_grad():
        for module in (ours, theirs):
            module.weight.copy_(gamma)
            module.bias.copy_(beta)


def _forward_backward(module, x, upstream):
    x = x.clone().requires_grad_(True)
    y = module(x)
    gx, gw, gb = torch.autograd.grad(y, (x, module.weight, module.bias), upstream)
    return y.detach(), gx, gw, gb


def _assert_close(a, b):
    torch.testing.assert_close(a, b, rtol=RTOL32, atol=ATOL32)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_equals_torch_over_several_steps_in_both_modes(momentum):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ours, theirs = N.BatchNorm(6, momentum=momentum), torch.nn.BatchNorm1d(6, momentum=momentum)
    _copy_affine(ours, theirs, rng)
    for step in range(5):
        x = torch.randn(8 + step, 6) * torch.arange(1, 7) + 2.0  # features on different scales
        upstream = torch.randn_like(x)
        for got, want in zip(_forward_backward(ours, x, upstream), _forward_backward(theirs, x, upstream)):
            _assert_close(got, want)
        _assert_close(ours.running_mean, theirs.running_mean)
        _assert_close(ours.running_var, theirs.running_var)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    ours.eval(), theirs.eval()
    for rows in (1, 5):  # evaluation mode works for a single example: running statistics
        x = torch.randn(rows, 6) * 3
        upstream = torch.randn_like(x)
        for got, want in zip(_forward_backward(ours, x, upstream), _forward_backward(theirs, x, upstream)):
            _assert_close(got, want)
    # evaluation does not move the running estimates
    _assert_close(ours.running_mean, theirs.running_mean)


def test_batchnorm_running_statistics_hand_computation():
    bn = N.BatchNorm(1, momentum=0.1)
    bn(torch.tensor([[1.0], [3.0]]))  # mean 2, unbiased var 2
    assert bn.running_mean.item() == pytest.approx(0.9 * 0 + 0.1 * 2, rel=1e-6)
    assert bn.running_var.item() == pytest.approx(0.9 * 1 + 0.1 * 2, rel=1e-6)


def test_batchnorm_training_output_is_standardised_per_feature():
    bn = N.BatchNorm(3)
    y = bn(torch.randn(64, 3) * 10 + 5)
    _assert_close(y.mean(dim=0), torch.zeros(3))
    torch.testing.assert_close(y.var(dim=0, unbiased=False), torch.ones(3), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7)])
def test_layernorm_equals_torch(shape):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    ours, theirs = N.LayerNorm(7), torch.nn.LayerNorm(7)
    _copy_affine(ours, theirs, rng)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        for _ in range(3):
            x = torch.randn(*shape) * 4 + 1
            upstream = torch.randn_like(x)
            for got, want in zip(_forward_backward(ours, x, upstream), _forward_backward(theirs, x, upstream)):
                _assert_close(got, want)


def test_layernorm_normalises_each_example_and_batchnorm_each_feature():
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0], [10.0, 20.0, 30.0, 60.0], [0.0, 0.0, 1.0, 3.0]])
    ln, bn = N.LayerNorm(4), N.BatchNorm(4)
    _assert_close(ln(x).mean(dim=1), torch.zeros(3))
    _assert_close(bn(x).mean(dim=0), torch.zeros(4))
    # LayerNorm does not care how big an example is; rows 0 and 1 differ by a factor 10
    torch.testing.assert_close(ln(x)[0], ln(x)[1], rtol=1e-4, atol=1e-4)


def test_normalization_layers_bad_input():
    bn, ln = N.BatchNorm(4), N.LayerNorm(4)
    with pytest.raises(ValueError, match=r"BatchNorm in training mode needs a batch of at least 2 examples, got 1"):
        bn(torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"x must have 2 dimensions \(batch, features=4\), got shape \(2, 4, 3\)"):
        bn(torch.randn(2, 4, 3))
    with pytest.raises(ValueError, match=r"x must have 4 features in its last dimension, got shape \(5, 3\)"):
        bn(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"x must have 4 features in its last dimension, got shape \(5, 6\)"):
        ln(torch.randn(5, 6))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        ln(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="num_features must be >= 1, got 0"):
        N.BatchNorm(0)
    with pytest.raises(ValueError, match="momentum must be <= 1.0"):
        N.BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be > 0.0"):
        N.LayerNorm(3, eps=0.0)
    bn.eval()
    assert bn(torch.randn(1, 4)).shape == (1, 4)  # one example is fine with running statistics


# --------------------------------------------------------------------------- digits loader, plot and widget (chapter 05)

def test_digits_loader_matches_scikit_learn():
    from sklearn.datasets import load_digits

    from nlpcourse import data

    X, y = data.digits()
    bunch = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    X_train, y_train, X_test, y_test = data.digits_split(0.2, seed=0)
    assert len(X_train) + len(X_test) == 1797 and len(X_test) == 360
    assert abs(np.bincount(y_test).min() - np.bincount(y_test).max()) <= 2  # stratified
    np.testing.assert_array_equal(data.digits_split(0.2, seed=0)[1], y_train)  # same seed, same split
    with pytest.raises(ValueError, match="test_fraction must be < 1.0"):
        data.digits_split(1.0)


def test_loss_contour_draws_any_two_parameter_loss_with_its_path():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlpcourse import plots

    fig, ax = plt.subplots()
    path = np.array([[0.0, 1.0], [0.5, 0.2], [1.0, 0.0]])
    calls = []

    def bowl(W1, W2):
        calls.append(W1.shape)
        return (W1 - 1) ** 2 + 10 * W2**2

    out = plots.loss_contour(ax, bowl, (-1, 2), (-1, 1.5), path=path, levels=12, resolution=50, title="bowl")
    assert out is ax and calls == [(50, 50)]
    contour = ax.collections[0]
    assert len(contour.levels) == 12 and contour.levels[0] > 0  # log levels above the minimum
    np.testing.assert_allclose(ax.lines[0].get_xydata(), path)
    assert ax.get_xlim() == (-1, 2) and ax.get_title() == "bowl" and ax.get_xlabel() == "w1"
    plots.loss_contour(ax, bowl, (-1, 2), (-1, 1.5), levels=7, log_levels=False)
    with pytest.raises(ValueError, match=r"xlim must be two increasing numbers"):
        plots.loss_contour(ax, bowl, (2, -1), (-1, 1))
    with pytest.raises(ValueError, match=r"path must have shape \(n, 2\), got \(3,\)"):
        plots.loss_contour(ax, bowl, (-1, 2), (-1, 1), path=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"loss\(W1, W2\) must return an array of the grid's shape"):
        plots.loss_contour(ax, lambda W1, W2: W1.sum(), (-1, 2), (-1, 1))
    with pytest.raises(ValueError, match="levels must be >= 2"):
        plots.loss_contour(ax, bowl, (-1, 2), (-1, 1), levels=1)
    plt.close(fig)


def test_feature_scale_widget_shows_gd_on_raw_and_z_scored_features():
    from nlpcourse import widgets

    box = widgets.feature_scale_descent(scale=3.0, lr_fraction=1.0, steps=25)
    before = box.view.image.value
    box.controls["scale"].value = 30.0
    assert box.view.image.value != before
    X, y = N.scaled_features(box.controls["scale"].value)
    raw = N.LeastSquares.fit(X, y)
    lr = raw.safe_lr(1.0)
    np.testing.assert_allclose(box.result.paths["raw"], N.gradient_descent_path(raw.grad, [0.0, 1.0], lr, 25), rtol=1e-12)
    assert box.result.steps["raw"] == N.steps_to_converge(raw, [0.0, 1.0], lr)
    z_steps = box.result.steps["z-score"]
    box.controls["scale"].value = 100.0
    assert box.result.steps["z-score"] == z_steps and box.result.steps["raw"] > 100 * z_steps
    # one path line per panel, redrawn rather than piled up
    assert all(len([l for l in ax.lines if l.get_label() == "GD path"]) == 1 for ax in box.view.figure.axes[:2])


# --------------------------------------------------------------------------- issue 27: the notes' claims, measured

def test_batch_norm_backward_equals_autograd():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3)) * [1.0, 10.0, 0.1] + 2.0
    gamma, beta, upstream = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(5, 3))
    xt, gt, bt = (torch.tensor(v, requires_grad=True) for v in (x, gamma, beta))
    mean, var = xt.mean(0), xt.var(0, unbiased=False)
    mean.retain_grad(), var.retain_grad()
    y = gt * (xt - mean) / torch.sqrt(var + 1e-5) + bt
    y.backward(torch.tensor(upstream))
    mine = N.batch_norm_backward(x, gamma, upstream)
    for key, reference in (("x", xt.grad), ("gamma", gt.grad), ("beta", bt.grad)):
        np.testing.assert_allclose(mine[key], reference.numpy(), rtol=RTOL64, atol=ATOL64)
    # dL/dvar and dL/dmu as autograd sees them: the total derivative through mean and var
    np.testing.assert_allclose(mine["var"], var.grad.numpy(), rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(mine["mu"], mean.grad.numpy(), rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(mine["x"].sum(axis=0), 0.0, atol=1e-12)  # shifting every x does nothing


def test_batch_norm_backward_refuses_bad_shapes():
    x = np.ones((4, 3)) + np.arange(12).reshape(4, 3)
    with pytest.raises(ValueError, match="upstream must have the shape of x"):
        N.batch_norm_backward(x, np.ones(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="gamma must have shape"):
        N.batch_norm_backward(x, np.ones(2), np.ones((4, 3)))
    with pytest.raises(ValueError, match="x must have at least 2"):
        N.batch_norm_backward(x[:1], np.ones(3), np.ones((1, 3)))


def test_batch_statistics_spread_shrinks_like_one_over_root_b():
    values = np.random.default_rng(0).normal(size=4000)
    out = N.batch_statistics_spread(values, [4, 16, 64], n_batches=1000, seed=1)
    assert out["batch_size"].tolist() == [4, 16, 64]
    # the standard error of a mean of B draws: sigma / sqrt(B) (population large, so no correction)
    np.testing.assert_allclose(out["mean_sd"], 1 / np.sqrt([4, 16, 64]), rtol=0.1)
    assert np.all(np.diff(out["var_sd"]) < 0)
    with pytest.raises(ValueError, match="batch_sizes must lie in"):
        N.batch_statistics_spread(values[:10], [2, 20])
    with pytest.raises(ValueError, match="n_batches must be"):
        N.batch_statistics_spread(values, [2], n_batches=1)


def test_aligned_indicators_flips_lower_is_better_columns():
    X = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    out = N.aligned_indicators(X, np.array([False, True]))
    np.testing.assert_allclose(out, [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], rtol=RTOL64, atol=ATOL64)
    with pytest.raises(ValueError, match="lower_is_better must be 2 booleans"):
        N.aligned_indicators(X, [0, 1])
    with pytest.raises(ValueError, match="lower_is_better must be 2 booleans"):
        N.aligned_indicators(X, np.array([True]))


def test_mlp_layers_and_init_scale():
    torch.manual_seed(0)
    plain = N.mlp(5, 8, 3, depth=2)
    torch.manual_seed(0)
    scaled = N.mlp(5, 8, 3, depth=2, batch_norm=True, init_scale=4.0)
    assert [type(m).__name__ for m in scaled] == ["Linear", "BatchNorm", "ReLU", "Linear", "BatchNorm", "ReLU", "Linear"]
    torch.testing.assert_close(scaled[0].weight, 4.0 * plain[0].weight)
    torch.testing.assert_close(scaled[-1].weight, plain[-1].weight)  # the output layer keeps torch's default
    with pytest.raises(ValueError, match="init_scale must be > 0"):
        N.mlp(5, 8, 3, init_scale=0.0)


def test_train_classifier_learns_and_records_watched_layers():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 4, generator=g)
    y = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    model = N.mlp(4, 16, 2, depth=1, batch_norm=True)
    history = N.train_classifier(model, X, y, lr=0.5, epochs=5, batch_size=32, watch={"bn": model[1]})
    assert len(history["loss"]) == 5 and history["loss"][-1] < history["loss"][0]
    assert len(history["bn mean"]) == len(history["bn var"]) == 5 * 7  # 7 batches of >= 2 examples per epoch
    assert abs(history["bn mean"][0]) < 1e-6 and abs(history["bn var"][0] - 1) < 1e-3  # gamma 1, beta 0 at the start
    assert N.accuracy(model, X, y) > 0.9 and not model.training
    assert not model[1]._forward_hooks  # the recording hooks are removed


def test_train_classifier_reports_divergence_and_refuses_bad_input():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 4, generator=g), torch.randint(0, 2, (64,), generator=g)
    torch.manual_seed(0)
    model = N.mlp(4, 8, 2, depth=1)
    history = N.train_classifier(model, X, y, lr=1e38, epochs=3)  # the first step overflows float32
    assert len(history["loss"]) == 2 and history["loss"][-1] == float("inf")  # stopped in epoch 2
    with pytest.raises(ValueError, match="X must be"):
        N.train_classifier(model, X, y[:10], lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        N.train_classifier(model, X, y, lr=0.0, epochs=1)
    with pytest.raises(TypeError, match=r"watch\['a'\] must be a torch.nn.Module"):
        N.train_classifier(model, X, y, lr=0.1, epochs=1, watch={"a": 3})
