"""nlpcourse.decomposition.pca against scikit-learn's PCA."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.decomposition import PCA

from nlpcourse.decomposition import pca

F64 = dict(rtol=1e-7, atol=1e-12)


def _aligned(ours, theirs):
    """Flip each of our components to the sign of scikit-learn's."""
    signs = np.sign(np.sum(ours * theirs, axis=1))
    return ours * signs[:, None], signs


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 40), st.integers(2, 8), st.integers(0, 10_000))
def test_pca_equals_scikit_learn(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ np.diag(np.geomspace(10, 0.5, d)) + 3.0
    k = min(2, n - 1, d)
    ours = pca(X, k)
    ref = PCA(n_components=k, svd_solver="full").fit(X)
    components, signs = _aligned(ours.components, ref.components_)
    np.testing.assert_allclose(components, ref.components_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance, ref.explained_variance_, **F64)
    np.testing.assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, **F64)
    np.testing.assert_allclose(ours.projection * signs, ref.transform(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.transform(X), ours.projection, **F64)


def test_signs_are_fixed_and_components_orthonormal():
    X = np.random.default_rng(0).normal(size=(50, 5))
    result = pca(X, 3)
    for row in result.components:
        assert row[np.abs(row).argmax()] > 0
    np.testing.assert_allclose(result.components @ result.components.T, np.eye(3), atol=1e-12)


def test_pca_by_hand_on_a_line():
    # points on the line y = 2x: one component along (1, 2)/sqrt(5) carries all the variance
    X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    result = pca(X, 1)
    np.testing.assert_allclose(result.components[0], np.array([1.0, 2.0]) / np.sqrt(5), rtol=1e-12)
    np.testing.assert_allclose(result.explained_variance_ratio, [1.0], rtol=1e-12)
    np.testing.assert_allclose(result.explained_variance, [np.var(np.arange(4) * np.sqrt(5), ddof=1)], rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="k must be <= 2"):
        pca(np.zeros((5, 2)), 3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        pca(np.zeros((5, 2)), 0)
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        pca(np.zeros(5), 1)
    with pytest.raises(ValueError, match="X must have at least 2 row"):
        pca(np.zeros((1, 3)), 1)
    with pytest.raises(ValueError, match="NaN"):
        pca(np.array([[1.0, np.nan], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        pca(np.eye(3), 2).transform(np.zeros((2, 2)))


def test_constant_data_has_zero_ratio():
    result = pca(np.ones((4, 3)), 1)
    assert result.explained_variance_ratio.tolist() == [0.0]
