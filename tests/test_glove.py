"""nlpcourse.glove: counts by hand, loss gradients against autograd, the AdaGrad kernel
against torch.optim.Adagrad, training, bad input."""

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


def test_adagrad_kernel_equals_torch_adagrad_cell_by_cell():
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    V, d = 6, 4
    dense = np.where(rng.random((V, V)) < 0.5, rng.uniform(0.5, 30, (V, V)), 0.0)
    cells = sp.coo_matrix(dense)
    params = glove.init_parameters(V, d, seed=2)
    start = [p.copy() for p in (params.W, params.W_tilde, params.b, params.b_tilde)]
    order = rng.permutation(cells.nnz)
    loss = glove.adagrad_epoch(params, cells, order, learning_rate=0.1, x_max=10.0, alpha=0.75)

    tensors = [torch.tensor(p, requires_grad=True) for p in start]
    opt = torch.optim.Adagrad(tensors, lr=0.1, initial_accumulator_value=1.0, eps=0.0)
    tW, tWt, tb, tbt = tensors
    total = 0.0
    for k in order:
        i, j, x = cells.row[k], cells.col[k], float(cells.data[k])
        opt.zero_grad()
        f = min(1.0, (x / 10.0) ** 0.75)
        diff = tW[i] @ tWt[j] + tb[i] + tbt[j] - np.log(x)
        cell_loss = 0.5 * f * diff**2
        cell_loss.backward()
        total += cell_loss.item()
        opt.step()
    assert loss == pytest.approx(total, rel=1e-5)
    for ours, t in zip((params.W, params.W_tilde, params.b, params.b_tilde), tensors):
        np.testing.assert_allclose(ours, t.detach().numpy(), **F32)
    assert np.abs(params.W - start[0]).max() > 1e-3


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
