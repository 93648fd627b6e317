"""nlpcourse.glove: counts by hand, loss gradients against autograd, the AdaGrad kernel
against a float64 loop of the reference glove.c's update rule, training, bad input."""

import numpy as np
import pytest
import torch

from nlpcourse import glove
from nlpcourse.word2vec import encode_corpus, word2vec_vocabulary

F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-10, atol=1e-12)


def test_cooccurrence_by_hand():
    sentences = [["a", "b", "c"], ["c", "a"]]
    vocab = word2vec_vocabulary(sentences, 1)  # a, c, b (counts 2, 2, 1; ties alphabetical)
    corpus = encode_corpus(sentences, vocab)
    X = glove.cooccurrence_matrix(corpus, len(vocab), window=2).toarray()
    a, c, b = vocab.index("a"), vocab.index("c"), vocab.index("b")
    # a-b at distance 1, b-c at 1, a-c at 2 in the first sentence; c-a at 1 in the second
    assert X[a, b] == X[b, a] == 1.0
    assert X[b, c] == X[c, b] == 1.0
    assert X[a, c] == X[c, a] == 0.5 + 1.0
    assert np.trace(X) == 0.0
    X1 = glove.cooccurrence_matrix(corpus, len(vocab), window=1).toarray()
    assert X1[a, c] == 1.0  # only the second sentence's neighbours


def test_weighting_function():
    np.testing.assert_allclose(glove.weighting([1.0, 50.0, 100.0, 500.0], 100.0, 0.75),
                               [0.01**0.75, 0.5**0.75, 1.0, 1.0], **F64)


def test_loss_and_gradients_match_autograd():
    rng = np.random.default_rng(0)
    V, d = 5, 3
    W, Wt, b, bt = rng.normal(size=(V, d)), rng.normal(size=(V, d)), rng.normal(size=V), rng.normal(size=V)
    rows, cols = np.array([0, 1, 2, 4, 4]), np.array([1, 0, 2, 3, 0])
    values = np.array([3.0, 3.0, 150.0, 0.5, 7.0])
    loss, dW, dWt, db, dbt = glove.glove_loss(W, Wt, b, bt, rows, cols, values, x_max=10.0, alpha=0.75)
    tensors = [torch.tensor(a, requires_grad=True) for a in (W, Wt, b, bt)]
    tW, tWt, tb, tbt = tensors
    f = torch.clamp(torch.tensor(values) / 10.0, max=1.0) ** 0.75
    diff = (tW[rows] * tWt[cols]).sum(1) + tb[rows] + tbt[cols] - torch.log(torch.tensor(values))
    tl = 0.5 * (f * diff**2).sum()
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-10, abs=1e-12)
    for ours, t in zip((dW, dWt, db, dbt), tensors):
        np.testing.assert_allclose(ours, t.grad.numpy(), **F64)


def test_adagrad_kernel_equals_glove_c_rule_cell_by_cell():
    """The kernel against a float64 loop of glove.c's update, with gradients from glove_loss
    (itself checked against autograd): step = lr * g; theta -= step / sqrt(G); G += step**2."""
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    V, d, lr = 6, 4, 0.1
    dense = np.where(rng.random((V, V)) < 0.5, rng.uniform(0.5, 30, (V, V)), 0.0)
    cells = sp.coo_matrix(dense)
    params = glove.init_parameters(V, d, seed=2)
    ref = [p.astype(np.float64) for p in (params.W, params.W_tilde, params.b, params.b_tilde)]
    sums = [np.ones_like(p) for p in ref]
    order = rng.permutation(cells.nnz)
    loss = glove.adagrad_epoch(params, cells, order, learning_rate=lr, x_max=10.0, alpha=0.75)

    total = 0.0
    for k in order:
        i, j, x = cells.row[k:k + 1], cells.col[k:k + 1], cells.data[k:k + 1]
        cell_loss, *grads = glove.glove_loss(*ref, i, j, x, x_max=10.0, alpha=0.75)
        total += cell_loss
        for theta, G, g in zip(ref, sums, grads):
            step = lr * g
            theta -= step / np.sqrt(G)
            G += step**2
    assert loss == pytest.approx(total, rel=1e-5)
    for ours, theirs in zip((params.W, params.W_tilde, params.b, params.b_tilde), ref):
        np.testing.assert_allclose(ours, theirs, **F32)
    for ours, theirs in zip((params.GW, params.GW_tilde, params.Gb, params.Gb_tilde), sums):
        np.testing.assert_allclose(ours, theirs, **F32)
    assert np.abs(params.W - glove.init_parameters(V, d, seed=2).W).max() > 1e-3


def test_glove_c_rule_is_adagrad_with_lr_1_and_a_start_sum_of_1_over_lr_squared():
    """One parameter, gradients g_t: glove.c's step lr*g_t / sqrt(1 + sum_{s<t} (lr g_s)^2)
    equals g_t / sqrt(1/lr^2 + sum_{s<t} g_s^2), a torch Adagrad step with lr 1 taken before
    the current gradient joins the sum (torch adds it first)."""
    import scipy.sparse as sp

    lr = 0.05
    cells = sp.coo_matrix(([4.0], ([0], [1])), shape=(2, 2))
    params = glove.init_parameters(2, 3, seed=0)
    history = []
    for _ in range(5):
        before = params.b.copy()
        g = glove.glove_loss(params.W, params.W_tilde, params.b, params.b_tilde, np.array([0]), np.array([1]),
                             np.array([4.0]), x_max=100.0)[3][0]
        glove.adagrad_epoch(params, cells, [0], learning_rate=lr)
        expected = g / np.sqrt(1 / lr**2 + sum(h**2 for h in history))
        assert before[0] - params.b[0] == pytest.approx(expected, rel=1e-4)
        history.append(g)


def test_training_separates_two_topics_and_loss_falls():
    rng = np.random.default_rng(0)
    topics = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    sentences = [list(rng.choice(topics[k % 2], size=12)) for k in range(300)]
    model = glove.train_glove(sentences, min_count=1, dim=8, epochs=30, window=3, x_max=10.0)
    assert model.epoch_losses[-1] < 0.5 * model.epoch_losses[0]
    assert all(w.startswith("a") for w, _ in model.wv.most_similar("a1", topn=5))
    np.testing.assert_allclose(model.wv.vectors, model.params.W + model.params.W_tilde, **F32)


@pytest.mark.parametrize("overrides, error, message", [
    (dict(window=0), ValueError, "window must be >= 1"),
    (dict(dim=0), ValueError, "dim must be >= 1"),
    (dict(x_max=0.0), ValueError, "x_max must be > 0"),
    (dict(epochs=1.5), TypeError, "epochs must be an integer"),
])
def test_bad_config(overrides, error, message):
    with pytest.raises(error, match=message):
        glove.train_glove([["a", "b", "a"]], min_count=1, **overrides)


def test_empty_and_degenerate_corpora():
    with pytest.raises(ValueError, match="is empty"):
        glove.train_glove([])
    with pytest.raises(ValueError, match="no two vocabulary words occur within a window"):
        glove.train_glove([["a"], ["b"]], min_count=1)
    with pytest.raises(ValueError, match="positive counts only"):
        import scipy.sparse as sp

        glove.adagrad_epoch(glove.init_parameters(2, 2), sp.coo_matrix(([-1.0], ([0], [1])), shape=(2, 2)), [0])
