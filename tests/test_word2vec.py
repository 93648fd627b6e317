"""nlpcourse.word2vec: Huffman tree, sampling formulas, output layers against torch autograd,
the compiled kernel against the readable numpy epoch, training and bad input."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from nlpcourse import word2vec as w2v

F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-10, atol=1e-12)


def _brute_force_optimum(counts):
    """Minimum expected code length over all complete prefix codes (Kraft sum exactly 1)."""
    n = len(counts)
    best = np.inf
    for lengths in itertools.product(range(1, n), repeat=n):
        if abs(sum(2.0 ** -l for l in lengths) - 1.0) < 1e-12:
            best = min(best, sum(c * l for c, l in zip(counts, lengths)))
    return best


def _is_prefix_free(codes):
    strings = sorted("".join(map(str, c)) for c in codes)
    return all(not b.startswith(a) for a, b in zip(strings, strings[1:]))


# --------------------------------------------------------------------------- Huffman tree


def test_huffman_by_hand():
    # counts 5, 2, 1, 1: merge 1+1=2, then 2+2=4, then 4+5=9 -> code lengths 1, 2, 3, 3
    tree = w2v.huffman_tree([5, 2, 1, 1])
    assert tree.code_lengths().tolist() == [1, 2, 3, 3]
    assert tree.weight[-1] == 9
    assert _is_prefix_free(tree.codes)
    codes, points, lengths = tree.padded()
    assert codes.shape == (4, 3) and lengths.tolist() == [1, 2, 3, 3]
    assert all(p[0] == 2 for p in tree.points)  # every path starts at the root, inner node V-2


def test_huffman_single_word_has_empty_code():
    tree = w2v.huffman_tree([7])
    assert tree.code_lengths().tolist() == [0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=6))
def test_huffman_is_optimal_on_small_tables(counts):
    tree = w2v.huffman_tree(counts)
    cost = float(np.dot(counts, tree.code_lengths()))
    assert cost == pytest.approx(_brute_force_optimum(counts), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=300))
def test_huffman_codes_are_prefix_free_and_complete(counts):
    tree = w2v.huffman_tree(counts)
    assert _is_prefix_free(tree.codes)
    assert sum(2.0 ** -len(c) for c in tree.codes) == pytest.approx(1.0, rel=1e-12)  # Kraft equality
    # the expected length equals the sum of the inner nodes' weights (each merge adds one bit)
    assert float(np.dot(counts, tree.code_lengths())) == pytest.approx(tree.weight[len(counts):].sum(), rel=1e-12)


def test_vocabulary_and_huffman_tree_are_gensims_on_the_lee_corpus():
    # the same words in the same rows, and every word's code (branch bits) and points (inner
    # nodes) equal gensim's: equal counts are ordered as gensim orders them, and the Huffman
    # heap breaks ties between equal weights as gensim's heap does
    from gensim.models import Word2Vec
    from nlpcourse import data, text

    sentences = w2v.split_long_sentences([text.tokenize(d) for d in data.lee_documents()])
    model = Word2Vec(min_count=5, hs=1, negative=0, workers=1, seed=1)
    model.build_vocab(sentences)
    vocab = w2v.word2vec_vocabulary(sentences, 5)
    assert list(vocab.tokens) == model.wv.index_to_key
    assert list(vocab.counts) == [model.wv.get_vecattr(w, "count") for w in vocab.tokens]
    assert len(set(vocab.counts)) < len(vocab) / 10  # ties are the rule here, not the exception
    tree = w2v.huffman_tree(vocab.counts)
    for i, word in enumerate(vocab.tokens):
        np.testing.assert_array_equal(tree.codes[i], model.wv.get_vecattr(word, "code"), err_msg=word)
        np.testing.assert_array_equal(tree.points[i], model.wv.get_vecattr(word, "point"), err_msg=word)


def test_huffman_bad_counts():
    with pytest.raises(ValueError, match="counts must be >= 0"):
        w2v.huffman_tree([3, -1])
    with pytest.raises(ValueError, match="non-empty"):
        w2v.huffman_tree([])


# --------------------------------------------------------------------------- sampling


def test_keep_probability_formula_by_hand():
    counts = np.array([1000.0, 10.0, 1.0])
    t = 1e-2 * counts.sum()  # 10.11
    expected = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    np.testing.assert_allclose(w2v.keep_probability(counts, 1e-2), expected, **F64)
    assert w2v.keep_probability(counts, 1e-2)[0] == pytest.approx((np.sqrt(1000 / 10.11) + 1) * 10.11 / 1000)
    np.testing.assert_array_equal(w2v.keep_probability(counts, 0.0), 1.0)


def test_keep_probability_matches_gensim():
    from gensim.models import Word2Vec

    sentences = [["a"] * 50 + ["b"] * 10 + ["c"] * 3 + ["d"]] * 2
    model = Word2Vec(sentences, min_count=1, sample=1e-2, vector_size=4, epochs=1, workers=1, seed=1)
    vocab = w2v.word2vec_vocabulary(sentences, 1)
    ours = w2v.keep_probability(np.array(vocab.counts, float), 1e-2)
    theirs = [model.wv.get_vecattr(w, "sample_int") / 2**32 for w in vocab.tokens]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_noise_distribution_and_table():
    counts = np.array([16.0, 1.0, 0.0])
    probs = w2v.noise_distribution(counts)
    np.testing.assert_allclose(probs, [8 / 9, 1 / 9, 0.0], **F64)
    table = w2v.cumulative_table(counts)
    draws = w2v.draw_negatives(table, np.arange(0, 2**31 - 1, 2**20))
    assert set(np.unique(draws)) == {0, 1}  # a word with count 0 is never drawn
    assert np.mean(draws == 0) == pytest.approx(8 / 9, abs=0.01)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=400).filter(lambda c: sum(c) > 0),
       st.integers(min_value=0, max_value=2**32 - 1))
def test_guide_table_finds_the_searchsorted_word(counts, seed):
    table = w2v.cumulative_table(counts)
    guide, scale = w2v.guide_table(table)
    top = int(table[-1])
    rng = np.random.default_rng(seed)
    edges = np.clip(np.concatenate([table - 1, table, table + 1, [0, top - 1]]), 0, top - 1)
    for r in np.concatenate([rng.integers(0, top, 300), edges]):
        assert w2v._guided_word(table, guide, scale, int(r)) == np.searchsorted(table, r, side="right")


def test_jobs_cover_every_sentence_once_in_order():
    starts = np.cumsum([0, 4000, 7000, 12000, 1, 1, 9999, 3])
    jobs = w2v._jobs(starts, job_words=10_000)
    assert jobs == [(0, 1), (1, 2), (2, 3), (3, 5), (5, 6), (6, 7)]  # greedy: a job stops before it passes 10,000
    assert [s for a, b in jobs for s in range(a, b)] == list(range(len(starts) - 1))
    assert w2v._jobs(np.array([0, 5])) == [(0, 1)]


def test_lcg_is_word2vec_c():
    assert w2v.lcg_next(1) == 25214903917 + 11
    assert w2v.lcg_next(2**64 - 1) == (-25214903917 + 11) % 2**64



def _draws(state, n):
    out = []
    for _ in range(n):
        state = w2v.lcg_next(state)
        out.append((state >> 16) & 0xFFFFFFFF)
    return np.array(out, dtype=np.int64)


def test_job_seeds_are_fixed_48_bit_and_unrelated():
    grid = [[w2v._job_seed(3, epoch, job) for job in range(12)] for epoch in range(6)]
    flat = [s for row in grid for s in row]
    assert len(set(flat)) == len(flat) and all(0 <= s < 2**48 for s in flat)
    assert grid == [[w2v._job_seed(3, epoch, job) for job in range(12)] for epoch in range(6)]
    assert w2v._job_seed(4, 0, 0) != w2v._job_seed(3, 0, 0)
    # Not a progression along jobs or epochs: a constant step would make every pair of
    # neighbouring jobs' LCG streams differ by the same sequence (a counted seed's flaw).
    job_steps = {(b - a) % 2**64 for row in grid for a, b in zip(row, row[1:])}
    epoch_steps = {(grid[e + 1][j] - grid[e][j]) % 2**64 for e in range(5) for j in range(12)}
    assert len(job_steps) == 11 * 6 and len(epoch_steps) == 5 * 12
    diffs = [tuple((_draws(b, 8) - _draws(a, 8)) % 2**32) for a, b in zip(grid[0], grid[0][1:])]
    assert len(set(diffs)) == len(diffs)
    # and the draws of neighbouring jobs are uncorrelated
    u = np.array([_draws(s, 200) for s in grid[0]], dtype=np.float64) / 2**32
    r = [np.corrcoef(u[j], u[j + 1])[0, 1] for j in range(11)]
    assert max(abs(x) for x in r) < 0.25

# --------------------------------------------------------------------------- output layers vs autograd


def _torch(x):
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def test_full_softmax_loss_and_gradient_match_autograd():
    rng = np.random.default_rng(0)
    h, U = rng.normal(size=6), rng.normal(size=(9, 6))
    loss, grad_h, grad_U = w2v.full_softmax_loss(h, U, 4)
    th, tU = _torch(h), _torch(U)
    tl = torch.nn.functional.cross_entropy((tU @ th)[None], torch.tensor([4]))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad_h, th.grad.numpy(), **F64)
    np.testing.assert_allclose(grad_U, tU.grad.numpy(), **F64)


def test_negative_sampling_loss_and_gradient_match_autograd():
    rng = np.random.default_rng(1)
    h, U = rng.normal(size=5), rng.normal(size=(8, 5))
    negatives = [2, 7, 2]  # a repeated noise word counts twice
    loss, grad_h, grad_rows = w2v.negative_sampling_loss(h, U, 3, negatives)
    th, tU = _torch(h), _torch(U)
    logsig = torch.nn.functional.logsigmoid
    tl = -logsig(tU[3] @ th) - logsig(-(tU[negatives] @ th)).sum()
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad_h, th.grad.numpy(), **F64)
    dense = np.zeros_like(U)
    np.add.at(dense, [3] + negatives, grad_rows)
    np.testing.assert_allclose(dense, tU.grad.numpy(), **F64)


def test_hierarchical_softmax_probabilities_sum_to_one_and_gradient_matches_autograd():
    rng = np.random.default_rng(2)
    counts = rng.integers(1, 100, size=11)
    tree = w2v.huffman_tree(counts)
    h, U = rng.normal(size=4), rng.normal(size=(10, 4))
    probs = w2v.hierarchical_softmax_probabilities(h, U, tree)
    assert probs.sum() == pytest.approx(1.0, rel=1e-12)
    word = 5
    loss, grad_h, grad_rows = w2v.hierarchical_softmax_loss(h, U, tree.codes[word], tree.points[word])
    assert loss == pytest.approx(-np.log(probs[word]), rel=1e-10)
    th, tU = _torch(h), _torch(U)
    sign = torch.tensor(1.0 - 2.0 * tree.codes[word], dtype=torch.float64)
    tl = -torch.nn.functional.logsigmoid(sign * (tU[tree.points[word]] @ th)).sum()
    tl.backward()
    np.testing.assert_allclose(grad_h, th.grad.numpy(), **F64)
    np.testing.assert_allclose(grad_rows, tU.grad.numpy()[tree.points[word]], **F64)


# --------------------------------------------------------------------------- where we follow gensim


def test_init_weights_are_gensims_prep_vectors():
    from gensim.models.keyedvectors import prep_vectors

    config = w2v.Word2VecConfig(dim=50, seed=4)
    w_in, w_out = w2v.init_weights(300, config)
    np.testing.assert_array_equal(w_in, prep_vectors((300, 50), seed=4))  # the same draws, bit for bit
    assert w_in.dtype == np.float32 and w_in.min() >= -1 / 50 and w_in.max() < 1 / 50
    assert w_in.min() < -0.9 / 50 and w_in.max() > 0.9 / 50  # +-1/dim, not word2vec.c's +-0.5/dim
    assert not w_out.any()


def _saturated_rows():
    # h = (1, 2); scores 7 (label 1), 0 (label 0), 7 (label 0) and exactly -6 (label 1)
    h = np.array([1.0, 2.0], dtype=np.float32)
    U = np.array([[2.0, 2.5], [0.5, -0.25], [3.0, 2.0], [-2.0, -2.0]], dtype=np.float32)
    return h, U, np.arange(4), np.array([1.0, 0.0, 0.0, 1.0])


def test_scores_at_or_beyond_max_exp_get_no_gradient_by_hand():
    h, U, rows, labels = _saturated_rows()
    loss, grad_h, grad_rows = w2v.binary_logistic_loss(h, U, rows, labels, max_score=w2v.MAX_EXP)
    # only row 1 (score 0) is trained: dL/dscore = sigmoid(0) - 0 = 0.5; rows 0, 2, 3 have |score| >= 6
    np.testing.assert_allclose(grad_h, 0.5 * U[1], **F64)
    np.testing.assert_allclose(grad_rows, [[0, 0], [0.5, 1.0], [0, 0], [0, 0]], **F64)
    # the loss still counts every row
    assert loss == pytest.approx(np.log1p(np.exp(-7)) + np.log(2) + np.log1p(np.exp(7)) + np.log1p(np.exp(6)),
                                 rel=1e-10)
    full = w2v.binary_logistic_loss(h, U, rows, labels)  # without max_score: the plain gradient
    assert np.abs(full[2][2]).max() > 0.9  # the skipped noise row would have had a large gradient


@pytest.mark.parametrize("distinct", [False, True])  # update rows at the end / as soon as each error is known
def test_compiled_rows_skip_scores_beyond_max_exp_by_hand(distinct):
    h, U, rows, labels = _saturated_rows()
    w_out, delta, err = U.copy(), np.zeros(2, np.float32), np.zeros(4, np.float32)
    w2v._logistic_rows(h, w_out, rows.astype(np.int64), labels.astype(np.float32), 4, np.float32(0.1), delta, err,
                       False, distinct)
    np.testing.assert_allclose(delta, -0.1 * 0.5 * U[1], **F32)  # lr * -dL/dh, from row 1 alone
    expected = U.copy()
    expected[1] -= 0.1 * 0.5 * h
    np.testing.assert_allclose(w_out, expected, **F32)
    np.testing.assert_array_equal(w_out[[0, 2, 3]], U[[0, 2, 3]])  # skipped rows untouched


@pytest.mark.parametrize("train", [w2v.train_epoch_numpy, w2v.train_epoch_compiled])
def test_skipgram_context_vector_predicts_the_centre_by_hand(train):
    # sentence "a b", window 1, hierarchical softmax over two words: one inner node u (zero at the start)
    sentences = [["a", "b"]]
    config = w2v.Word2VecConfig(output="hierarchical", dim=4, window=1, min_count=1, sample=0.0, epochs=1,
                                threads=1, seed=2)
    vocab = w2v.word2vec_vocabulary(sentences, 1)
    corpus = w2v.encode_corpus(sentences, vocab)
    counts = np.array(vocab.counts, float)
    tree = w2v.huffman_tree(counts)
    w_in, w_out = w2v.init_weights(2, config)
    a, b = vocab.index("a"), vocab.index("b")
    v, u, lr = w_in.astype(np.float64), np.zeros(4), config.alpha  # the first sentence runs at alpha
    sigma = lambda x: 1 / (1 + np.exp(-x))
    for center, context in ((a, b), (b, a)):  # centre "a" (its context "b"), then centre "b"
        g = sigma(u @ v[context]) - (1 - tree.codes[center][0])  # dL/dscore, label 1 - code bit
        v[context], u = v[context] - lr * g * u, u - lr * g * v[context]
    loss, n = train(corpus, w_in, w_out, config, w2v.keep_probability(counts, 0.0), None, tree, seed=1)
    assert n == 2
    np.testing.assert_allclose(w_in, v, **F32)
    np.testing.assert_allclose(w_out[0], u, **F32)
    # u was zero when "b" predicted "a", so b's vector did not move: "b" was the input, "a" the target
    np.testing.assert_array_equal(w_in[b], w2v.init_weights(2, config)[0][b])


# --------------------------------------------------------------------------- kernel == readable epoch


def _tiny_corpus(seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(12)]
    return [[words[min(int(rng.exponential(3)), 11)] for _ in range(rng.integers(3, 15))] for _ in range(25)]


@pytest.mark.parametrize("sg", [True, False])
@pytest.mark.parametrize("output", w2v.OUTPUTS)
def test_compiled_kernel_equals_numpy_epoch(sg, output):
    sentences = _tiny_corpus()
    config = w2v.Word2VecConfig(sg=sg, output=output, dim=8, window=3, min_count=1, negative=3, sample=0.05,
                                epochs=2, threads=1, seed=3)
    vocab = w2v.word2vec_vocabulary(sentences, 1)
    corpus = w2v.encode_corpus(sentences, vocab)
    counts = np.array(vocab.counts, float)
    keep, table, tree = w2v.keep_probability(counts, config.sample), w2v.cumulative_table(counts), w2v.huffman_tree(counts)
    a_in, a_out = w2v.init_weights(len(vocab), config)
    b_in, b_out = a_in.copy(), a_out.copy()
    total = corpus.n_words * 2
    for epoch in range(2):
        ref = w2v.train_epoch_numpy(corpus, a_in, a_out, config, keep, table, tree, seed=7 + epoch,
                                    words_before=epoch * corpus.n_words, words_total=total)
        fast = w2v.train_epoch_compiled(corpus, b_in, b_out, config, keep, table, tree, seed=7 + epoch,
                                        words_before=epoch * corpus.n_words, words_total=total)
        assert fast[1] == ref[1]  # same number of predictions: same subsampling and windows
        assert fast[0] == pytest.approx(ref[0], rel=1e-5)
    assert np.abs(a_in - w2v.init_weights(len(vocab), config)[0]).max() > 1e-3  # training moved the vectors
    np.testing.assert_allclose(b_in, a_in, **F32)
    np.testing.assert_allclose(b_out, a_out, **F32)


def test_compiled_kernel_equals_numpy_epoch_with_saturated_scores():
    # large weights: many |scores| >= MAX_EXP, which both implementations must skip alike
    sentences = _tiny_corpus(1)
    for sg in (True, False):
        config = w2v.Word2VecConfig(sg=sg, dim=8, window=3, min_count=1, negative=3, sample=0.0, epochs=1,
                                    threads=1, seed=5)
        vocab = w2v.word2vec_vocabulary(sentences, 1)
        corpus = w2v.encode_corpus(sentences, vocab)
        counts = np.array(vocab.counts, float)
        keep, table = w2v.keep_probability(counts, 0.0), w2v.cumulative_table(counts)
        rng = np.random.default_rng(0)
        a_in = rng.normal(0, 1.5, (len(vocab), 8)).astype(np.float32)
        a_out = rng.normal(0, 1.5, (len(vocab), 8)).astype(np.float32)
        scores = a_in @ a_out.T
        assert np.mean(np.abs(scores) >= w2v.MAX_EXP) > 0.2  # a good share of the questions is skipped
        b_in, b_out = a_in.copy(), a_out.copy()
        ref = w2v.train_epoch_numpy(corpus, a_in, a_out, config, keep, table, seed=3)
        fast = w2v.train_epoch_compiled(corpus, b_in, b_out, config, keep, table, seed=3)
        assert fast[1] == ref[1] and fast[0] == pytest.approx(ref[0], rel=1e-5)
        np.testing.assert_allclose(b_in, a_in, **F32)
        np.testing.assert_allclose(b_out, a_out, **F32)


def _topics(n=400):
    # two topics that never share a sentence
    rng = np.random.default_rng(0)
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    return [list(rng.choice(topics[k % 2], size=12)) for k in range(n)]


def test_train_word2vec_single_thread_is_deterministic_and_loss_falls():
    sentences = _topics()
    a = w2v.train_word2vec(sentences, min_count=1, dim=10, epochs=4, threads=1, window=2)
    b = w2v.train_word2vec(sentences, min_count=1, dim=10, epochs=4, threads=1, window=2)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    assert a.epoch_losses[-1] < a.epoch_losses[0]
    assert a.wv.vectors.shape == (12, 10)


def test_train_learns_a_planted_structure():
    sentences = _topics()  # words should be nearest to their own topic
    for sg, output in [(True, "negative"), (False, "hierarchical"), (True, "softmax")]:
        model = w2v.train_word2vec(sentences, min_count=1, dim=16, epochs=5, threads=1, sg=sg, output=output,
                                   sample=0.0)
        neighbours = [w for w, _s in model.most_similar("a0", topn=5)]
        assert all(w.startswith("a") for w in neighbours), (sg, output, neighbours)


def test_two_threads_train_as_well():
    sentences = _topics()
    model = w2v.train_word2vec(sentences, min_count=1, dim=16, epochs=5, threads=2, sample=0.0)
    assert all(w.startswith("b") for w, _s in model.most_similar("b3", topn=5))


def test_split_long_sentences():
    assert w2v.split_long_sentences([["a"] * 5, [], ["b"]], max_length=2) == [["a", "a"], ["a", "a"], ["a"], ["b"]]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("overrides, message", [
    (dict(window=0), "window must be >= 1"),
    (dict(dim=0), "dim must be >= 1"),
    (dict(negative=-1), "negative must be >= 0"),
    (dict(negative=0), "negative must be >= 1 when output='negative'"),
    (dict(output="full"), "output must be one of"),
    (dict(min_count=0), "min_count must be >= 1"),
    (dict(sample=-0.1), "sample must be >= 0"),
    (dict(epochs=0), "epochs must be >= 1"),
])
def test_bad_config(overrides, message):
    with pytest.raises(ValueError, match=message):
        w2v.train_word2vec([["a", "b"]], **{"min_count": 1, **overrides})


def test_bad_config_types():
    with pytest.raises(TypeError, match="window must be an integer"):
        w2v.train_word2vec([["a", "b"]], window=2.5)
    with pytest.raises(TypeError, match="sg must be a bool"):
        w2v.train_word2vec([["a", "b"]], sg="yes")


def test_empty_and_unknown_corpora():
    with pytest.raises(ValueError, match="sentences is empty"):
        w2v.train_word2vec([])
    with pytest.raises(ValueError, match="is empty"):
        w2v.train_word2vec([[], []])
    with pytest.raises(ValueError, match="corpus is empty"):
        w2v.word2vec_vocabulary([[], []])
    with pytest.raises(ValueError, match="no word occurs at least min_count=5"):
        w2v.train_word2vec([["a", "b", "c"]])
    vocab = w2v.word2vec_vocabulary([["a", "a"]], 1)
    with pytest.raises(ValueError, match="all unknown words"):
        w2v.encode_corpus([["x", "y"]], vocab)
    with pytest.raises(TypeError, match="tokenize it first"):
        w2v.train_word2vec(["a sentence as a string"])


def test_softmax_refuses_a_large_vocabulary():
    sentences = [[f"w{i}" for i in range(30)]]
    with pytest.raises(ValueError, match="max_softmax_vocab=10"):
        w2v.train_word2vec(sentences, min_count=1, output="softmax", max_softmax_vocab=10)
