"""Chapter 12's projection widget, driven without a display."""

import numpy as np
from sklearn.neighbors import NearestCentroid

from nlpcourse import data, decomposition, widgets


def test_projection_explorer_reports_the_accuracy_it_draws():
    X, y = data.digits()
    box = widgets.projection_explorer(X, y, [str(d) for d in range(10)], classes=(0, 1), components=1)
    rows = np.isin(y, (0, 1))
    Z = decomposition.pca(X[rows][:, X.std(0) > 0], 1).projection
    np.testing.assert_allclose(np.abs(box.projection), np.abs(Z), rtol=1e-10, atol=1e-12)
    assert box.accuracy == NearestCentroid().fit(Z, y[rows]).score(Z, y[rows])
    image, renders = bytes(box.view.image.value), box.view.renders
    box.controls["method"].value = "LDA"
    assert box.view.renders == renders + 1 and bytes(box.view.image.value) != image
    assert box.projection.shape == (rows.sum(), 1)
    box.controls["classes"].value = (1, 7, 9)
    box.controls["components"].value = 2
    assert box.projection.shape == (np.isin(y, (1, 7, 9)).sum(), 2)
