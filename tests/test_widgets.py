"""Widgets built without a display: driving the controls changes what they draw."""

import io

import numpy as np
import pytest

from nlpcourse import data, text, widgets


@pytest.fixture(scope="module")
def lee_docs():
    return [text.tokenize(d) for d in data.lee_documents()[:40]]


def test_tfidf_explorer_follows_its_controls(lee_docs):
    box = widgets.tfidf_explorer(lee_docs, [f"d{i}" for i in range(40)], k=5)
    first_image, renders = bytes(box.view.image.value), box.view.renders
    assert len(box.result.terms) == 5 and first_image.startswith(b"\x89PNG")
    box.controls["k"].value = 8
    assert len(box.result.terms) == 8 and box.view.renders == renders + 1
    assert bytes(box.view.image.value) != first_image
    box.controls["weighting"].value = "raw counts (BoW)"
    raw = dict(box.result.terms)
    # raw counts are the document's real counts
    vocab = text.build_vocabulary(lee_docs, min_count=2)
    counts = text.bag_of_words(lee_docs, vocab)[0].toarray().ravel()
    for word, value in raw.items():
        assert value == counts[vocab.index(word)]
    box.controls["weighting"].value = "tf-idf"
    weights = np.array([v for _w, v in box.result.terms])
    assert np.all(np.diff(weights) <= 0), "bars are sorted, largest first"


def test_tfidf_explorer_rejects_mismatched_titles(lee_docs):
    with pytest.raises(ValueError, match="titles must have one entry per document"):
        widgets.tfidf_explorer(lee_docs, ["only one"])


# --------------------------------------------------------------------------- FigureView: one render per change


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_one_change_renders_once_into_a_png_of_the_figure_size(lee_docs):
    box = widgets.tfidf_explorer(lee_docs, [f"d{i}" for i in range(40)], k=5)
    view, renders = box.view, box.view.renders
    box.controls["k"].value = 6
    assert view.renders == renders + 1
    png = bytes(view.image.value)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = view.figure.get_size_inches() * view.figure.dpi
    assert _pixels(png).shape == (round(height), round(width), 4)
    assert view.image.layout.width == f"{round(width)}px"
    box.controls["k"].value = 6  # the same value again: no change, no render
    assert view.renders == renders + 1


def test_a_browser_update_renders_once(lee_docs):
    """The comm handler applies browser state through set_state: one message, one render."""
    box = widgets.tfidf_explorer(lee_docs, [f"d{i}" for i in range(40)], k=5)
    renders, before = box.view.renders, bytes(box.view.image.value)
    box.controls["k"].set_state({"value": 7})
    assert box.view.renders == renders + 1 and len(box.result.terms) == 7
    assert bytes(box.view.image.value) != before


def test_redraws_keep_the_fixed_margins_under_the_course_style(lee_docs):
    """savefig used to switch the figure to constrained layout after the first frame (the course
    style turns figure.constrained_layout.use on): slower redraws and moving axes."""
    import matplotlib

    from nlpcourse import plots

    with matplotlib.rc_context():
        plots.use_course_style()
        box = widgets.tfidf_explorer(lee_docs, [f"d{i}" for i in range(40)], k=5)
        figure = box.view.figure
        position = figure.axes[0].get_position().bounds
        for k in (6, 7, 8):
            box.controls["k"].value = k
        assert figure.get_layout_engine() is None
        assert figure.axes[0].get_position().bounds == pytest.approx(position, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("settings", [{"k": 11}, {"weighting": "raw counts (BoW)"}, {"document": 7, "k": 3},
                                      {"weighting": "binary", "k": 20}])
def test_pinned_labels_draw_the_same_pixels_as_automatic_placement(lee_docs, settings, monkeypatch):
    """tfidf_explorer pins its axis labels after the first frame; every later frame must equal the
    frame of an explorer that places them automatically on every render."""
    titles = [f"story {i}" for i in range(40)]
    pinned = widgets.tfidf_explorer(lee_docs, titles, k=10)
    monkeypatch.setattr(widgets._core, "pin_label_positions", lambda ax: None)
    automatic = widgets.tfidf_explorer(lee_docs, titles, k=10)
    assert automatic.view.figure.axes[0].xaxis._autolabelpos and not pinned.view.figure.axes[0].xaxis._autolabelpos
    for name, value in settings.items():
        pinned.controls[name].value = value
        automatic.controls[name].value = value
    assert pinned.result.terms == automatic.result.terms
    np.testing.assert_array_equal(_pixels(bytes(pinned.view.image.value)), _pixels(bytes(automatic.view.image.value)))
