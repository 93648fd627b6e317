"""nlpcourse.rbf against a direct least-squares solve, scikit-learn's KMeans and KernelRidge."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.kernel_ridge import KernelRidge

from nlpcourse import rbf


def sine_data(n, seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 2 * np.pi, n))
    return x, np.sin(x) + 0.1 * rng.normal(size=n)


def test_output_layer_is_the_least_squares_solution_on_sklearn_centres():
    x, y = sine_data(120, 0)
    centres = KMeans(n_clusters=10, n_init=10, random_state=0).fit(x[:, None]).cluster_centers_
    net = rbf.fit_rbf(x, y, centres=centres, width=0.5)
    phi = np.exp(-((x[:, None] - centres[:, 0][None]) ** 2) / (2 * 0.5**2))
    design = np.hstack([phi, np.ones((len(x), 1))])
    expected = np.linalg.solve(design.T @ design, design.T @ y)
    np.testing.assert_allclose(net.weights, expected, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(net.predict(x), design @ expected, rtol=1e-9, atol=1e-12)


def test_kmeans_is_as_good_as_sklearn():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.3, size=(50, 2)) for c in ((0, 0), (3, 0), (0, 3), (3, 3))])
    ours = rbf.kmeans(X, 4, seed=0)
    ref = KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
    inertia = ((X[:, None] - ours[None]) ** 2).sum(-1).min(1).sum()
    assert inertia <= 1.001 * ref.inertia_
    assert rbf.kmeans(X, 4, seed=0).tolist() == ours.tolist()


def test_rbf_network_is_comparable_to_kernel_ridge():
    x, y = sine_data(200, 2)
    x_test, y_test = sine_data(200, 3)
    net = rbf.fit_rbf(x, y, k=15, width=0.6, ridge=1e-6)
    gamma = 1 / (2 * 0.6**2)
    kr = KernelRidge(kernel="rbf", gamma=gamma, alpha=0.1).fit(x[:, None], y)
    rmse_net = np.sqrt(np.mean((net.predict(x_test) - y_test) ** 2))
    rmse_kr = np.sqrt(np.mean((kr.predict(x_test[:, None]) - y_test) ** 2))
    assert rmse_net < 0.13 and rmse_kr < 0.13  # both near the noise level 0.1
    assert abs(rmse_net - rmse_kr) < 0.02


def test_width_controls_smoothness():
    x, y = sine_data(60, 4)
    x_val, y_val = sine_data(200, 5)
    errors = {}
    for width in (0.02, 0.5, 20.0):
        net = rbf.fit_rbf(x, y, centres=x[:, None], width=width, ridge=1e-8)
        errors[width] = np.sqrt(np.mean((net.predict(x_val) - y_val) ** 2))
    assert errors[0.5] < errors[0.02] and errors[0.5] < errors[20.0]


def test_bad_input():
    x, y = sine_data(20, 0)
    with pytest.raises(ValueError, match="width must be > 0"):
        rbf.fit_rbf(x, y, k=3, width=0.0)
    with pytest.raises(ValueError, match="k must be <= 20"):
        rbf.fit_rbf(x, y, k=50)
    with pytest.raises(ValueError, match="give either k"):
        rbf.fit_rbf(x, y)
    with pytest.raises(ValueError, match="X and y must have the same length"):
        rbf.fit_rbf(x, y[:-1], k=3)
    with pytest.raises(ValueError, match="X has 1 features but centres have 2"):
        rbf.rbf_features(x, np.zeros((3, 2)), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        rbf.fit_rbf(np.r_[x[:-1], np.nan], y, k=3)
