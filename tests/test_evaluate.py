"""nlpcourse.evaluate against gensim's KeyedVectors on the same vectors."""

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec

from nlpcourse import data, evaluate, text
from nlpcourse.word2vec import split_long_sentences, word2vec_vocabulary


@pytest.fixture(scope="module")
def trained():
    """gensim vectors trained on the Lee corpus (one worker, seeded), and ours over the same rows."""
    sentences = [text.tokenize(d) for d in data.lee_documents()]
    model = Word2Vec(sentences, vector_size=32, window=5, min_count=3, workers=1, seed=1, epochs=5)
    kv = model.wv
    vocab = text.Vocabulary(tuple(kv.index_to_key), tuple(int(kv.get_vecattr(w, "count")) for w in kv.index_to_key),
                            unk_token=None)
    return kv, evaluate.WordVectors(kv.vectors.copy(), vocab)


@pytest.mark.parametrize("name", ["wordsim353", "simlex999"])
def test_word_pairs_agree_with_gensim(trained, name):
    kv, ours = trained
    path = data.gensim_file(name)
    pearson, spearman, oov = kv.evaluate_word_pairs(str(path))
    scores = evaluate.evaluate_word_pairs(ours, path)
    assert scores.spearman == pytest.approx(spearman.statistic, rel=1e-5, abs=1e-6)
    assert scores.pearson == pytest.approx(pearson.statistic, rel=1e-5, abs=1e-6)
    assert 100 * (1 - scores.coverage) == pytest.approx(oov, rel=1e-12)


def test_analogies_agree_with_gensim(trained):
    kv, ours = trained
    path = data.gensim_file("analogies")
    score, sections = kv.evaluate_word_analogies(str(path))
    result = evaluate.evaluate_analogies(ours, path)
    total = sections[-1]
    assert result.answered > 100  # enough questions in the vocabulary for the comparison to mean something
    assert result.correct == len(total["correct"])
    assert result.answered == len(total["correct"]) + len(total["incorrect"])
    assert result.accuracy == pytest.approx(score, rel=1e-12)
    for section in sections[:-1]:
        answered = len(section["correct"]) + len(section["incorrect"])
        if answered:
            assert result.sections[section["section"]] == (len(section["correct"]), answered)


def test_analogy_accuracy_on_planted_vectors():
    # vectors built so that king - man + woman = queen exactly; paris - france + italy = rome
    words = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "noise"]
    rng = np.random.default_rng(0)
    base = {w: rng.normal(size=8) for w in ["man", "woman", "france", "italy", "noise"]}
    royal, capital = rng.normal(size=8), rng.normal(size=8)
    base.update(king=base["man"] + royal, queen=base["woman"] + royal,
                paris=base["france"] + capital, rome=base["italy"] + capital)
    vocab = text.Vocabulary(tuple(words), tuple([1] * len(words)), unk_token=None)
    wv = evaluate.WordVectors(np.array([base[w] for w in words]), vocab)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    kv = KeyedVectors(8)
    kv.add_vectors(words, wv.vectors)
    assert kv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    ours = wv.most_similar(["king", "woman"], negative=["man"], topn=3)
    theirs = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


def test_most_similar_matches_gensim(trained):
    kv, ours = trained
    for word in ["government", "police", "australia"]:
        theirs = kv.most_similar(word, topn=10)
        mine = ours.most_similar(word, topn=10)
        assert [w for w, _ in mine] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in theirs], rtol=1e-5, atol=1e-6)
        assert ours.similarity(word, "the") == pytest.approx(float(kv.similarity(word, "the")), rel=1e-5, abs=1e-6)


def test_unknown_words_are_named(trained):
    _kv, ours = trained
    with pytest.raises(ValueError, match="'zzyzx' is not in the vocabulary"):
        ours.most_similar("zzyzx")
    with pytest.raises(ValueError, match="c='qwertyuiop' is not in the vocabulary"):
        ours.analogy("man", "king", "qwertyuiop")
    with pytest.raises(TypeError, match="word must be a str"):
        ours.similarity(3, "the")
    with pytest.raises(ValueError, match="topn must be >= 1"):
        ours.most_similar("police", topn=0)


def test_bad_vectors():
    vocab = word2vec_vocabulary([["a", "b"]], 1)
    with pytest.raises(ValueError, match="one row per vocabulary word"):
        evaluate.WordVectors(np.zeros((3, 2)), vocab)
    with pytest.raises(ValueError, match="vectors must not contain NaN"):
        evaluate.WordVectors(np.full((2, 2), np.nan), vocab)
    with pytest.raises(TypeError, match="wv must be"):
        evaluate.evaluate_word_pairs(np.zeros((2, 2)), data.gensim_file("wordsim353"))


def test_too_few_pairs_in_vocabulary_is_an_error():
    vocab = word2vec_vocabulary([["zzz", "yyy"]], 1)
    wv = evaluate.WordVectors(np.eye(2), vocab)
    with pytest.raises(ValueError, match="only 0 pair"):
        evaluate.evaluate_word_pairs(wv, data.gensim_file("wordsim353"))
    assert evaluate.evaluate_analogies(wv, data.gensim_file("analogies")).coverage == 0.0


def test_zero_vector_has_cosine_zero():
    vocab = word2vec_vocabulary([["a", "b"]], 1)
    wv = evaluate.WordVectors(np.array([[0.0, 0.0], [1.0, 2.0]]), vocab)
    assert wv.similarity("a", "b") == 0.0


# --------------------------------------------------------------------------- chapter 03's widgets and plots


def _planted():
    words = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy"]
    rng = np.random.default_rng(3)
    vocab = text.Vocabulary(tuple(words), tuple([1] * len(words)), unk_token=None)
    return evaluate.WordVectors(rng.normal(size=(len(words), 6)), vocab)


def test_nearest_neighbour_explorer_shows_most_similar():
    from nlpcourse import widgets

    wv = _planted()
    box = widgets.nearest_neighbour_explorer({"a": wv}, ["king", "paris"], k=3)
    assert box.result.pairs == wv.most_similar("king", topn=3)
    box.controls["word"].value = "Paris "  # typed with a capital and a space
    assert box.result.pairs == wv.most_similar("paris", topn=3)
    box.controls["k"].value = 5
    assert len(box.result.pairs) == 5 and box.view.renders == 3
    box.controls["word"].value = "zzz"
    assert box.result.pairs == []
    with pytest.raises(ValueError, match="models must name at least one"):
        widgets.nearest_neighbour_explorer({}, ["king"])


def test_analogy_explorer_follows_the_question():
    from nlpcourse import widgets

    wv = _planted()
    box = widgets.analogy_explorer(wv, [("man", "king", "woman"), ("france", "paris", "italy")], k=2)
    assert box.result.pairs == wv.analogy("man", "king", "woman", topn=2)
    box.controls["question"].value = 1
    assert box.result.pairs == wv.analogy("france", "paris", "italy", topn=2)
    box.controls["c"].value = "nowhere"
    assert box.result.pairs == []
    with pytest.raises(ValueError, match="questions must hold at least one"):
        widgets.analogy_explorer(wv, [])


def test_huffman_tree_plot_draws_every_node():
    from matplotlib.figure import Figure

    from nlpcourse import plots
    from nlpcourse.word2vec import huffman_tree

    tree = huffman_tree([5, 2, 1, 1])
    ax = Figure().add_subplot()
    plots.huffman_tree_plot(ax, tree.parent, tree.bit, tree.weight, ["a", "b", "c", "d"])
    assert len(ax.lines) == 6  # one edge per non-root node
    texts = [t.get_text() for t in ax.texts]
    assert "a\n(5)" in texts and "9" in texts  # a leaf label and the root's weight


# --------------------------------------------------------------------------- checkpoints


def test_save_and_load_word_vectors_round_trip(tmp_path, trained):
    _kv, ours = trained
    path = evaluate.save_word_vectors(ours, tmp_path / "v.npz", note="x", settings={"dim": 32})
    loaded, meta = evaluate.load_word_vectors(path)
    assert meta == {"note": "x", "settings": {"dim": 32}}
    assert loaded.vocab == ours.vocab
    np.testing.assert_array_equal(loaded.vectors, ours.vectors.astype(np.float16).astype(np.float32))
    with pytest.raises(ValueError, match="does not exist"):
        evaluate.load_word_vectors(tmp_path / "missing.npz")


#: The scores data/README.md states for chapter 03's checkpoints (scripts/make_checkpoint_03.py).
CHECKPOINT_SCORES = {
    "03_sgns.npz": dict(wordsim353=0.449424, simlex999=0.230158, analogy=0.029378),
    "03_glove.npz": dict(wordsim353=0.279169, simlex999=0.095228, analogy=0.010704),
}


@pytest.mark.parametrize("name", sorted(CHECKPOINT_SCORES))
def test_checkpoint_reproduces_its_stated_scores(name):
    wv, meta = evaluate.load_word_vectors(data.DATA_DIR / "checkpoints" / name)
    assert len(wv.vocab) == 10296 and wv.dim == 100
    # rows in the order word2vec_vocabulary gives today (gensim's order of equal counts, issue 29)
    sentences = split_long_sentences([text.tokenize(d) for d in data.english_documents()])
    assert wv.vocab.tokens == word2vec_vocabulary(sentences, meta["settings"]["min_count"]).tokens
    row = evaluate.evaluation_table({name: wv})[0]
    for key, stated in CHECKPOINT_SCORES[name].items():
        assert row[key] == pytest.approx(stated, rel=1e-4), key
        assert row[key] == pytest.approx(meta["scores"][key], rel=1e-4), key
