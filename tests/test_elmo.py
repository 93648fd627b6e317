"""nlpcourse.elmo: context diversity, the biLM, ScalarMix, perplexities and the checkpoint."""

import math

import numpy as np
import pytest
import torch

from nlpcourse import elmo, text

pytestmark = pytest.mark.usefixtures("one_thread")
F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- context diversity


def _two_topic_corpus(seed=0, n=60):
    """'bank' is used with river words and with money words; 'lake' only with river words;
    'the' with words drawn from the whole vocabulary."""
    rng = np.random.default_rng(seed)
    river = [f"river{i}" for i in range(12)]
    money = [f"money{i}" for i in range(12)]
    noise = [f"noise{i}" for i in range(200)]
    sentences = []
    for k in range(n):
        topic = river if k % 2 == 0 else money
        sentences.append(list(rng.choice(topic, 3)) + ["bank"] + list(rng.choice(topic, 3)))
        sentences.append(list(rng.choice(river, 3)) + ["lake"] + list(rng.choice(river, 3)))
        sentences.append(list(rng.choice(noise, 3)) + ["the"] + list(rng.choice(noise, 3)))
    return sentences


def test_context_diversity_ranks_the_two_context_word_first():
    ranked = elmo.context_diversity(_two_topic_corpus(), min_count=40, window=3, top=200)
    scores = dict(ranked)
    assert ranked[0][0] == "bank"
    assert scores["bank"] > scores["lake"] + 0.2
    assert scores["bank"] > scores["the"] + 0.2
    assert [s for _w, s in ranked] == sorted((s for _w, s in ranked), reverse=True)


def test_context_diversity_top_and_signature_defaults():
    ranked = elmo.context_diversity(_two_topic_corpus(n=40), top=3)  # min_count=20, window=5
    assert len(ranked) == 3 and all(isinstance(w, str) and isinstance(s, float) for w, s in ranked)


def test_context_diversity_is_repeatable_for_a_seed():
    corpus = _two_topic_corpus()
    assert elmo.context_diversity(corpus, min_count=40, seed=3) == elmo.context_diversity(corpus, min_count=40, seed=3)


def test_split_score_of_two_clean_groups_is_one():
    contexts = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0]])
    score, group = elmo.context_split_score(contexts)
    assert score == pytest.approx(1.0, rel=1e-12, abs=1e-12)
    assert group[0] == group[1] and group[2] == group[3] and group[0] != group[2]


def test_split_score_by_hand():
    # unit vectors at angles 0, 10, 90, 100 degrees: pairs (0,1) and (2,3) have cosine cos(10)
    angles = np.deg2rad([0.0, 10.0, 90.0, 100.0])
    contexts = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    score, _group = elmo.context_split_score(contexts)
    across = np.mean([math.cos(math.radians(d)) for d in (90, 100, 80, 90)])
    assert score == pytest.approx(math.cos(math.radians(10)) - across, rel=1e-10, abs=1e-12)


def test_occurrences_and_context_vectors():
    sentences = [["a", "bank", "b"], ["bank"], ["c", "d", "bank", "a"]]
    places = elmo.occurrences(sentences, "bank", window=1)
    assert places == [(0, 1), (1, 0), (2, 2)]
    vectors = elmo.context_vectors(sentences, places, window=1)
    assert vectors.shape == (3, 5)
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0) and not vectors[1].any()
    # context of (2, 2) with window 1 is {d, a}: idf(d) = log 3, idf(a) = log(3/2)
    vocab = sorted({"a", "bank", "b", "c", "d"})
    expected = np.zeros(5)
    expected[vocab.index("d")], expected[vocab.index("a")] = math.log(3), math.log(1.5)
    np.testing.assert_allclose(vectors[2], expected / np.linalg.norm(expected), **F64)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(window=0), ValueError, "window must be >= 1"),
    (dict(window=2.5), TypeError, "window must be an integer"),
    (dict(min_count=2), ValueError, "min_count must be >= 4"),
    (dict(top=0), ValueError, "top must be >= 1"),
    (dict(min_count=10**6), ValueError, "no word occurs at least min_count"),
    (dict(sample=50, min_count=20), ValueError, "sample must be <= 20"),
    (dict(repeats=0), ValueError, "repeats must be >= 1"),
])
def test_context_diversity_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        elmo.context_diversity(_two_topic_corpus(n=40), **kwargs)


def test_context_diversity_bad_corpus():
    with pytest.raises(ValueError, match="sentences is empty"):
        elmo.context_diversity([])
    with pytest.raises(ValueError, match="sentences holds no tokens"):
        elmo.context_diversity([[], []])
    with pytest.raises(TypeError, match="tokenize it first"):
        elmo.context_diversity(["a plain string"])
    with pytest.raises(ValueError, match="at least 4 rows"):
        elmo.context_split_score(np.eye(3))
    with pytest.raises(TypeError, match="word must be a str"):
        elmo.occurrences([["a"]], 3)


def test_split_sentences_keeps_titles_and_initials():
    got = text.split_sentences('Mr. Howard spoke. Then J. Smith left! "Why?" He asked. 3 men came.')
    assert got == ["Mr. Howard spoke.", "Then J. Smith left!", '"Why?', "He asked.", "3 men came."]
    with pytest.raises(TypeError, match="text must be a str"):
        text.split_sentences(["a"])
