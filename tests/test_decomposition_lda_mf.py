"""nlpcourse.decomposition, chapter 12's part: Fisher's LDA against scikit-learn, truncated
SVD, matrix factorisation by ALS and SGD on a known low-rank matrix, PPMI."""

import numpy as np
import pytest
import scipy.linalg as _la
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as _SkLDA

from nlpcourse import data as _data
from nlpcourse import decomposition
def test_lda_spans_the_same_subspace_as_sklearn():
    X, y = _data.digits()
    X = X[:, X.std(axis=0) > 0]  # constant pixels make S_W singular
    ours = decomposition.lda(X, y, k=4, reg=1e-6)
    ref = _SkLDA(solver="eigen", shrinkage=None, n_components=4).fit(X, y)
    angles = _la.subspace_angles(ours.components.T, ref.scalings_[:, :4])
    assert np.degrees(angles).max() < 1.0


def test_lda_errors():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="at least two classes"):
        decomposition.lda(X, np.zeros(20), k=1)
    with pytest.raises(ValueError, match="k must be <= 1"):
        decomposition.lda(X, np.r_[np.zeros(10), np.ones(10)], k=2)
    singular = np.c_[X, np.ones(20)]
    with pytest.raises(ValueError, match="pass reg > 0"):
        decomposition.lda(singular, np.r_[np.zeros(10), np.ones(10)], k=1)


def test_truncated_svd_error_is_the_dropped_singular_values():
    M = np.random.default_rng(1).normal(size=(30, 20))
    u, s, vt = decomposition.truncated_svd(M, 5)
    full = np.linalg.svd(M, compute_uv=False)
    err = np.linalg.norm(M - u @ np.diag(s) @ vt) ** 2
    assert err == pytest.approx((full[5:] ** 2).sum(), rel=1e-10)
    with pytest.raises(ValueError, match="k must be <= 20"):
        decomposition.truncated_svd(M, 21)


@pytest.mark.parametrize("method", ["als", "sgd"])
def test_factorisation_recovers_held_out_entries(method):
    R, mask = _data.low_rank_ratings(60, 40, rank=3, observed=0.4, noise=0.05, seed=0)
    rng = np.random.default_rng(0)
    held_out = mask & (rng.random(mask.shape) < 0.2)
    train = mask & ~held_out
    if method == "als":
        U, V = decomposition.als(R, train, rank=3, reg=0.1, iterations=30)
    else:
        U, V = decomposition.mf_sgd(R, train, rank=3, lr=0.02, reg=0.01, epochs=150)
    rmse = np.sqrt(np.mean((U @ V.T - R)[held_out] ** 2))
    baseline = np.sqrt(np.mean((R[train].mean() - R)[held_out] ** 2))
    assert rmse < 0.3 * baseline


def test_rows_without_observations_get_zero_factors():
    R, mask = _data.low_rank_ratings(10, 8, rank=2, observed=0.6, seed=1)
    mask[3] = False
    U, _V = decomposition.als(R, mask, rank=2)
    assert np.all(U[3] == 0)
    U, _V = decomposition.mf_sgd(R, mask, rank=2, epochs=5)
    assert np.all(U[3] == 0)
    with pytest.raises(ValueError, match="no observed entry"):
        decomposition.als(R, np.zeros_like(mask), rank=2)
    with pytest.raises(ValueError, match="rank must be >= 1"):
        decomposition.als(R, mask, rank=0)
    with pytest.raises(ValueError, match="rank must be <= 8"):
        decomposition.mf_sgd(R, mask, rank=9)
    with pytest.raises(ValueError, match="mask must have the shape of R"):
        decomposition.als(R, mask[:, :3], rank=2)


def test_ppmi_matches_definition():
    C = np.array([[4.0, 0.0], [1.0, 5.0]])
    P = decomposition.ppmi(C)
    assert P[0, 1] == 0
    assert P[0, 0] == pytest.approx(max(0, np.log(4 * 10 / (4 * 5))))
    assert P[1, 0] == 0  # log(1*10/(6*5)) < 0 is clipped
    with pytest.raises(ValueError, match="non-negative"):
        decomposition.ppmi(-C)


def test_sparse_ppmi_and_svd_equal_the_dense_ones():
    import scipy.sparse as sp

    C = np.random.default_rng(3).poisson(0.7, size=(40, 30)).astype(float)
    np.testing.assert_allclose(decomposition.ppmi(sp.csr_matrix(C)).toarray(), decomposition.ppmi(C),
                               rtol=1e-12, atol=1e-12)
    P = decomposition.ppmi(C)
    u, s, vt = decomposition.truncated_svd(sp.csr_matrix(P), 5)
    ud, sd, vtd = decomposition.truncated_svd(P, 5)
    np.testing.assert_allclose(s, sd, rtol=1e-8)
    np.testing.assert_allclose(u @ np.diag(s) @ vt, ud @ np.diag(sd) @ vtd, rtol=1e-7, atol=1e-9)
