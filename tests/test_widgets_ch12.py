"""Chapter 12's projection widget, driven without a display."""

import numpy as np
from sklearn.neighbors import NearestCentroid

from nlpcourse import data, decomposition, widgets


def test_projection_explorer_reports_the_accuracy_it_draws():
    X, y = data.digits()
    box = widgets.projection_explorer(X, y, [str(d) for d in range(10)], classes=(0, 1), components=1)
    rows = np.isin(y, (0, 1))
    Z = decomposition.pca(X[rows][:, X.std(0) > 0], 1).projection
    np.testing.assert_allclose(np.abs(box.result.projection), np.abs(Z), rtol=1e-10, atol=1e-12)
    assert box.result.accuracy == NearestCentroid().fit(Z, y[rows]).score(Z, y[rows])
    image, renders = bytes(box.view.image.value), box.view.renders
    box.controls["method"].value = "LDA"
    assert box.view.renders == renders + 1 and bytes(box.view.image.value) != image
    assert box.result.projection.shape == (rows.sum(), 1)
    box.controls["classes"].value = (1, 7, 9)
    box.controls["components"].value = 2
    assert box.result.projection.shape == (np.isin(y, (1, 7, 9)).sum(), 2)


def test_nearest_mean_accuracy_is_scikit_learns():
    rng = np.random.default_rng(3)
    for dims, classes in ((1, 2), (2, 3), (2, 5)):
        y = rng.integers(0, classes, 200) * 2 + 1  # labels need not be 0..k-1
        Z = rng.normal(size=(200, dims)) + 0.7 * y[:, None]
        assert widgets.vectors.nearest_mean_accuracy(Z, y) == NearestCentroid().fit(Z, y).score(Z, y)


def test_projection_redraws_move_the_same_artists():
    X, y = data.digits()
    box = widgets.projection_explorer(X, y, [str(d) for d in range(10)], classes=(1, 7, 9))
    artists, ax = box.view.artists["projection"], box.view.figure.axes[0]
    scatters = [a for a in artists.scatters if a.get_visible()]
    assert len(scatters) == 3 and not any(s.get_visible() for s in artists.steps)
    np.testing.assert_array_equal(scatters[0].get_offsets(), box.result.projection[box.result.labels == 1])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1", "7", "9"]
    box.controls["components"].value = 1
    assert box.view.artists["projection"] is artists and len(ax.collections) == 10 and len(ax.patches) == 10  # nothing new drawn
    steps = [s for s in artists.steps if s.get_visible()]
    assert len(steps) == 3 and not any(s.get_visible() for s in artists.scatters)
    counts = [s.get_data().values for s in steps]
    assert sum(c.sum() for c in counts) == len(box.result.projection)  # every point in one shared bin
    edges = steps[0].get_data().edges
    np.testing.assert_array_equal(counts[1], np.histogram(box.result.projection[box.result.labels == 7, 0], bins=edges)[0])
    assert ax.get_ylabel() == "count" and ax.get_ylim()[1] >= max(c.max() for c in counts)


def test_class_projection_refuses_a_bad_shape():
    import matplotlib.pyplot as plt
    import pytest

    from nlpcourse import plots

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="Z must be"):
        plots.class_projection(ax, np.zeros((4, 3)), np.zeros(4, int), ["a"], method="PCA")
    with pytest.raises(ValueError, match="more than the 1 class names"):
        plots.class_projection(ax, np.zeros((4, 2)), np.array([0, 1, 0, 1]), ["a"], method="PCA")
    plt.close(fig)
