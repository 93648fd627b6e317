"""Dimension reduction (chapters 03 and 12): PCA by the singular value decomposition.

Chapter 03 uses it to draw word vectors in 2-D; chapter 12 extends this module (LDA, matrix
factorisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlpcourse._checks import check_array, check_float, check_int

__all__ = [
    "PCAResult", "pca", "LDAResult", "scatter_matrices", "lda", "truncated_svd", "als", "mf_sgd",
    "ppmi",
]


def _project(X, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Centre new rows with the fitted mean and project them on the fitted directions."""
    X = check_array("X", X, ndim=2)
    if X.shape[1] != mean.shape[0]:
        raise ValueError(f"X must have {mean.shape[0]} columns, got {X.shape[1]}")
    return (X - mean) @ components.T


@dataclass(frozen=True)
class PCAResult:
    """Principal axes (k, d), the variance along each, its share of the total, the mean (d,)
    and the data projected on the axes (n, k)."""

    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    projection: np.ndarray

    def transform(self, X) -> np.ndarray:
        """Project new rows on the same axes."""
        return _project(X, self.mean, self.components)


def pca(X, k: int) -> PCAResult:
    """The ``k`` directions of largest variance of the rows of X, by SVD of the centred data.

    Variance uses n - 1 (as scikit-learn does). Signs are fixed so that the largest-magnitude
    entry of each component is positive (scikit-learn >= 1.5 makes the same choice).
    """
    X = check_array("X", X, ndim=2, min_rows=2)
    n, d = X.shape
    k = check_int("k", k, minimum=1, maximum=min(n, d))
    mean = X.mean(axis=0)
    centred = X - mean  # (n, d)
    _u, s, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:k]  # (k, d)
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    variance = s**2 / (n - 1)
    total = variance.sum()
    ratio = variance[:k] / total if total > 0 else np.zeros(k)
    return PCAResult(components, variance[:k], ratio, mean, centred @ components.T)


# --------------------------------------------------------------------------- chapter 12: LDA


@dataclass(frozen=True)
class LDAResult:
    """Fisher's discriminant directions (k, d), their class-separation ratios, the mean (d,)
    and the data projected on the directions (n, k)."""

    components: np.ndarray
    ratios: np.ndarray
    mean: np.ndarray
    projection: np.ndarray

    def transform(self, X) -> np.ndarray:
        """Project new rows on the same directions."""
        return _project(X, self.mean, self.components)


def scatter_matrices(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Within-class scatter S_W = sum_c sum_i (x_i - mu_c)(x_i - mu_c)^T and between-class
    scatter S_B = sum_c n_c (mu_c - mu)(mu_c - mu)^T."""
    X = check_array("X", X, ndim=2, min_rows=2)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got shape {y.shape}")
    mean = X.mean(axis=0)
    d = X.shape[1]
    within, between = np.zeros((d, d)), np.zeros((d, d))
    for label in np.unique(y):
        rows = X[y == label]
        centred = rows - rows.mean(axis=0)
        within += centred.T @ centred
        gap = (rows.mean(axis=0) - mean)[:, None]
        between += len(rows) * gap @ gap.T
    return within, between


def lda(X, y, k: int, reg: float = 0.0) -> LDAResult:
    """Fisher's linear discriminant: the k directions w maximising (w^T S_B w) / (w^T S_W w).

    Solved as the generalised eigenproblem S_B w = ratio S_W w. At most (classes - 1)
    directions carry information. A singular S_W (fewer samples than features in a class,
    or a constant feature) is an error that suggests ``reg``, which adds reg * I to S_W.
    """
    import scipy.linalg

    X = check_array("X", X, ndim=2, min_rows=2)
    classes = np.unique(np.asarray(y))
    if classes.size < 2:
        raise ValueError(f"y must contain at least two classes for LDA, got {classes.size}")
    k = check_int("k", k, minimum=1, maximum=min(classes.size - 1, X.shape[1]))
    reg = check_float("reg", reg, minimum=0.0)
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    within, between = scatter_matrices(X, y)
    within = within + reg * np.eye(X.shape[1])
    if np.linalg.cond(within) > 1e12:
        raise ValueError("the within-class scatter S_W is singular (a class has fewer samples than "
                         "features, or a feature is constant): pass reg > 0, e.g. reg=1e-3")
    ratios, vectors = scipy.linalg.eigh(between, within)  # ascending
    order = np.argsort(ratios)[::-1][:k]
    components = vectors[:, order].T
    components /= np.linalg.norm(components, axis=1, keepdims=True)
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    mean = X.mean(axis=0)
    return LDAResult(components, ratios[order], mean, (X - mean) @ components.T)


# ------------------------------------------------- chapter 12: matrix factorisation (矩陣分解)


def truncated_svd(M, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best rank-k approximation U_k diag(s_k) V_k^T of M (Eckart-Young): returns U_k, s_k,
    V_k^T.

    A scipy sparse M is factorised with ARPACK (``scipy.sparse.linalg.svds``, fixed start
    vector) without ever forming the dense matrix; singular values come largest first.
    """
    import scipy.sparse as sp

    if sp.issparse(M):
        from scipy.sparse.linalg import svds

        M = sp.csr_matrix(M, dtype=np.float64)
        k = check_int("k", k, minimum=1, maximum=min(M.shape) - 1)
        u, s, vt = svds(M, k=k, v0=np.ones(min(M.shape)) / np.sqrt(min(M.shape)))
        order = np.argsort(s)[::-1]
        return u[:, order], s[order], vt[order]
    M = check_array("M", M, ndim=2, min_rows=1)
    if M.shape[1] == 0:
        raise ValueError(f"M must have at least one column, got shape {M.shape}")
    k = check_int("k", k, minimum=1, maximum=min(M.shape))
    u, s, vt = np.linalg.svd(M, full_matrices=False)
    return u[:, :k], s[:k], vt[:k]


def _check_mask(R, mask, rank) -> tuple[np.ndarray, np.ndarray, int]:
    R = check_array("R", R, ndim=2, finite=False)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != R.shape:
        raise ValueError(f"mask must have the shape of R {R.shape}, got {mask.shape}")
    if not np.all(np.isfinite(R[mask])):
        raise ValueError("R must be finite where mask is True")
    if not mask.any():
        raise ValueError("mask has no observed entry: nothing to fit")
    rank = check_int("rank", rank, minimum=1, maximum=min(R.shape))
    return np.where(mask, R, 0.0), mask, rank


def als(R, mask, rank: int, reg: float = 0.1, iterations: int = 30,
        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Alternating least squares for R ~ U V^T on the observed entries (mask True).

    Each step fixes one factor and solves a small ridge regression per row of the other. A
    row (user) or column (item) with no observed entry gets a zero factor, so its
    predictions are 0: there is nothing to learn it from.
    """
    R, mask, rank = _check_mask(R, mask, rank)
    reg = check_float("reg", reg)
    if reg <= 0:
        raise ValueError(f"reg must be > 0 for ALS (it keeps each solve well-posed), got {reg}")
    iterations = check_int("iterations", iterations, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    U = rng.normal(scale=0.1, size=(R.shape[0], rank))
    V = rng.normal(scale=0.1, size=(R.shape[1], rank))
    eye = reg * np.eye(rank)

    def solve(fixed, values, observed):
        out = np.zeros((values.shape[0], rank))
        for i in range(values.shape[0]):
            seen = observed[i]
            if seen.any():
                A = fixed[seen]
                out[i] = np.linalg.solve(A.T @ A + eye, A.T @ values[i, seen])
        return out

    for _ in range(iterations):
        U = solve(V, R, mask)
        V = solve(U, R.T, mask.T)
    return U, V


def mf_sgd(R, mask, rank: int, lr: float = 0.02, reg: float = 0.02, epochs: int = 200,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Matrix factorisation R ~ U V^T by stochastic gradient descent over the observed entries
    in a random order each epoch (as in the Netflix-prize papers). Unobserved rows stay near 0."""
    R, mask, rank = _check_mask(R, mask, rank)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    reg = check_float("reg", reg, minimum=0.0)
    epochs = check_int("epochs", epochs, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    U = rng.normal(scale=0.1, size=(R.shape[0], rank))
    V = rng.normal(scale=0.1, size=(R.shape[1], rank))
    U[~mask.any(axis=1)] = 0.0
    V[~mask.any(axis=0)] = 0.0
    rows, cols = np.nonzero(mask)
    for _ in range(epochs):
        for t in rng.permutation(rows.size):
            i, j = rows[t], cols[t]
            err = R[i, j] - U[i] @ V[j]
            U[i], V[j] = (U[i] + lr * (err * V[j] - reg * U[i]),
                          V[j] + lr * (err * U[i] - reg * V[j]))
    return U, V


def ppmi(cooccurrence):
    """Positive pointwise mutual information: max(0, log p(w, c) / (p(w) p(c))), 0 where a count is
    0.

    Dense in, dense out; a scipy sparse matrix in gives a sparse matrix out (only the
    observed pairs are ever computed, so a corpus-sized vocabulary fits in memory).
    """
    import scipy.sparse as sp

    if sp.issparse(cooccurrence):
        C = sp.coo_matrix(cooccurrence, dtype=np.float64)
        if C.nnz and (C.data.min() < 0 or not np.all(np.isfinite(C.data))):
            raise ValueError("cooccurrence counts must be finite and non-negative")
        total = C.sum()
        if total == 0:
            raise ValueError("cooccurrence is all zeros")
        rows = np.asarray(C.sum(axis=1)).ravel()
        cols = np.asarray(C.sum(axis=0)).ravel()
        keep = C.data > 0
        r, c, v = C.row[keep], C.col[keep], C.data[keep]
        pmi = np.maximum(np.log(v * total / (rows[r] * cols[c])), 0.0)
        out = sp.csr_matrix((pmi, (r, c)), shape=C.shape)
        out.eliminate_zeros()
        return out
    C = check_array("cooccurrence", cooccurrence, ndim=2)
    if C.size == 0:
        raise ValueError(f"cooccurrence must hold counts, got an empty matrix of shape {C.shape}")
    if C.min() < 0:
        raise ValueError("cooccurrence counts must be non-negative")
    total = C.sum()
    if total == 0:
        raise ValueError("cooccurrence is all zeros")
    rows, cols = C.sum(axis=1, keepdims=True), C.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(C * total / (rows * cols))
    return np.where(C > 0, np.maximum(pmi, 0.0), 0.0)
