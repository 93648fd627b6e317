"""nlpcourse.nnlm against hand computations in float64 numpy and against its own claims:
training lowers the held-out loss below the unigram baseline and improves the true word's rank."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import data, nnlm, text

RTOL = 1e-10  # float64 comparisons
ATOL = 1e-12


pytestmark = pytest.mark.usefixtures("one_thread")


def small_vocab():
    docs = [["a", "b", "c", "d"], ["b", "c", "a", "d"]]
    return text.build_vocabulary(docs, specials=(nnlm.BOUNDARY,))


def numpy_forward(model: nnlm.NNLM, context: np.ndarray) -> np.ndarray:
    """y = b + W x + U tanh(d + H x), written out from the paper with the model's weights."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    x = p["embedding.weight"][context].reshape(len(context), -1)  # (B, n*m)
    y = p["output.bias"] + np.tanh(p["hidden.bias"] + x @ p["hidden.weight"].T) @ p["output.weight"].T
    if model.config.direct:
        y = y + x @ p["direct.weight"].T
    return y


@pytest.mark.parametrize("direct", [False, True])
def test_forward_matches_the_papers_formula(direct):
    config = nnlm.NNLMConfig(vocab_size=11, context=3, embedding_dim=4, hidden_dim=5, direct=direct)
    model = nnlm.NNLM(config, seed=3).double()
    context = np.array([[0, 1, 2], [10, 10, 3], [5, 0, 7]])
    got = model(torch.tensor(context)).detach().numpy()
    assert got.shape == (3, 11)
    np.testing.assert_allclose(got, numpy_forward(model, context), rtol=RTOL, atol=ATOL)


def test_direct_connections_add_parameters_and_change_the_output():
    plain = nnlm.NNLM(nnlm.NNLMConfig(7, 2, 3, 4), seed=0)
    direct = nnlm.NNLM(nnlm.NNLMConfig(7, 2, 3, 4, direct=True), seed=0)
    n_plain = sum(p.numel() for p in plain.parameters())
    n_direct = sum(p.numel() for p in direct.parameters())
    assert n_plain == 7 * 3 + (2 * 3 * 4 + 4) + (4 * 7 + 7)  # C, (H, d), (U, b)
    assert n_direct - n_plain == 2 * 3 * 7  # W
    assert direct.direct is not None and plain.direct is None


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = nnlm.NNLM(nnlm.NNLMConfig(9), seed=5)
    after = torch.rand(1)
    b = nnlm.NNLM(nnlm.NNLMConfig(9), seed=5)
    c = nnlm.NNLM(nnlm.NNLMConfig(9), seed=6)
    assert torch.equal(after, expected_next)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.embedding.weight, c.embedding.weight)
    assert abs(float(a.embedding.weight.detach().std()) - 0.1) < 0.03  # the small starting spread


def test_ngram_examples_by_hand():
    contexts, targets = nnlm.ngram_examples([[5, 6, 7], [8]], context=2, boundary_id=0)
    assert contexts.tolist() == [[0, 0], [0, 5], [5, 6], [0, 0]]
    assert targets.tolist() == [5, 6, 7, 8]
    assert contexts.dtype == targets.dtype == torch.int64


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(1, 20), max_size=8), min_size=1, max_size=5).filter(lambda d: any(d)),
       st.integers(1, 4))
def test_ngram_examples_property(documents, context):
    contexts, targets = nnlm.ngram_examples(documents, context, boundary_id=0)
    assert len(targets) == sum(map(len, documents))
    row = 0
    for doc in documents:
        padded = [0] * context + doc
        for t, word in enumerate(doc):
            assert contexts[row].tolist() == padded[t : t + context]
            assert targets[row] == word
            row += 1


def test_cross_entropy_and_perplexity_by_hand():
    model = nnlm.NNLM(nnlm.NNLMConfig(6, context=2, embedding_dim=3, hidden_dim=4), seed=1)
    contexts = torch.tensor([[0, 1], [2, 3], [4, 5], [1, 1], [0, 0]])
    targets = torch.tensor([2, 0, 5, 1, 3])
    logits = numpy_forward(model, contexts.numpy())
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -log_probs[np.arange(5), targets.numpy()].mean()
    for batch_size in (1, 2, 4096):  # batching must not change the mean
        got = nnlm.cross_entropy(model, (contexts, targets), batch_size=batch_size)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)  # the model computes in float32
    assert nnlm.perplexity(math.log(50.0)) == pytest.approx(50.0, rel=1e-12)


def test_untrained_model_is_close_to_uniform():
    v = 40
    model = nnlm.NNLM(nnlm.NNLMConfig(v), seed=0)
    contexts, targets = nnlm.ngram_examples([list(range(1, v))], 3, 0)
    loss = nnlm.cross_entropy(model, (contexts, targets))
    assert abs(loss - math.log(v)) < 0.2


def test_unigram_cross_entropy_by_hand():
    got = nnlm.unigram_cross_entropy([0, 0, 1], [0, 2], vocab_size=3, smoothing=1.0)
    probs = np.array([3, 2, 1]) / 6
    assert got == pytest.approx(-(np.log(probs[0]) + np.log(probs[2])) / 2, rel=1e-12)
    unsmoothed = nnlm.unigram_cross_entropy(torch.tensor([0, 0, 1, 1]), torch.tensor([1]), 3, smoothing=0.0)
    assert unsmoothed == pytest.approx(math.log(2), rel=1e-12)
    with pytest.raises(ValueError, match="never seen in train_targets"):
        nnlm.unigram_cross_entropy([0, 0, 1], [2], vocab_size=3, smoothing=0.0)
    with pytest.raises(ValueError, match=r"eval_targets ids must lie in \[0, 2\]"):
        nnlm.unigram_cross_entropy([0], [3], vocab_size=3)
    with pytest.raises(ValueError, match="train_targets must be a non-empty 1-D"):
        nnlm.unigram_cross_entropy([], [0], vocab_size=3)


def test_true_word_ranks_against_numpy_with_ties():
    model = nnlm.NNLM(nnlm.NNLMConfig(8, context=1, embedding_dim=2, hidden_dim=3), seed=2)
    contexts = torch.arange(8)[:, None]
    targets = torch.tensor([7, 6, 5, 4, 3, 2, 1, 0])
    logits = model(contexts).detach().numpy()
    expected = [1 + int((row > row[t]).sum()) for row, t in zip(logits, targets.numpy())]
    assert nnlm.true_word_ranks(model, (contexts, targets), batch_size=3).tolist() == expected
    with torch.no_grad():  # all scores equal: every word ties for first place
        model.output.weight.zero_()
        model.output.bias.zero_()
    assert nnlm.true_word_ranks(model, (contexts, targets)).tolist() == [1] * 8


def test_prompt_encoding_and_next_word_probabilities():
    vocab = small_vocab()
    s = vocab.index(nnlm.BOUNDARY)
    assert nnlm.encode_prompt(["a"], vocab, 3).tolist() == [[s, s, vocab.index("a")]]
    assert nnlm.encode_prompt(["a", "b", "c", "d"], vocab, 2).tolist() == [[vocab.index("c"), vocab.index("d")]]
    assert nnlm.encode_prompt(["zzz"], vocab, 1).tolist() == [[vocab.index("<unk>")]]
    model = nnlm.NNLM(nnlm.NNLMConfig(len(vocab), context=2), seed=0)
    probs = nnlm.next_word_probabilities(model, vocab, ["b", "c"])
    logits = numpy_forward(model, nnlm.encode_prompt(["b", "c"], vocab, 2).numpy())[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    top = nnlm.top_next_words(model, vocab, ["b", "c"], k=3, exclude=("<unk>", nnlm.BOUNDARY))
    order = [vocab.tokens[i] for i in np.argsort(-probs, kind="stable") if vocab.tokens[i] not in ("<unk>", "<s>")]
    assert [w for w, _p in top] == order[:3]
    assert [p for _w, p in top] == pytest.approx([probs[vocab.index(w)] for w, _p in top], rel=1e-12)


def cyclic_corpus(n_docs=6, length=40):
    """Every word is fixed by the two before it: a task an NNLM with context 2 can learn exactly."""
    words = "the cat sat on a mat and then".split()
    return [[words[(i + d) % len(words)] for i in range(length)] for d in range(n_docs)]


def train_small(seed=0, epochs=15):
    docs = cyclic_corpus()
    vocab = text.build_vocabulary(docs, specials=(nnlm.BOUNDARY,))
    ids = [vocab.encode(d) for d in docs]
    train = nnlm.ngram_examples(ids[:5], 2, vocab.index(nnlm.BOUNDARY))
    valid = nnlm.ngram_examples(ids[5:], 2, vocab.index(nnlm.BOUNDARY))
    model = nnlm.NNLM(nnlm.NNLMConfig(len(vocab), context=2, embedding_dim=8, hidden_dim=16), seed=seed)
    history = nnlm.train_nnlm(model, train, valid, epochs=epochs, batch_size=16, lr=1e-2, seed=seed)
    return model, history, vocab, train, valid


def test_training_learns_a_deterministic_sequence():
    model, history, vocab, train, valid = train_small()
    assert len(history.train_loss) == len(history.valid_loss) == len(history.states) == 16
    assert history.epochs == 15
    assert history.valid_loss[0] > 2.0  # about log(10) before training
    assert history.valid_loss[-1] < 0.5
    determined = (valid[0][2:], valid[1][2:])  # the first two words of a document are a guess
    assert nnlm.cross_entropy(model, determined) < 0.05
    assert history.valid_loss[-1] < history.valid_loss[0]
    ranks_before = nnlm.true_word_ranks(history.model_at(0), valid)
    ranks_after = nnlm.true_word_ranks(model, valid)
    assert np.mean(ranks_before) > 2.0
    assert np.all(ranks_after[2:] == 1)  # every word after the first two is fully determined
    assert nnlm.top_next_words(model, vocab, ["the", "cat"], k=1)[0][0] == "sat"
    # the checkpoints are the weights after each epoch
    assert nnlm.cross_entropy(history.model_at(15), valid) == pytest.approx(history.valid_loss[-1], rel=1e-12)
    assert nnlm.cross_entropy(history.model_at(3), valid) == pytest.approx(history.valid_loss[3], rel=1e-12)


def test_training_is_reproducible():
    _m1, h1, *_ = train_small(seed=0, epochs=3)
    _m2, h2, *_ = train_small(seed=0, epochs=3)
    _m3, h3, *_ = train_small(seed=1, epochs=3)
    assert h1.train_loss == h2.train_loss and h1.valid_loss == h2.valid_loss
    assert h1.valid_loss != h3.valid_loss


def test_zero_epochs_and_keep_states_false():
    docs = cyclic_corpus(2, 10)
    vocab = text.build_vocabulary(docs, specials=(nnlm.BOUNDARY,))
    ex = nnlm.ngram_examples([vocab.encode(d) for d in docs], 2, 0)
    model = nnlm.NNLM(nnlm.NNLMConfig(len(vocab), context=2))
    history = nnlm.train_nnlm(model, ex, ex, epochs=0)
    assert history.epochs == 0 and len(history.states) == 1
    history = nnlm.train_nnlm(model, ex, ex, epochs=1, keep_states=False)
    assert history.states == []
    with pytest.raises(ValueError, match="kept no weights"):
        history.model_at(0)


@pytest.mark.slow
def test_lee_corpus_beats_the_unigram_baseline_and_ranks_improve():
    """The chapter's claim on its real data, with a smaller model: held-out loss falls below
    the unigram baseline and the true next word moves up the ranking."""
    docs = [text.tokenize(d) for d in data.lee_documents()]
    train_docs, valid_docs = docs[:270], docs[270:]
    vocab = text.build_vocabulary(train_docs, min_count=5, specials=(nnlm.BOUNDARY,))
    boundary = vocab.index(nnlm.BOUNDARY)
    train = nnlm.ngram_examples([vocab.encode(d) for d in train_docs], 3, boundary)
    valid = nnlm.ngram_examples([vocab.encode(d) for d in valid_docs], 3, boundary)
    model = nnlm.NNLM(nnlm.NNLMConfig(len(vocab), context=3, embedding_dim=16, hidden_dim=32))
    history = nnlm.train_nnlm(model, train, valid, epochs=2, batch_size=512, lr=5e-3)
    baseline = nnlm.unigram_cross_entropy(train[1], valid[1], len(vocab))
    assert history.valid_loss[1] < history.valid_loss[0]
    assert history.valid_loss[2] < history.valid_loss[1]
    assert history.valid_loss[2] < baseline - 0.3
    before = np.median(nnlm.true_word_ranks(history.model_at(0), valid))
    after = np.median(nnlm.true_word_ranks(model, valid))
    assert after < before / 10


def test_nearest_words_by_hand_and_one_hot_has_no_neighbours():
    vocab = text.build_vocabulary([["a", "b", "c", "d"]], unk_token=None)
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    got = nnlm.nearest_words(vectors, vocab, "a", k=3)
    assert [w for w, _s in got] == ["b", "c", "d"]
    expected_b = 0.9 / np.hypot(0.9, 0.1)
    assert got[0][1] == pytest.approx(expected_b, rel=1e-12)
    assert got[1][1] == pytest.approx(0.0, abs=1e-12) and got[2][1] == pytest.approx(-1.0, rel=1e-12)
    one_hot = text.one_hot(list(vocab.tokens), vocab)
    assert all(s == 0.0 for _w, s in nnlm.nearest_words(one_hot, vocab, "c", k=3))
    frequent = text.build_vocabulary([["a", "b", "c", "d", "c", "d"]], unk_token=None)  # c, d counted twice
    assert [w for w, _s in nnlm.nearest_words(vectors, frequent, "c", k=3, min_count=2)] == ["d"]
    torch_vectors = torch.tensor(vectors, requires_grad=True)
    assert nnlm.nearest_words(torch_vectors, vocab, "a", k=1)[0][0] == "b"


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(vocab_size=1), ValueError, "vocab_size must be >= 2"),
        (dict(vocab_size=5.0), TypeError, "vocab_size must be an integer"),
        (dict(vocab_size=5, context=0), ValueError, "context must be >= 1"),
        (dict(vocab_size=5, embedding_dim=0), ValueError, "embedding_dim must be >= 1"),
        (dict(vocab_size=5, hidden_dim=-1), ValueError, "hidden_dim must be >= 1"),
        (dict(vocab_size=5, direct="yes"), TypeError, "direct must be a bool"),
        (dict(vocab_size=5, embedding_init_std=0.0), ValueError, "embedding_init_std must be > 0"),
    ],
)
def test_bad_config(kwargs, error, match):
    with pytest.raises(error, match=match):
        nnlm.NNLMConfig(**kwargs)


def test_bad_model_input():
    model = nnlm.NNLM(nnlm.NNLMConfig(5, context=2))
    with pytest.raises(TypeError, match="config must be an NNLMConfig"):
        nnlm.NNLM({"vocab_size": 5})
    with pytest.raises(TypeError, match="context must be a torch tensor"):
        model([[0, 1]])
    with pytest.raises(TypeError, match="integer word ids"):
        model(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"shape \(batch, 2\), got \(1, 3\)"):
        model(torch.zeros(1, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 4\], got range \[0, 5\]"):
        model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match=r"got range \[-1, 0\]"):
        model(torch.tensor([[-1, 0]]))


def test_bad_ngram_input():
    with pytest.raises(TypeError, match=r"documents\[0\] must be a list of word ids, got a str"):
        nnlm.ngram_examples(["abc"], 2, 0)
    with pytest.raises(TypeError, match="documents must be a sequence"):
        nnlm.ngram_examples("abc", 2, 0)
    with pytest.raises(ValueError, match="documents hold no words"):
        nnlm.ngram_examples([[], []], 2, 0)
    with pytest.raises(ValueError, match="context must be >= 1"):
        nnlm.ngram_examples([[1]], 0, 0)
    with pytest.raises(ValueError, match=r"documents\[0\]\[...\] must be >= 0"):
        nnlm.ngram_examples([[1, -2]], 1, 0)


def test_bad_training_and_query_input():
    model, history, vocab, train, valid = train_small(epochs=1)
    with pytest.raises(TypeError, match="model must be an NNLM"):
        nnlm.train_nnlm(torch.nn.Linear(2, 2), train, valid)
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        nnlm.train_nnlm(model, train, valid, epochs=-1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        nnlm.train_nnlm(model, train, valid, lr=0.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        nnlm.train_nnlm(model, train, valid, batch_size=0)
    with pytest.raises(ValueError, match="valid contexts and targets must have the same length"):
        nnlm.train_nnlm(model, train, (valid[0], valid[1][:-1]))
    with pytest.raises(TypeError, match="train must be a \\(contexts, targets\\) pair"):
        nnlm.train_nnlm(model, train[0], valid)
    with pytest.raises(ValueError, match="examples targets must lie in"):
        nnlm.cross_entropy(model, (train[0][:1], torch.tensor([len(vocab)])))
    with pytest.raises(ValueError, match="epoch must be <= 1"):
        history.model_at(2)
    with pytest.raises(TypeError, match="prompt must be a list of tokens, got a str"):
        nnlm.top_next_words(model, vocab, "the cat")
    no_boundary = text.build_vocabulary([["the", "cat"]])
    with pytest.raises(ValueError, match="boundary token '<s>' is not in the vocabulary"):
        nnlm.encode_prompt(["the"], no_boundary, 2)
    with pytest.raises(ValueError, match="vocab has 3 words but the model was built for"):
        nnlm.next_word_probabilities(model, no_boundary, ["the"])
    with pytest.raises(ValueError, match="k must be >= 1"):
        nnlm.top_next_words(model, vocab, ["the"], k=0)
    with pytest.raises(ValueError, match="loss must be >= 0"):
        nnlm.perplexity(-1.0)
    with pytest.raises(ValueError, match="word 'dog' is not in the vocabulary"):
        nnlm.nearest_words(model.embedding.weight, vocab, "dog")
    with pytest.raises(ValueError, match="vectors must have one row per vocabulary word"):
        nnlm.nearest_words(np.zeros((2, 3)), vocab, "cat")


def test_next_word_explorer_shows_the_chosen_checkpoint():
    from nlpcourse import widgets

    model, history, vocab, train, valid = train_small(epochs=3)
    box = widgets.next_word_explorer(history, vocab, ["the cat", "on a"], k=3, exclude=("<unk>", nnlm.BOUNDARY))
    assert box.controls["epoch"].value == 3
    assert box.result.predictions == nnlm.top_next_words(model, vocab, ["the", "cat"], k=3, exclude=("<unk>", "<s>"))
    renders = box.view.renders
    box.controls["epoch"].value = 0
    box.controls["prompt"].value = "on a"
    assert box.view.renders == renders + 2
    expected = nnlm.top_next_words(history.model_at(0), vocab, ["on", "a"], k=3, exclude=("<unk>", "<s>"))
    assert box.result.predictions == expected
    bars_ax, loss_ax = box.view.figure.axes
    assert [t.get_text() for t in bars_ax.get_yticklabels()] == [w for w, _p in expected]
    assert [bar.get_width() for bar in box.view.artists["bars"]] == pytest.approx([p for _w, p in expected], rel=1e-12)
    assert tuple(box.view.artists["marker"].get_data()[1]) == (history.valid_loss[0],)
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        widgets.next_word_explorer(history, vocab, [])
    history.states.clear()
    with pytest.raises(ValueError, match="history kept no checkpoints"):
        widgets.next_word_explorer(history, vocab, ["the"])
