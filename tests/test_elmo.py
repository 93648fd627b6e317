"""nlpcourse.elmo: context diversity, the biLM, ScalarMix, perplexities and the checkpoint."""

import json
import math

import numpy as np
import pytest
import torch

from nlpcourse import data, elmo, text

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


# --------------------------------------------------------------------------- the biLM and its layers


def _tiny_model(vocab_size=11, dim=6, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return elmo.BiLM(elmo.BiLMConfig(vocab_size, dim=dim, dropout=0.0)).to(dtype).eval()


def test_shapes_of_logits_and_layers():
    model = _tiny_model()
    ids = torch.randint(0, 11, (3, 7), generator=torch.Generator().manual_seed(1))
    logits, (h, c) = model(ids, "forward")
    assert logits.shape == (3, 7, 11) and h.shape == (2, 3, 6) and c.shape == (2, 3, 6)
    layers = elmo.elmo_layers(model, ids)
    assert layers.shape == (3, 3, 7, 12)
    x = model.embedding(ids)
    torch.testing.assert_close(layers[0], torch.cat([x, x], dim=2), **F32)  # token layer duplicated


def test_chapter07_cells_give_torch_lstm_outputs():
    model = _tiny_model(dtype=torch.float64)
    ids = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(2))
    layers = elmo.elmo_layers(model, ids)
    x = model.embedding(ids)
    forward_top, _ = model.forward_lm(x)
    backward_top, _ = model.backward_lm(x.flip(1))
    torch.testing.assert_close(layers[2, ..., :6], forward_top, **F64)
    torch.testing.assert_close(layers[2, ..., 6:], backward_top.flip(1), **F64)
    one_layer = torch.nn.LSTM(6, 6, batch_first=True).double()
    one_layer.load_state_dict({k: v for k, v in model.forward_lm.state_dict().items() if k.endswith("_l0")})
    torch.testing.assert_close(layers[1, ..., :6], one_layer(x)[0], **F64)


def test_chapter07_cells_match_in_float32_within_1e_5():
    model = _tiny_model(dim=16, vocab_size=30, seed=3)
    ids = torch.randint(0, 30, (4, 25), generator=torch.Generator().manual_seed(4))
    layers = elmo.elmo_layers(model, ids)
    x = model.embedding(ids)
    torch.testing.assert_close(layers[2, ..., :16], model.forward_lm(x)[0], **F32)
    torch.testing.assert_close(layers[2, ..., 16:], model.backward_lm(x.flip(1))[0].flip(1), **F32)


def test_backward_lm_reads_right_to_left():
    model = _tiny_model()
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    changed = ids.clone()
    changed[0, 4] = 9  # a later token
    a, b = elmo.elmo_layers(model, ids), elmo.elmo_layers(model, changed)
    for layer in (1, 2):
        # before position 4: the forward half cannot see the change, the backward half must
        torch.testing.assert_close(a[layer, 0, :4, :6], b[layer, 0, :4, :6], rtol=0, atol=0)
        assert (a[layer, 0, :4, 6:] - b[layer, 0, :4, 6:]).abs().max() > 1e-4
        # after position 4: the other way round
        torch.testing.assert_close(a[layer, 0, 5:, 6:], b[layer, 0, 5:, 6:], rtol=0, atol=0)
        assert (a[layer, 0, 5:, :6] - b[layer, 0, 5:, :6]).abs().max() > 1e-4


def test_padding_does_not_change_a_sentence():
    vocab = text.build_vocabulary([["a", "b", "c", "d"]], specials=(elmo.SENTENCE_END,))
    model = _tiny_model(vocab_size=len(vocab))
    ids, mask = elmo.encode_sentences([["a", "b"], ["c", "d", "a", "zzz"]], vocab)
    assert ids.shape == (2, 6) and mask.sum(1).tolist() == [4, 6]
    assert ids[1].tolist() == [0, 4, 5, 2, 1, 0]  # </s> c d a <unk> </s>
    both = elmo.elmo_layers(model, ids, mask)
    alone = elmo.elmo_layers(model, ids[:1, :4])
    torch.testing.assert_close(both[:, :1, :4], alone, **F32)
    assert not both[1:, 0, 4:].any()  # padded positions are zero in the LSTM layers


def test_scalar_mix_equals_the_formula():
    mix = elmo.ScalarMix(3).double()
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.5, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    layers = torch.randn(3, 4, 5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    s = np.array([0.5, -1.0, 2.0])
    w = np.exp(s) / np.exp(s).sum()
    expected = 1.7 * np.tensordot(w, layers.numpy(), axes=1)
    np.testing.assert_allclose(mix(layers).detach().numpy(), expected, **F64)
    np.testing.assert_allclose(mix.weights().detach().numpy(), w, **F64)
    assert mix.weights().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_scalar_mix_learns_the_useful_layer():
    torch.manual_seed(0)
    layers = torch.randn(3, 400, 4)
    target = layers[2, :, 0]  # only layer 2 carries the signal
    mix, head = elmo.ScalarMix(3), torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(list(mix.parameters()) + list(head.parameters()), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = ((head(mix(layers)).squeeze(1) - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert mix.weights()[2].item() > 0.9


# --------------------------------------------------------------------------- perplexities


def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size():
    model = _tiny_model(vocab_size=13)
    with torch.no_grad():
        model.embedding.weight.zero_()  # every logit is 0: the softmax is uniform
    stream = torch.randint(0, 13, (50,), generator=torch.Generator().manual_seed(6))
    for direction in elmo.DIRECTIONS:
        assert elmo.perplexity(elmo.lm_cross_entropy(model, stream, direction)) == pytest.approx(13, rel=1e-6)


def test_cross_entropy_does_not_depend_on_the_chunk_length():
    model = _tiny_model()
    stream = torch.randint(0, 11, (40,), generator=torch.Generator().manual_seed(7))
    for direction in elmo.DIRECTIONS:
        whole = elmo.lm_cross_entropy(model, stream, direction, chunk=1000)
        assert elmo.lm_cross_entropy(model, stream, direction, chunk=3) == pytest.approx(whole, rel=1e-5)
        # by hand: one sequence, cross-entropy of the next token (of the previous one going backward)
        ids = stream if direction == "forward" else stream.flip(0)
        logits, _ = model(ids[None, :-1], direction)
        hand = torch.nn.functional.cross_entropy(logits[0], ids[1:]).item()
        assert whole == pytest.approx(hand, rel=1e-5)


def test_add_one_bigram_by_hand():
    # V = 3; train 0 1 0 2 0 1: pairs (0,1) x2, (1,0), (0,2), (2,0); context counts c(0)=3, c(1)=1, c(2)=1
    train, held = [0, 1, 0, 2, 0, 1], [1, 0, 0, 2]
    # forward targets: P(0|1) = (1+1)/(1+3), P(0|0) = (0+1)/(3+3), P(2|0) = (1+1)/(3+3)
    hand = -np.mean(np.log([2 / 4, 1 / 6, 2 / 6]))
    assert elmo.bigram_cross_entropy(train, held, 3) == pytest.approx(hand, rel=1e-12)
    # backward: reversed train 1 0 2 0 1 0: pairs (1,0) x2, (0,2), (2,0), (0,1); c(1)=2, c(0)=2, c(2)=1
    # reversed held 2 0 0 1: P(0|2) = (1+1)/(1+3), P(0|0) = (0+1)/(2+3), P(1|0) = (1+1)/(2+3)
    hand_back = -np.mean(np.log([2 / 4, 1 / 5, 2 / 5]))
    assert elmo.bigram_cross_entropy(train, held, 3, "backward") == pytest.approx(hand_back, rel=1e-12)



def test_add_k_bigram_by_hand():
    # the notebook shrinks the added count: same data as above with k = 0.1 (forward)
    train, held = [0, 1, 0, 2, 0, 1], [1, 0, 0, 2]
    k = 0.1
    hand = -np.mean(np.log([(1 + k) / (1 + 3 * k), (0 + k) / (3 + 3 * k), (1 + k) / (3 + 3 * k)]))
    assert elmo.bigram_cross_entropy(train, held, 3, smoothing=k) == pytest.approx(hand, rel=1e-12)
    with pytest.raises(ValueError, match="smoothing must be > 0"):
        elmo.bigram_cross_entropy(train, held, 3, smoothing=0.0)

def test_add_one_unigram_by_hand():
    train, held = [0, 1, 0, 2, 0, 1], [1, 0, 0, 2]
    p = np.array([4, 3, 2]) / 9  # counts 3, 2, 1 plus one each
    assert elmo.unigram_cross_entropy(train, held, 3) == pytest.approx(-np.mean(np.log(p[[0, 0, 2]])), rel=1e-12)
    assert elmo.unigram_cross_entropy(train, held, 3, "backward") == pytest.approx(
        -np.mean(np.log(p[[1, 0, 0]])), rel=1e-12)


def test_training_lowers_the_loss_of_both_directions():
    torch.manual_seed(0)
    stream = torch.tensor([1, 2, 3, 4, 5] * 60)  # a repeating pattern both directions can learn
    model = elmo.BiLM(elmo.BiLMConfig(7, dim=16, dropout=0.0))
    before = [elmo.lm_cross_entropy(model, stream, d) for d in elmo.DIRECTIONS]
    history = elmo.train_bilm(model, stream, epochs=10, batch_size=2, bptt=10, lr=0.05)
    after = [elmo.lm_cross_entropy(model, stream, d) for d in elmo.DIRECTIONS]
    assert history.forward[-1] < history.forward[0] and history.backward[-1] < history.backward[0]
    assert all(b > 1.5 and a < 0.05 for a, b in zip(after, before))  # from about ln 7 to near 0


def test_save_and_load_round_trip(tmp_path):
    vocab = text.build_vocabulary([["a", "b", "c"]], specials=(elmo.SENTENCE_END,))
    model = _tiny_model(vocab_size=len(vocab))
    elmo.save_bilm(model, vocab, tmp_path / "m.pt", half=False, note="x")
    loaded, loaded_vocab, info = elmo.load_bilm(tmp_path / "m.pt")
    assert loaded_vocab == vocab and info == {"note": "x"}
    ids = torch.tensor([[0, 2, 3, 0]])
    torch.testing.assert_close(elmo.elmo_layers(loaded, ids), elmo.elmo_layers(model, ids), rtol=0, atol=0)


# --------------------------------------------------------------------------- bad input


def test_bad_model_inputs():
    model = _tiny_model()
    with pytest.raises(ValueError, match="direction must be 'forward' or 'backward'"):
        model(torch.tensor([[1, 2]]), "sideways")
    with pytest.raises(ValueError, match=r"ids must hold token ids in \[0, 11\), got values in \[1, 11\]"):
        model(torch.tensor([[1, 11]]))
    with pytest.raises(ValueError, match=r"ids must have shape \(B, T\), got \(2,\)"):
        elmo.elmo_layers(model, torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"ids must be an integer tensor of token ids \(torch.long\), got list"):
        elmo.elmo_layers(model, [[1, 2]])
    with pytest.raises(ValueError, match=r"mask must have shape \(1, 2\)"):
        elmo.elmo_layers(model, torch.tensor([[1, 2]]), torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="dropout must be < 1.0"):
        elmo.BiLMConfig(5, dropout=1.0).checked()
    with pytest.raises(ValueError, match="too short for batch_size=64"):
        elmo.train_bilm(model, torch.tensor([1, 2, 3, 4]), batch_size=64)


@pytest.mark.parametrize("layer", [3, -1, 1.0, "top", True])
def test_unknown_layer_index(layer):
    with pytest.raises(ValueError, match=r"layer must be an index 0..2 or 'mix'"):
        elmo.check_layer(layer, 3)


def test_occurrence_vectors_bad_layer_and_places():
    vocab = text.build_vocabulary([["a", "b"]], specials=(elmo.SENTENCE_END,))
    model = _tiny_model(vocab_size=len(vocab))
    with pytest.raises(ValueError, match=r"layer must be an index 0..2"):
        elmo.occurrence_vectors(model, vocab, [["a", "b"]], [(0, 0)], 7)
    with pytest.raises(ValueError, match="single layer index"):
        elmo.occurrence_vectors(model, vocab, [["a", "b"]], [(0, 0)], "mix")
    with pytest.raises(ValueError, match="places is empty"):
        elmo.occurrence_vectors(model, vocab, [["a", "b"]], [], 1)
    vectors = elmo.occurrence_vectors(model, vocab, [["a", "b"], ["b"]], [(1, 0), (0, 1)], 2)
    assert vectors.shape == (2, 12)


def test_scalar_mix_bad_layers():
    mix = elmo.ScalarMix(3)
    with pytest.raises(ValueError, match="layers must stack 3 layers"):
        mix(torch.zeros(2, 4, 5))
    with pytest.raises(TypeError, match="layers must be a torch.Tensor"):
        mix([torch.zeros(4)] * 3)


def test_bad_baseline_and_stream_inputs():
    with pytest.raises(ValueError, match=r"held_out must lie in \[0, 3\), got values in \[0, 3\]"):
        elmo.bigram_cross_entropy([0, 1, 2], [0, 3], 3)
    with pytest.raises(ValueError, match="train must be a 1-D sequence of at least 2"):
        elmo.unigram_cross_entropy([0], [0, 1], 3)
    with pytest.raises(ValueError, match="direction must be"):
        elmo.unigram_cross_entropy([0, 1], [0, 1], 3, "up")
    no_unk = text.build_vocabulary([["a"]], unk_token=None)
    with pytest.raises(ValueError, match="vocab must have an unknown token"):
        elmo.lm_stream([["a"]], no_unk)
    vocab = elmo.lm_vocabulary([["a", "a", "a"]], min_count=3)
    with pytest.raises(ValueError, match="sentences is empty"):
        elmo.lm_stream([], vocab)


# --------------------------------------------------------------------------- the checkpoint

CHECKPOINT = data.DATA_DIR / "checkpoints" / "09a_elmo.pt"


def test_checkpoint_reproduces_its_stated_held_out_loss():
    summary = json.loads(CHECKPOINT.with_suffix(".json").read_text())
    model, vocab, info = elmo.load_bilm(CHECKPOINT)
    assert CHECKPOINT.stat().st_size == summary["bytes"] <= 3_000_000
    split = elmo.lee_sentences(held_out=info["settings"]["held_out"], seed=info["settings"]["seed"])
    assert vocab == elmo.lm_vocabulary(split.train, info["settings"]["min_count"])
    train, held = elmo.lm_stream(split.train, vocab), elmo.lm_stream(split.held_out, vocab)
    stated = summary["held_out_cross_entropy"]
    readme = (data.DATA_DIR / "README.md").read_text(encoding="utf-8")
    for d in elmo.DIRECTIONS:
        loss = elmo.lm_cross_entropy(model, held, d)
        assert loss == pytest.approx(stated[d], rel=1e-4)
        assert elmo.unigram_cross_entropy(train, held, len(vocab), d) == pytest.approx(stated[f"unigram_{d}"], rel=1e-4)
        assert elmo.bigram_cross_entropy(train, held, len(vocab), d) == pytest.approx(stated[f"bigram_{d}"], rel=1e-4)
        assert loss < stated[f"unigram_{d}"] - 0.3  # the stored model clearly beats the baseline
        assert f"{d} {math.exp(stated[d]):.1f}" in readme  # data/README.md states the same perplexity


# --------------------------------------------------------------------------- the probe


def test_capital_labels_skip_the_first_word():
    assert elmo.capital_labels([["The", "West", "bank"], ["I", "said", "I"]]) == [[-1, 1, 0], [-1, 0, 1]]


def _synthetic_probe_data(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    layers = torch.randn(3, n, 4, generator=g)
    labels = (layers[2, :, 1] > 0).long()  # only layer 3 (index 2) knows the label
    words = [f"w{i % 7}" for i in range(n)]
    return elmo.ProbeData(layers, labels, words)


def test_mixed_probe_learns_to_weight_the_informative_layer():
    train, test = _synthetic_probe_data(seed=0), _synthetic_probe_data(seed=1)
    probe = elmo.train_probe(train, "mix", steps=50)
    assert elmo.probe_accuracy(probe, test) > 0.95
    assert probe.mix.weights()[2].item() > 0.5
    assert elmo.probe_accuracy(elmo.train_probe(train, 0, steps=50), test) < 0.7  # layer 1 alone: chance


def test_lookup_baseline_and_mixed_label_words_by_hand():
    train = elmo.ProbeData(torch.zeros(1, 5, 2), torch.tensor([1, 1, 0, 0, 0]), ["a", "a", "a", "b", "c"])
    test = elmo.ProbeData(torch.zeros(1, 4, 2), torch.tensor([1, 0, 1, 0]), ["a", "b", "d", "c"])
    # a -> 1 (2 of 3), b -> 0, unseen d -> majority 0, c -> 0: right, right, wrong, right
    assert elmo.lookup_baseline_accuracy(train, test) == pytest.approx(0.75, abs=1e-12)
    assert elmo.lookup_baseline_accuracy(train, test, np.array([True, False, True, False])) == pytest.approx(0.5)
    assert elmo.mixed_label_words(train) == {"a"}
    with pytest.raises(ValueError, match="where must be a boolean array with one entry per word"):
        elmo.lookup_baseline_accuracy(train, test, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="where selects no word"):
        elmo.lookup_baseline_accuracy(train, test, np.zeros(4, dtype=bool))


def test_probe_unknown_layer():
    with pytest.raises(ValueError, match=r"layer must be an index 0..2 or 'mix'"):
        elmo.train_probe(_synthetic_probe_data(), 3)
