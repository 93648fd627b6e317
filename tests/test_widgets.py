"""Widgets built without a display: driving the controls changes what they draw."""

import numpy as np
import pytest

from nlpcourse import data, text, widgets


@pytest.fixture(scope="module")
def lee_docs():
    return [text.tokenize(d) for d in data.lee_documents()[:40]]


def test_tfidf_explorer_follows_its_controls(lee_docs):
    box = widgets.tfidf_explorer(lee_docs, [f"d{i}" for i in range(40)], k=5)
    first_image, renders = bytes(box.view.image.value), box.view.renders
    assert len(box.terms) == 5 and first_image.startswith(b"\x89PNG")
    box.controls["k"].value = 8
    assert len(box.terms) == 8 and box.view.renders == renders + 1
    assert bytes(box.view.image.value) != first_image
    box.controls["weighting"].value = "raw counts (BoW)"
    raw = dict(box.terms)
    # raw counts are the document's real counts
    vocab = text.build_vocabulary(lee_docs, min_count=2)
    counts = text.bag_of_words(lee_docs, vocab)[0].toarray().ravel()
    for word, value in raw.items():
        assert value == counts[vocab.index(word)]
    box.controls["weighting"].value = "tf-idf"
    weights = np.array([v for _w, v in box.terms])
    assert np.all(np.diff(weights) <= 0), "bars are sorted, largest first"


def test_tfidf_explorer_rejects_mismatched_titles(lee_docs):
    with pytest.raises(ValueError, match="titles must have one entry per document"):
        widgets.tfidf_explorer(lee_docs, ["only one"])
