"""Dimension reduction (chapters 03 and 12): PCA by the singular value decomposition.

Chapter 03 uses it to draw word vectors in 2-D; chapter 12 extends this module (LDA, matrix
factorisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlpcourse._checks import check_array, check_int


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
        X = check_array("X", X, ndim=2)
        if X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"X must have {self.mean.shape[0]} columns, got {X.shape[1]}")
        return (X - self.mean) @ self.components.T


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
