"""nlpcourse.generative against hand computations, scipy and scikit-learn's QDA / LDA."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis

from nlpcourse import data, generative
from nlpcourse.losses import sigmoid

RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(scope="module", params=[("defense", "sp_defense"), data.POKEMON_STATS], ids=["two", "all"])
def pokemon_split(request):
    return data.pokemon_two_types(features=request.param)


def test_fit_gaussian_is_maximum_likelihood_hand_values():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])
    mu, sigma = generative.fit_gaussian(X)
    np.testing.assert_allclose(mu, [2.0, 3.0])
    # divide by n = 3: sum of outer products of (-1,-1), (1,-1), (0,2)
    np.testing.assert_allclose(sigma, np.array([[2.0, 0.0], [0.0, 6.0]]) / 3, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(sigma, np.cov(X.T, bias=True), rtol=RTOL, atol=ATOL)


def test_gaussian_log_density_equals_scipy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    A = rng.normal(size=(3, 3))
    cov, mean = A @ A.T + np.eye(3), rng.normal(size=3)
    np.testing.assert_allclose(generative.gaussian_log_density(X, mean, cov),
                               multivariate_normal(mean, cov).logpdf(X), rtol=RTOL, atol=ATOL)


def test_shared_covariance_is_count_weighted_average(pokemon_split):
    X, y, _Xt, _yt = pokemon_split
    separate = generative.fit_generative(X, y, shared=False)
    shared = generative.fit_generative(X, y, shared=True)
    n0, n1 = np.bincount(y)
    expected = (n0 * separate.covariances[0] + n1 * separate.covariances[1]) / (n0 + n1)
    np.testing.assert_allclose(shared.covariances[0], expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(shared.means, separate.means, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(shared.priors, [n0 / (n0 + n1), n1 / (n0 + n1)], rtol=RTOL, atol=ATOL)


def test_separate_covariance_matches_sklearn_qda(pokemon_split):
    X, y, Xt, yt = pokemon_split
    model = generative.fit_generative(X, y, shared=False)
    qda = QuadraticDiscriminantAnalysis(priors=model.priors, store_covariance=True).fit(X, y)
    np.testing.assert_allclose(model.means, qda.means_, rtol=RTOL, atol=ATOL)
    # COURSE.md expects sklearn to divide by n - 1; the pinned scikit-learn 1.9.1 documents and
    # uses the maximum-likelihood (divide by n) estimate, so the covariances agree directly.
    unbiased = [np.cov(X[y == k].T, ddof=1) for k in range(2)]
    for k in range(2):
        np.testing.assert_allclose(model.covariances[k], qda.covariance_[k], rtol=RTOL, atol=ATOL)
        n = model.counts[k]
        np.testing.assert_allclose(model.covariances[k], unbiased[k] * (n - 1) / n, rtol=RTOL, atol=ATOL)
    for features, labels in ((X, y), (Xt, yt)):
        np.testing.assert_array_equal(generative.predict(model, features), qda.predict(features))
        np.testing.assert_allclose(generative.posterior(model, features), qda.predict_proba(features),
                                   rtol=1e-8, atol=ATOL)


def test_shared_covariance_matches_sklearn_lda(pokemon_split):
    X, y, Xt, yt = pokemon_split
    model = generative.fit_generative(X, y, shared=True)
    lda = LinearDiscriminantAnalysis(solver="lsqr", priors=model.priors).fit(X, y)
    w, b = generative.linear_parameters(model)
    np.testing.assert_allclose(w, lda.coef_[0], rtol=1e-8, atol=ATOL)
    np.testing.assert_allclose(b, lda.intercept_[0], rtol=1e-8, atol=ATOL)
    np.testing.assert_array_equal(generative.predict(model, Xt), lda.predict(Xt))
    np.testing.assert_allclose(generative.posterior(model, Xt), lda.predict_proba(Xt), rtol=1e-8, atol=ATOL)


def test_shared_posterior_is_sigmoid_of_linear_function(pokemon_split):
    """The proof's claim: with a shared covariance, P(C1|x) = sigmoid(w.x + b), w and b closed form."""
    X, y, Xt, _yt = pokemon_split
    model = generative.fit_generative(X, y, shared=True)
    w, b = generative.linear_parameters(model)
    sigma_inv = np.linalg.inv(model.covariances[0])
    mu1, mu2 = model.means[1], model.means[0]
    n1, n2 = model.counts[1], model.counts[0]
    np.testing.assert_allclose(w, (mu1 - mu2) @ sigma_inv, rtol=1e-8, atol=ATOL)
    b_hand = -0.5 * mu1 @ sigma_inv @ mu1 + 0.5 * mu2 @ sigma_inv @ mu2 + np.log(n1 / n2)
    assert b == pytest.approx(b_hand, rel=1e-8)
    np.testing.assert_allclose(generative.posterior(model, Xt)[:, 1], sigmoid(Xt @ w + b), rtol=1e-9, atol=ATOL)


def test_bayes_rule_by_hand_and_priors_move_posterior():
    X = np.array([[0.0], [1.0], [2.0], [4.0], [5.0], [6.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    model = generative.fit_generative(X, y, shared=True)
    x = np.array([[3.0]])
    p1 = multivariate_normal(model.means[1], model.covariances[1]).pdf(x) * 0.5
    p0 = multivariate_normal(model.means[0], model.covariances[0]).pdf(x) * 0.5
    assert generative.posterior(model, x)[0, 1] == pytest.approx(p1 / (p0 + p1), rel=1e-12)
    tilted = generative.fit_generative(X, y, shared=True, priors=[0.2, 0.8])
    assert generative.posterior(tilted, x)[0, 1] == pytest.approx(0.8, rel=1e-12)  # equal likelihoods at 3


def test_three_classes_posterior_sums_to_one():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(c, 1.0, size=(10, 2)) for c in range(3)])
    y = np.repeat([0, 1, 2], 10)
    model = generative.fit_generative(X, y)
    np.testing.assert_allclose(generative.posterior(model, X).sum(axis=1), 1.0, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qda = QuadraticDiscriminantAnalysis(priors=model.priors).fit(X, y)
    assert np.sum(generative.predict(model, X) != qda.predict(X)) <= 1
    with pytest.raises(ValueError, match="needs a two-class model"):
        generative.log_odds(model, X)


def test_parameter_counts():
    X, y, _Xt, _yt = data.pokemon_two_types(features=data.POKEMON_STATS)
    assert generative.fit_generative(X, y).n_parameters == 2 * 6 + 2 * 21
    assert generative.fit_generative(X, y, shared=True).n_parameters == 2 * 6 + 21


def test_bad_input_errors():
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    with pytest.raises(ValueError, match="X must not contain NaN"):
        generative.fit_generative(np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1])
    with pytest.raises(ValueError, match="X and y must have the same length, got 4 and 3"):
        generative.fit_generative(X, [0, 1, 0])
    with pytest.raises(ValueError, match="y must hold at least two classes"):
        generative.fit_generative(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="labelled 0..K-1 with none missing"):
        generative.fit_generative(X, [0, 2, 0, 2])
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        generative.fit_generative(X, [0.5, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="class 1 has 1 sample.* singular.*shared=True.*reg="):
        generative.fit_generative(X, [0, 0, 0, 1])
    # a constant feature: singular even with enough samples; reg= fixes it
    flat = np.column_stack([np.arange(6.0), np.ones(6)])
    with pytest.raises(ValueError, match="singular.*reg="):
        generative.fit_generative(flat, [0, 0, 0, 1, 1, 1], shared=True)
    fitted = generative.fit_generative(flat, [0, 0, 0, 1, 1, 1], shared=True, reg=1e-3)
    np.testing.assert_allclose(fitted.covariances[0][1, 1], 1e-3)
    with pytest.raises(ValueError, match="priors must be 2 positive numbers that sum to 1"):
        generative.fit_generative(X, [0, 1, 0, 1], shared=True, priors=[0.5, 0.6])
    with pytest.raises(ValueError, match="reg must be >= 0.0"):
        generative.fit_generative(X, [0, 1, 0, 1], reg=-1.0)
    separate = generative.fit_generative(X, [0, 1, 0, 1], shared=True, reg=0.0)
    with pytest.raises(ValueError, match="X must have 2 feature columns, got 3"):
        generative.predict(separate, np.ones((2, 3)))
    with pytest.raises(ValueError, match="needs a shared-covariance model"):
        generative.linear_parameters(generative.fit_generative(X[:4], [0, 1, 0, 1], reg=1.0))


def test_ellipse_geometry_hand_values():
    from nlpcourse.plots import ellipse_geometry

    centre, width, height, angle = ellipse_geometry([1.0, 2.0], np.diag([9.0, 4.0]), n_std=2.0)
    assert centre == (1.0, 2.0) and (width, height) == pytest.approx((12.0, 8.0))
    assert angle % 180 == pytest.approx(0.0, abs=1e-9)
    _c, width, height, angle = ellipse_geometry([0.0, 0.0], [[2.0, 1.0], [1.0, 2.0]], n_std=1.0)
    assert (width, height) == pytest.approx((2 * np.sqrt(3.0), 2.0)) and angle % 180 == pytest.approx(45.0)


def test_gaussian_boundary_widget_refits_and_redraws():
    from nlpcourse import widgets

    X, y, Xt, yt = data.pokemon_two_types(features=data.POKEMON_STATS)
    box = widgets.gaussian_boundary(X, y, Xt, yt, data.POKEMON_STATS, ("Normal", "Water"), features=(2, 4), steps=40)
    box.controls["prior"].value = 0.5
    separate, image = box.result.probability.copy(), box.view.image.value
    expected = generative.fit_generative(X[:, [2, 4]], y, priors=[0.5, 0.5])
    assert box.result.accuracy["test"] == generative.accuracy(expected, Xt[:, [2, 4]], yt)
    box.controls["covariance"].value = "shared"
    assert box.result.model.shared and box.view.image.value != image
    assert np.abs(box.result.probability - separate).max() > 0.1
    shared = generative.fit_generative(X[:, [2, 4]], y, shared=True, priors=[0.5, 0.5])
    assert box.result.accuracy["train"] == generative.accuracy(shared, X[:, [2, 4]], y)
    box.controls["x"].value = 0
    np.testing.assert_allclose(box.result.model.means[:, 0], [X[y == 0, 0].mean(), X[y == 1, 0].mean()])
    with pytest.raises(ValueError, match="one column per feature name"):
        widgets.gaussian_boundary(X, y, Xt, yt, ("a", "b"))
