"""nlpcourse.text against hand computations, gensim's TfidfModel, and property tests."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import data, text

TINY = [["the", "cat", "sat"], ["the", "dog", "sat", "sat"], ["a", "bird"]]


def test_tokenize_lowercases_and_keeps_words_and_numbers():
    assert text.tokenize("The cat's 2 hats, e-mail!") == ["the", "cat's", "2", "hats", "e", "mail"]
    assert text.tokenize("Ünïcode café") == ["ünïcode", "café"]
    with pytest.raises(TypeError, match="text must be a str"):
        text.tokenize(["not", "a", "string"])


def test_vocabulary_orders_by_count_then_alphabet_and_maps_unknowns():
    vocab = text.build_vocabulary(TINY, min_count=1, unk_token="<unk>")
    assert vocab.tokens[:3] == ("<unk>", "sat", "the")
    assert vocab.counts[:3] == (0, 3, 2)
    assert vocab.index("zebra") == 0
    assert vocab.decode(vocab.encode(["the", "sat"])) == ["the", "sat"]
    pruned = text.build_vocabulary(TINY, min_count=2)
    assert pruned.tokens == ("<unk>", "sat", "the")
    assert pruned.counts[0] == 4  # cat, dog, a, bird were dropped into <unk>


def test_vocabulary_ties_in_gensims_order():
    # counts: e 3; b, a, d, c 2 each (first seen in that order); f, g 1
    docs = [["b", "a", "d", "c", "e"], ["a", "b", "c", "d", "e"], ["e", "f", "g"]]
    from gensim.models import Word2Vec

    model = Word2Vec(min_count=1, vector_size=4, workers=1)
    model.build_vocab(docs)
    assert model.wv.index_to_key == ["e", "c", "d", "a", "b", "g", "f"]  # ties: the word first seen later first
    ours = text.build_vocabulary(docs, unk_token=None, ties="gensim")
    assert list(ours.tokens) == model.wv.index_to_key
    assert ours.counts == (3, 2, 2, 2, 2, 1, 1)
    assert text.build_vocabulary(docs, unk_token=None).tokens == ("e", "a", "b", "c", "d", "f", "g")  # default
    with_specials = text.build_vocabulary(docs, min_count=2, specials=("<s>",), ties="gensim")
    assert with_specials.tokens == ("<s>", "<unk>", "e", "c", "d", "a", "b")
    with pytest.raises(ValueError, match="ties must be one of 'alphabetical', 'gensim'"):
        text.build_vocabulary(docs, ties="random")


def test_vocabulary_rejects_bad_input():
    with pytest.raises(ValueError, match="documents is empty"):
        text.build_vocabulary([])
    with pytest.raises(TypeError, match=r"documents\[1\] must hold only str tokens"):
        text.build_vocabulary([["a"], ["b", 3]])
    with pytest.raises(TypeError, match="tokenize it first"):
        text.build_vocabulary(["a sentence"])
    with pytest.raises(ValueError, match="min_count must be >= 1"):
        text.build_vocabulary(TINY, min_count=-1)
    with pytest.raises(TypeError, match="min_count must be an integer"):
        text.build_vocabulary(TINY, min_count=1.5)
    with pytest.raises(ValueError, match="lower min_count"):
        text.build_vocabulary(TINY, min_count=10)
    strict = text.build_vocabulary(TINY, unk_token=None)
    with pytest.raises(ValueError, match="'zebra' is not in the vocabulary"):
        strict.index("zebra")
    with pytest.raises(ValueError, match=r"ids\[\.\.\.\] must be <="):
        strict.decode([99])


def test_one_hot_rows_are_orthogonal_unit_vectors():
    vocab = text.build_vocabulary(TINY, unk_token=None)
    m = text.one_hot(["cat", "dog", "cat"], vocab)
    assert m.shape == (3, len(vocab))
    np.testing.assert_array_equal(m.sum(axis=1), 1)
    assert m[0] @ m[1] == 0 and m[0] @ m[2] == 1


def test_bag_of_words_counts():
    vocab = text.build_vocabulary(TINY, unk_token=None)
    bow = text.bag_of_words(TINY, vocab).toarray()
    assert bow[1, vocab.index("sat")] == 2
    np.testing.assert_array_equal(bow.sum(axis=1), [3, 4, 2])


def test_tfidf_matches_hand_computation():
    vocab = text.build_vocabulary(TINY, unk_token=None)
    counts = text.bag_of_words(TINY, vocab)
    weights = text.tfidf(counts, tf="raw", idf="standard", normalize=False).toarray()
    # "sat": tf 2 in document 1, in 2 of 3 documents
    assert weights[1, vocab.index("sat")] == pytest.approx(2 * math.log(3 / 2), rel=1e-12)
    assert weights[0, vocab.index("cat")] == pytest.approx(math.log(3), rel=1e-12)
    smooth = text.inverse_document_frequency(counts, "smooth")
    assert smooth[vocab.index("the")] == pytest.approx(math.log(4 / 3) + 1, rel=1e-12)
    logtf = text.term_frequency(counts, "log").toarray()
    assert logtf[1, vocab.index("sat")] == pytest.approx(1 + math.log(2), rel=1e-12)
    freq = text.term_frequency(counts, "frequency").toarray()
    assert freq[1, vocab.index("sat")] == pytest.approx(0.5, rel=1e-12)


def test_tfidf_equals_gensim_tfidfmodel_on_the_lee_corpus():
    from gensim.corpora import Dictionary
    from gensim.models import TfidfModel

    docs = [text.tokenize(d) for d in data.lee_documents()]
    vocab = text.build_vocabulary(docs, unk_token=None)
    ours = text.tfidf(text.bag_of_words(docs, vocab), tf="raw", idf="standard", normalize=False, base=2)
    ours_normalised = text.tfidf(text.bag_of_words(docs, vocab))

    dictionary = Dictionary(docs)
    model_raw = TfidfModel(dictionary=dictionary, normalize=False)
    model = TfidfModel(dictionary=dictionary)
    for row, doc in enumerate(docs[:60]):
        bow = dictionary.doc2bow(doc)
        for normalised, weights in ((False, model_raw[bow]), (True, model[bow])):
            mine = ours_normalised if normalised else ours
            expected = np.zeros(len(vocab))
            for gensim_id, value in weights:
                expected[vocab.index(dictionary[gensim_id])] = value
            np.testing.assert_allclose(mine[row].toarray().ravel(), expected, rtol=1e-9, atol=1e-12)


def test_tfidf_uses_a_given_idf_and_checks_it():
    vocab = text.build_vocabulary(TINY, unk_token=None)
    counts = text.bag_of_words(TINY, vocab)
    idf = text.inverse_document_frequency(counts)
    test_counts = text.bag_of_words([["cat", "cat"]], vocab)
    weights = text.tfidf(test_counts, idf=idf, normalize=False).toarray()
    assert weights[0, vocab.index("cat")] == pytest.approx(2 * math.log(3), rel=1e-12)
    with pytest.raises(ValueError, match="idf must be a vector of length"):
        text.tfidf(test_counts, idf=idf[:2])
    with pytest.raises(ValueError, match="tf must be one of"):
        text.tfidf(counts, tf="sqrt")
    with pytest.raises(TypeError, match="counts must be a scipy sparse matrix"):
        text.tfidf([[1, 2]])


def test_cosine_similarity_matches_definition_and_handles_zero_rows():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    expected = (a @ b.T) / np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(text.cosine_similarity(a, b), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(text.cosine_similarity(sp.csr_matrix(a)), text.cosine_similarity(a), rtol=1e-12, atol=1e-12)
    with_zero = np.vstack([a, np.zeros(6)])
    assert np.all(text.cosine_similarity(with_zero)[-1] == 0)
    with pytest.raises(ValueError, match="same number of columns"):
        text.cosine_similarity(a, b[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        text.cosine_similarity(np.array([[np.nan, 1.0]]))


def test_top_terms_are_sorted_and_checked():
    vocab = text.build_vocabulary(TINY, unk_token=None)
    row = np.zeros(len(vocab))
    row[vocab.index("dog")], row[vocab.index("cat")] = 0.5, 0.9
    assert text.top_terms(row, vocab, 5) == [("cat", 0.9), ("dog", 0.5)]
    with pytest.raises(ValueError, match="one entry per vocabulary word"):
        text.top_terms(row[:-1], vocab)
    with pytest.raises(ValueError, match="k must be >= 1"):
        text.top_terms(row, vocab, 0)


def test_unit_coverage_and_character_counts():
    words, chars = text.words_and_characters([("中国", 10), ("中", 5), ("国家", 1)])
    assert chars["中"] == 15 and chars["国"] == 11 and chars["家"] == 1
    cover = text.unit_coverage(chars, [1, 3])
    assert cover.distinct == 3 and cover.total == 27
    assert cover.coverage_at == {1: pytest.approx(15 / 27), 3: pytest.approx(1.0)}
    with pytest.raises(ValueError, match="counts is empty"):
        text.unit_coverage({}, [1])
    with pytest.raises(ValueError, match="frequency must be >= 0"):
        text.words_and_characters([("a", -1)])


words = st.text(alphabet="abcdefgh", min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(words, min_size=0, max_size=12), min_size=1, max_size=8),
       st.sampled_from(text.TF_VARIANTS), st.sampled_from(text.IDF_VARIANTS))
def test_tfidf_rows_are_finite_nonnegative_and_unit_length(docs, tf, idf):
    if not any(docs):
        docs = docs + [["a"]]
    vocab = text.build_vocabulary(docs, unk_token=None)
    weights = text.tfidf(text.bag_of_words(docs, vocab), tf=tf, idf=idf).toarray()
    assert np.all(np.isfinite(weights)) and weights.min() >= 0
    norms = np.linalg.norm(weights, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-12) | (norms == 0))


def test_keyword_in_context():
    hits = text.keyword_in_context(TINY, "sat", width=1)
    assert hits == [("cat", "sat", ""), ("dog", "sat", "sat"), ("sat", "sat", "")]
    assert text.keyword_in_context(TINY, "sat", limit=1) == [("the cat", "sat", "")]
    with pytest.raises(ValueError, match="width must be >= 1"):
        text.keyword_in_context(TINY, "sat", width=0)
