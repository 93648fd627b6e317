"""nlpcourse.seq2seq: data encoding, masks, Bahdanau attention by hand, padding invariance,
greedy decoding, a short training run, bad input."""

import numpy as np
import pytest
import torch

from nlpcourse import data
from nlpcourse import seq2seq as s2s

F64 = dict(rtol=1e-10, atol=1e-12)

PAIRS = [
    (["two", "hundred", "five"], ["2", "0", "5"]),
    (["seven"], ["7"]),
    (["forty", "two"], ["4", "2"]),
]


@pytest.fixture(scope="module")
def vocabs():
    return s2s.make_vocabularies(data.spelled_numbers(400, seed=1))


def _model(vocabs, attention, seed=0, **config):
    src_vocab, tgt_vocab = vocabs
    model = s2s.build_model(s2s.Seq2SeqConfig(embedding_dim=6, hidden_size=8, attention_size=5, **config),
                            src_vocab, tgt_vocab, attention=attention, seed=seed)
    return model.double().eval()


def test_vocabularies_put_specials_first():
    src_vocab, tgt_vocab = s2s.make_vocabularies(PAIRS)
    for vocab in (src_vocab, tgt_vocab):
        assert vocab.tokens[:4] == ("[PAD]", "[BOS]", "[EOS]", "[UNK]")
    assert set(tgt_vocab.tokens[4:]) == {"2", "0", "5", "7", "4"}
    assert tgt_vocab.tokens[4] == "2"  # most frequent first


def test_encode_pairs_by_hand():
    src_vocab, tgt_vocab = s2s.make_vocabularies(PAIRS)
    batch = s2s.encode_pairs(PAIRS, src_vocab, tgt_vocab)
    two, hundred, five = (src_vocab.index(w) for w in ("two", "hundred", "five"))
    assert batch.src[0].tolist() == [two, hundred, five]
    assert batch.src[1].tolist() == [src_vocab.index("seven"), 0, 0]
    assert batch.src_mask.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    d = {t: tgt_vocab.index(t) for t in ("2", "0", "5", "7")}
    assert batch.tgt_in[0].tolist() == [1, d["2"], d["0"], d["5"]]  # [BOS] y
    assert batch.tgt_out[0].tolist() == [d["2"], d["0"], d["5"], 2]  # y [EOS]
    assert batch.tgt_out[1].tolist() == [d["7"], 2, 0, 0]
    assert batch.tgt_mask[1].tolist() == [True, True, False, False]
    sub = batch.subset(torch.tensor([1]))
    assert sub.src.shape == (1, 1) and sub.tgt_in.shape == (1, 2)


def test_unknown_and_too_long_tokens():
    src_vocab, tgt_vocab = s2s.make_vocabularies(PAIRS)
    with pytest.raises(ValueError, match=r"pairs\[0\] source\[1\] = 'thousand' is not in the vocabulary"):
        s2s.encode_pairs([(["two", "thousand"], ["2"])], src_vocab, tgt_vocab)
    mapped = s2s.encode_pairs([(["two", "thousand"], ["2"])], src_vocab, tgt_vocab, unknown="unk")
    assert mapped.src[0, 1].item() == src_vocab.index("[UNK]")
    with pytest.raises(ValueError, match=r"pairs\[0\] source has 3 tokens, more than the maximum 2; pass truncate=True"):
        s2s.encode_pairs(PAIRS, src_vocab, tgt_vocab, max_src_len=2)
    cropped = s2s.encode_pairs(PAIRS, src_vocab, tgt_vocab, max_src_len=2, truncate=True)
    assert cropped.src.shape == (3, 2)
    with pytest.raises(ValueError, match=r"source\[0\] = '\[EOS\]' is not in the vocabulary"):
        s2s.encode_pairs([(["[EOS]"], ["2"])], src_vocab, tgt_vocab)


def test_masked_softmax_matches_softmax_over_real_entries():
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 9.0], [4.0, 4.0, 4.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True, True], [True, True, False], [False, False, False]])
    weights = s2s.masked_softmax(scores, mask)
    torch.testing.assert_close(weights[0], torch.softmax(scores[0], 0), **F64)
    torch.testing.assert_close(weights[1, :2], torch.softmax(scores[1, :2], 0), **F64)
    assert weights[1, 2].item() == 0.0
    assert torch.equal(weights[2], torch.zeros(3, dtype=torch.float64))  # fully masked: zeros, not NaN
    with pytest.raises(ValueError, match=r"mask must have the shape of scores \(3, 3\), got \(3, 2\)"):
        s2s.masked_softmax(scores, mask[:, :2])


def test_additive_attention_by_hand():
    torch.manual_seed(0)
    attend = s2s.AdditiveAttention(query_size=3, key_size=4, attention_size=5).double()
    query = torch.randn(2, 3, dtype=torch.float64)
    keys = torch.randn(2, 6, 4, dtype=torch.float64)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    context, weights = attend(query, keys, mask)
    W, U, b, v = attend.query.weight, attend.key.weight, attend.key.bias, attend.score.weight[0]
    for i in range(2):
        n = int(mask[i].sum())
        e = torch.stack([v @ torch.tanh(W @ query[i] + U @ keys[i, j] + b) for j in range(n)])
        a = torch.exp(e) / torch.exp(e).sum()
        c = sum(a[j] * keys[i, j] for j in range(n))  # c_i = sum_j a_ij h_j
        torch.testing.assert_close(weights[i, :n], a, **F64)
        torch.testing.assert_close(context[i], c, **F64)
        assert torch.all(weights[i, n:] == 0)


@pytest.mark.parametrize("attention", [True, False])
def test_padding_does_not_change_outputs(vocabs, attention):
    model = _model(vocabs, attention)
    pairs = [(["nine"], ["9"]), (["three", "thousand", "two", "hundred", "one"], ["3", "2", "0", "1"])]
    batch = s2s.encode_pairs(pairs, *vocabs)
    logits, weights = model(batch.src, batch.src_mask, batch.tgt_in)
    alone = s2s.encode_pairs(pairs[:1], *vocabs)
    logits_alone, weights_alone = model(alone.src, alone.src_mask, alone.tgt_in)
    torch.testing.assert_close(logits[0, :2], logits_alone[0], **F64)
    if attention:
        torch.testing.assert_close(weights[0, :2, :1], weights_alone[0], **F64)
        assert torch.all(weights[0, :, 1:] == 0)  # no attention on padding
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5, dtype=torch.float64), **F64)
    else:
        assert weights is None


def test_fixed_context_is_the_two_final_states(vocabs):
    model = _model(vocabs, attention=False)
    batch = s2s.encode_pairs([(["two", "hundred", "five"], ["2", "0", "5"]), (["six"], ["6"])], *vocabs)
    outputs, _state, fixed = model.encode(batch.src, batch.src_mask)
    h = model.config.hidden_size
    lengths = batch.src_mask.sum(1)
    for row in range(2):
        torch.testing.assert_close(fixed[row, :h], outputs[row, lengths[row] - 1, :h], **F64)  # forward h_S
        torch.testing.assert_close(fixed[row, h:], outputs[row, 0, h:], **F64)  # backward h_1


@pytest.mark.parametrize("attention", [True, False])
def test_greedy_decode_equals_argmax_of_teacher_forcing(vocabs, attention):
    model = _model(vocabs, attention, seed=3)
    sources = [["twelve"], ["five", "hundred", "six"]]
    decoded = s2s.greedy_decode(model, s2s.encode_sources(model, sources), max_len=5)
    _src_vocab, tgt_vocab = vocabs
    for row, ids in enumerate(decoded.ids):
        src, mask = s2s.encode_sources(model, sources[row:row + 1])
        fed = torch.tensor([[1] + ids])  # [BOS] then its own predictions
        logits, weights = model(src, mask, fed)
        expected = logits[0].argmax(-1).tolist()
        assert expected[: len(ids)] == ids
        if len(ids) < 5:
            assert expected[len(ids)] == tgt_vocab.index("[EOS]")
        if attention:
            steps = decoded.attention[row].shape[0]
            np.testing.assert_allclose(decoded.attention[row], weights[0, :steps].detach().numpy(), rtol=1e-10, atol=1e-12)
        else:
            assert decoded.attention[row] is None


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_other_cells_build_and_decode(vocabs, cell):
    model = _model(vocabs, attention=True, cell=cell)
    out = s2s.translate(model, [["one", "hundred"]], max_len=3)
    assert len(out) == 1 and len(out[0]) <= 3


def test_training_learns_small_numbers_and_repeats():
    pairs = data.spelled_numbers(300, seed=0, max_value=99)
    train, test = s2s.split_pairs(pairs, 0.2, seed=0)
    assert not {" ".join(s) for s, _ in train} & {" ".join(s) for s, _ in test}
    vocabs = s2s.make_vocabularies(train)
    config = s2s.Seq2SeqConfig(embedding_dim=16, hidden_size=32, attention_size=32)
    torch.set_num_threads(1)
    runs = []
    for _ in range(2):
        model = s2s.build_model(config, *vocabs, attention=True, seed=0)
        runs.append((model, s2s.train(model, train, epochs=12, batch_size=32, lr=1e-2, seed=0)))
    (model, history), (_, again) = runs
    assert history == again  # same seed, same run
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    accuracy = s2s.exact_match_accuracy(model, train)
    assert accuracy > 0.9
    by_length = s2s.accuracy_by_length(model, train)
    assert sum(n for n, _a in by_length.values()) == len(train)
    weighted = sum(n * a for n, a in by_length.values()) / len(train)
    assert weighted == pytest.approx(accuracy, rel=1e-12)
    assert s2s.held_out_loss(model, train) < history["loss"][0]
    words, weights = s2s.alignment(model, ["forty", "two"])
    assert weights.shape == (len(words), 2)
    np.testing.assert_allclose(weights.sum(1), 1.0, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- bad input


def test_bad_config_and_build():
    with pytest.raises(ValueError, match="hidden_size must be >= 1, got 0"):
        s2s.Seq2SeqConfig(hidden_size=0)
    with pytest.raises(ValueError, match="cell must be one of"):
        s2s.Seq2SeqConfig(cell="transformer")
    src_vocab, tgt_vocab = s2s.make_vocabularies(PAIRS)
    with pytest.raises(TypeError, match="config must be a Seq2SeqConfig"):
        s2s.build_model({"hidden_size": 4}, src_vocab, tgt_vocab)
    from nlpcourse.text import build_vocabulary

    plain = build_vocabulary([["two"]])
    with pytest.raises(ValueError, match=r"tgt_vocab lacks the special tokens \['\[PAD\]', '\[BOS\]', '\[EOS\]'\]"):
        s2s.build_model(s2s.Seq2SeqConfig(), src_vocab, plain)


def test_bad_model_inputs(vocabs):
    model = _model(vocabs, attention=True, max_src_len=3)
    with pytest.raises(ValueError, match=r"sources\[0\] has 4 tokens, more than the maximum 3; pass truncate=True"):
        s2s.translate(model, [["two", "thousand", "one", "hundred"]])
    src, mask = s2s.encode_sources(model, [["two", "thousand", "one", "hundred"]], truncate=True)
    assert src.shape == (1, 3)
    with pytest.raises(ValueError, match="src has 4 steps, more than the model's max_src_len 3"):
        model(torch.ones(1, 4, dtype=torch.long), torch.ones(1, 4, dtype=torch.bool), torch.ones(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"src_mask must have the shape of src \(2, 3\), got \(1, 3\)"):
        model.encode(torch.ones(2, 3, dtype=torch.long), torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="src must be a \\(batch, steps\\) tensor of token ids"):
        model.encode(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"src ids must lie in \[0, "):
        model.encode(torch.full((1, 2), 999), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"tgt_in must have shape \(2, steps\) like src's batch, with steps >= 1, got \(3, 2\)"):
        model(torch.ones(2, 2, dtype=torch.long), torch.ones(2, 2, dtype=torch.bool), torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"sources\[0\]\[0\] = 'zwei' is not in the vocabulary"):
        s2s.translate(model, [["zwei"]])
    with pytest.raises(ValueError, match="model has no attention"):
        s2s.alignment(_model(vocabs, attention=False), ["two"])
    with pytest.raises(TypeError, match="src_batch must be a \\(src ids, src mask\\) pair"):
        s2s.greedy_decode(model, torch.ones(1, 2, dtype=torch.long))


def test_bad_pairs_and_training_arguments(vocabs):
    with pytest.raises(ValueError, match="pairs is empty"):
        s2s.make_vocabularies([])
    with pytest.raises(TypeError, match=r"pairs\[0\] source must be a list of str tokens"):
        s2s.make_vocabularies([("two hundred", ["2", "0", "0"])])
    with pytest.raises(ValueError, match=r"pairs\[1\] target is empty"):
        s2s.make_vocabularies([(["two"], ["2"]), (["one"], [])])
    model = _model(vocabs, attention=False)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        s2s.train(model, PAIRS, epochs=0)
    with pytest.raises(ValueError, match="lr must be > 0.0, got 0.0"):
        s2s.train(model, PAIRS, lr=0.0)
    with pytest.raises(TypeError, match="model must be a Seq2Seq"):
        s2s.train(torch.nn.Linear(2, 2), PAIRS)
    with pytest.raises(ValueError, match="test_fraction must be < 1.0"):
        s2s.split_pairs(PAIRS, 1.0)


# --------------------------------------------------------------------------- chapter 07's widget and plots


def test_alignment_explorer_redraws_the_picked_example():
    from nlpcourse import widgets

    examples = [(["two", "thousand"], ["2", "0", "0", "0", "[EOS]"], np.full((5, 2), 0.5)),
                (["seven"], ["7", "[EOS]"], np.ones((2, 1)))]
    box = widgets.alignment_explorer(examples)
    assert box.result.source == ["two", "thousand"] and box.view.renders == 1
    first = box.view.image.value
    box.controls["example"].value = 1
    assert box.result.source == ["seven"] and box.view.renders == 2
    assert box.view.image.value != first
    np.testing.assert_array_equal(box.view.artists["image"].get_array(), np.ones((2, 1)))
    assert [t.get_text() for t in box.view.figure.axes[0].get_xticklabels()] == ["seven"]
    with pytest.raises(ValueError, match=r"examples\[0\] weights must have shape \(2, 1\), got \(1, 1\)"):
        widgets.alignment_explorer([(["seven"], ["7", "[EOS]"], np.ones((1, 1)))])
    with pytest.raises(ValueError, match="examples is empty"):
        widgets.alignment_explorer([])


def test_alignment_heatmap_checks_its_shape():
    import matplotlib

    matplotlib.use("Agg")
    from nlpcourse import plots

    fig = plots.new_figure()
    ax = fig.add_subplot()
    plots.alignment_heatmap(ax, np.eye(2), ["a", "b"], ["1", "2"])
    np.testing.assert_array_equal(ax.images[0].get_array(), np.eye(2))
    with pytest.raises(ValueError, match=r"weights must have shape \(outputs, sources\) = \(3, 2\), got \(2, 2\)"):
        plots.alignment_heatmap(ax, np.eye(2), ["a", "b"], ["1", "2", "3"])


# --------------------------------------------------------------------------- scheduled sampling (issue 27)

def test_linear_teacher_forcing_schedule():
    np.testing.assert_allclose(s2s.linear_teacher_forcing(5, 0.5), [1.0, 0.875, 0.75, 0.625, 0.5], **F64)
    assert s2s.linear_teacher_forcing(1, 0.0) == [1.0]
    assert s2s.linear_teacher_forcing(3, 1.0) == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("attention", [False, True])
def test_scheduled_sampling_logits_at_the_two_ends(vocabs, attention):
    model = _model(vocabs, attention)
    batch = s2s.encode_pairs(data.spelled_numbers(6, seed=3), *vocabs)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        forced, _ = model(batch.src, batch.src_mask, batch.tgt_in)
        # p_true = 1: exactly teacher forcing
        torch.testing.assert_close(s2s.scheduled_sampling_logits(model, batch, 1.0, generator), forced, **F64)
        # p_true = 0: every step after [BOS] reads the previous step's arg-max, as greedy decoding does
        own = s2s.scheduled_sampling_logits(model, batch, 0.0, generator)
        state, memory = model.memory(batch.src, batch.src_mask)
        y = batch.tgt_in[:, 0]
        for i in range(batch.tgt_in.shape[1]):
            logits, state, _ = model.step(y, state, memory)
            torch.testing.assert_close(own[:, i], logits, **F64)
            y = logits.argmax(dim=1)


def test_scheduled_sampling_mixes_true_and_own_tokens(vocabs):
    model = _model(vocabs, attention=True)
    batch = s2s.encode_pairs(data.spelled_numbers(64, seed=4), *vocabs)
    with torch.no_grad():
        forced, _ = model(batch.src, batch.src_mask, batch.tgt_in)
        mixed = s2s.scheduled_sampling_logits(model, batch, 0.5, torch.Generator().manual_seed(1))
        torch.testing.assert_close(mixed[:, 0], forced[:, 0], **F64)  # the first step always reads [BOS]
        differs = (mixed[:, 1:] - forced[:, 1:]).abs().amax(dim=-1) > 1e-9  # (B, T - 1)
    # an untrained model's arg-max rarely equals the true digit, so about half the later steps differ
    share = differs[batch.tgt_mask[:, 1:]].double().mean().item()
    assert 0.2 < share < 0.8


def test_train_with_teacher_forcing_one_repeats_the_default_run(vocabs):
    pairs = data.spelled_numbers(60, seed=5)
    histories = []
    for schedule in (None, [1.0, 1.0], s2s.linear_teacher_forcing(2, 0.0)):
        model = _model(vocabs, attention=False).float().train()
        kwargs = {} if schedule is None else {"teacher_forcing": schedule}
        histories.append(s2s.train(model, pairs, epochs=2, batch_size=16, seed=0, **kwargs))
    assert histories[0] == histories[1]
    assert histories[2]["loss"][0] == histories[0]["loss"][0]  # epoch 1 is teacher-forced in both
    assert histories[2]["loss"][1] != histories[0]["loss"][1]


def test_scheduled_sampling_bad_input(vocabs):
    model = _model(vocabs, attention=False)
    batch = s2s.encode_pairs(PAIRS, *vocabs)
    generator = torch.Generator()
    with pytest.raises(ValueError, match="teacher_forcing must give one probability per epoch \\(2\\), got 3"):
        s2s.train(model, PAIRS, epochs=2, teacher_forcing=[1.0, 0.9, 0.8])
    with pytest.raises(ValueError, match="teacher_forcing"):
        s2s.train(model, PAIRS, epochs=2, teacher_forcing=1.5)
    with pytest.raises(TypeError, match="teacher_forcing must be a probability"):
        s2s.train(model, PAIRS, epochs=2, teacher_forcing="linear")
    with pytest.raises(ValueError, match="final"):
        s2s.linear_teacher_forcing(3, -0.1)
    with pytest.raises(ValueError, match="p_true"):
        s2s.scheduled_sampling_logits(model, batch, 2.0, generator)
    with pytest.raises(TypeError, match="batch must be a Batch"):
        s2s.scheduled_sampling_logits(model, PAIRS, 0.5, generator)
    with pytest.raises(TypeError, match="generator must be"):
        s2s.scheduled_sampling_logits(model, batch, 0.5, 0)
