"""nlpcourse.bert: BERT's masking rule (exact counts, 80/10/10 proportions, never specials),
sentence pairs and segment ids, NSP pairs from the real sentence order, the MLM loss against a
hand cross-entropy, shapes, the checkpoint's held-out loss, the sub-word recipe's pieces, and every bad-input error."""

import collections
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import bert, data, transformer
from nlpcourse.text import build_vocabulary

pytestmark = pytest.mark.usefixtures("one_thread")

F32 = dict(rtol=1e-5, atol=1e-6)
def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def expected_count(maskable, p=0.15):
    return min(maskable, max(1, round(p * maskable))) if maskable else 0


@pytest.fixture(scope="module")
def small():
    """A tiny vocabulary and model over a few Lee stories."""
    docs = bert.corpus_sentences(data.lee_documents()[:30])
    vocab = bert.bert_vocabulary([s for d in docs for s in d], min_count=1)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=2, max_len=48, dropout=0.0))
    model.eval()
    return docs, vocab, model


# --------------------------------------------------------------------------- masking


@settings(max_examples=60, deadline=None)
@given(layout=st.lists(st.lists(st.sampled_from(["word", "special", "pad"]), min_size=1, max_size=40),
                       min_size=1, max_size=6),
       mask_prob=st.sampled_from([0.15, 0.05, 0.3, 0.5]), seed=st.integers(0, 2**16))
def test_chosen_count_is_exact_and_never_special(layout, mask_prob, seed):
    width = max(len(row) for row in layout)
    ids = torch.zeros(len(layout), width, dtype=torch.long)  # padding = 0
    for r, row in enumerate(layout):
        for c, kind in enumerate(row):
            ids[r, c] = {"word": 5 + (r * 7 + c) % 20, "special": 1 + c % 4, "pad": 0}[kind]
    special = bert.special_tokens_mask(ids)
    out = bert.mask_tokens(ids, special, mask_id=3, vocab_size=30, mask_prob=mask_prob, generator=gen(seed))
    for r in range(len(layout)):
        maskable = int((~special[r]).sum())
        assert int(out.chosen[r].sum()) == expected_count(maskable, mask_prob)
    assert not bool((out.chosen & special).any()), "a special token or padding was chosen"
    assert torch.equal(out.labels[out.chosen], ids[out.chosen])
    assert bool((out.labels[~out.chosen] == bert.IGNORE).all())
    assert torch.equal(out.inputs[~out.chosen], ids[~out.chosen])


def test_count_uses_python_rounding_as_bert_does():
    # 0.15 * 10 = 1.5 -> round to even -> 2; 0.15 * 30 = 4.5 -> 4; 1 maskable -> max(1, 0) = 1
    for maskable, expected in [(10, 2), (30, 4), (1, 1), (3, 1), (7, 1), (20, 3)]:
        ids = torch.full((1, maskable + 2), 9, dtype=torch.long)
        ids[0, 0], ids[0, -1] = 1, 2
        out = bert.mask_tokens(ids, bert.special_tokens_mask(ids), mask_id=3, vocab_size=20, generator=gen())
        assert int(out.chosen.sum()) == expected, maskable


def test_replacement_proportions_over_100k_tokens():
    g = gen(1)
    ids = torch.randint(5, 1000, (2000, 64), generator=g)  # 128k tokens
    ids[:, 0], ids[:, 40] = 1, 2  # [CLS], [SEP]
    ids[::2, 50:] = 0  # padding in every other row
    special = bert.special_tokens_mask(ids)
    out = bert.mask_tokens(ids, special, mask_id=3, vocab_size=1000, generator=gen(2))
    assert int((~special).sum()) >= 100_000
    kinds = out.kind[out.chosen]
    shares = [float((kinds == k).double().mean()) for k in (bert.TO_MASK, bert.TO_RANDOM, bert.TO_SAME)]
    assert kinds.numel() > 15_000
    for share, target in zip(shares, (0.8, 0.1, 0.1)):
        assert abs(share - target) < 0.01, shares
    assert bool((out.inputs[out.kind == bert.TO_MASK] == 3).all())
    random_inputs = out.inputs[out.kind == bert.TO_RANDOM]
    assert bool(((random_inputs >= len(bert.SPECIALS)) & (random_inputs < 1000)).all())
    # a random word replaces the original (equal only by chance, 1 in 995)
    assert float((random_inputs == ids[out.kind == bert.TO_RANDOM]).double().mean()) < 0.01
    assert torch.equal(out.inputs[out.kind == bert.TO_SAME], ids[out.kind == bert.TO_SAME])


def test_other_split_is_followed():
    ids = torch.randint(5, 50, (1000, 40), generator=gen(3))
    out = bert.mask_tokens(ids, torch.zeros_like(ids, dtype=torch.bool), mask_id=3, vocab_size=50,
                           split=(0.5, 0.0, 0.5), generator=gen(4))
    kinds = out.kind[out.chosen]
    assert int((kinds == bert.TO_RANDOM).sum()) == 0
    assert abs(float((kinds == bert.TO_MASK).double().mean()) - 0.5) < 0.03


def test_masking_is_reproducible_with_the_same_generator():
    ids = torch.randint(5, 50, (8, 20), generator=gen(5))
    special = bert.special_tokens_mask(ids)
    a = bert.mask_tokens(ids, special, mask_id=3, vocab_size=50, generator=gen(9))
    b = bert.mask_tokens(ids, special, mask_id=3, vocab_size=50, generator=gen(9))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)


# --------------------------------------------------------------------------- pairs and segments


def test_encode_pair_ids_and_segments():
    vocab = build_vocabulary([["a", "b", "c", "d"]], specials=bert.SPECIALS[:4], unk_token=bert.UNK)
    pair = bert.encode_pair(["a", "b"], ["c", "zzz", "d"], vocab, max_len=10)
    assert vocab.decode(pair.ids) == ["[CLS]", "a", "b", "[SEP]", "c", "[UNK]", "d", "[SEP]"]
    assert pair.segments == [0, 0, 0, 0, 1, 1, 1, 1]
    single = bert.encode_pair(["a"], None, vocab, max_len=3)
    assert vocab.decode(single.ids) == ["[CLS]", "a", "[SEP]"] and single.segments == [0, 0, 0]
    assert [vocab.index(t) for t in bert.SPECIALS] == [0, 1, 2, 3, 4]


def test_too_long_pair_is_refused_or_truncated_longest_first():
    vocab = build_vocabulary([list("abcdefgh")], specials=bert.SPECIALS[:4], unk_token=bert.UNK)
    a, b = list("abcdef"), list("gh")
    with pytest.raises(ValueError, match=r"sequence pair is too long: 11 tokens.*max_len is 8.*truncate=True"):
        bert.encode_pair(a, b, vocab, max_len=8)
    pair = bert.encode_pair(a, b, vocab, max_len=8, truncate=True)
    # 5 word slots: the longer sentence loses tokens from its end until it fits
    assert vocab.decode(pair.ids) == ["[CLS]", "a", "b", "c", "[SEP]", "g", "h", "[SEP]"]
    assert bert.truncate_pair(list("abc"), list("wxyz"), 4) == (list("ab"), list("wx"))
    assert len(bert.encode_pair(a, b, vocab, max_len=11).ids) == 11  # exactly max_len is fine


def test_encode_pairs_pads_and_model_shapes(small):
    docs, vocab, model = small
    pairs = bert.nsp_pairs(docs, gen())[:5]
    batch = bert.encode_pairs(pairs, vocab, max_len=48, truncate=True)
    lengths = [len(bert.encode_pair(a, b, vocab, 48, truncate=True).ids) for a, b, _ in pairs]
    assert batch.ids.shape == batch.segments.shape == (5, max(lengths)) and batch.is_next.shape == (5,)
    for row, n in enumerate(lengths):
        assert bool((batch.ids[row, n:] == 0).all()) and bool((batch.ids[row, :n] != 0).all())
        assert int(batch.segments[row, n:].sum()) == 0
    states = model(batch.ids, batch.segments, all_layers=True)
    assert len(states) == model.config.n_layers + 1 and states[-1].shape == (5, max(lengths), 32)
    assert model.nsp_logits(states[-1]).shape == (5, 2)
    assert model.mlm_logits(states[-1]).shape == (5, max(lengths), len(vocab))
    assert all(isinstance(layer, transformer.EncoderLayer) for layer in model.encoder)


def test_segment_and_position_embeddings_change_the_output(small):
    _docs, vocab, model = small
    ids = torch.tensor([[1, 7, 8, 2, 9, 10, 2]])
    seg = torch.tensor([[0, 0, 0, 0, 1, 1, 1]])
    base = model(ids, seg)
    assert not torch.allclose(base, model(ids, torch.zeros_like(seg)))
    # the embedding sum is token + segment + position, then LayerNorm
    x = model.token_embed(ids) + model.segment_embed(seg) + model.position_embed(torch.arange(7))[None]
    torch.testing.assert_close(model.embed(ids, seg), model.embed_norm(x), **F32)


def test_nsp_pairs_balanced_and_true_pairs_adjacent(small):
    docs, _vocab, _model = small
    pairs = bert.nsp_pairs(docs, gen(11))
    n_adjacent = sum(len(d) - 1 for d in docs if d)
    assert len(pairs) == n_adjacent
    ones = sum(p[2] for p in pairs)
    assert ones == (len(pairs) + 1) // 2
    where = {}
    for d, doc in enumerate(docs):
        for i, s in enumerate(doc):
            where.setdefault(tuple(s), set()).add((d, i))
    for a, b, is_next in pairs:
        a_places, b_places = where[tuple(a)], where[tuple(b)]
        if is_next:
            assert any((d, i + 1) in b_places for d, i in a_places), "a true pair must be adjacent sentences"
        else:
            assert not ({d for d, _ in a_places} & {d for d, _ in b_places}), "a random b must come from another document"


# --------------------------------------------------------------------------- loss, training, reading


def test_mlm_loss_counts_chosen_positions_only(small):
    docs, vocab, model = small
    batch = bert.encode_pairs(bert.nsp_pairs(docs, gen(2))[:6], vocab, 48, truncate=True)
    masked = bert.mask_tokens(batch.ids, bert.special_tokens_mask(batch.ids), mask_id=3, vocab_size=len(vocab),
                              generator=gen(3))
    total, mlm, nsp = bert.bert_loss(model, masked.inputs, batch.segments, masked.labels, batch.is_next)
    hidden = model(masked.inputs, batch.segments)
    log_probs = torch.log_softmax(model.mlm_logits(hidden), -1)  # every position, by hand
    rows, cols = masked.chosen.nonzero(as_tuple=True)
    hand = -log_probs[rows, cols, batch.ids[rows, cols]].mean()
    torch.testing.assert_close(mlm, hand, **F32)
    nsp_hand = -torch.log_softmax(model.nsp_logits(hidden), -1)[torch.arange(6), batch.is_next].mean()
    torch.testing.assert_close(nsp, nsp_hand, **F32)
    torch.testing.assert_close(total, mlm + nsp, **F32)
    # positions that are not chosen do not count, whatever their label would have been
    assert int(masked.chosen.sum()) < int((batch.ids >= 5).sum())


def test_training_lowers_the_loss():
    docs = bert.corpus_sentences(data.lee_documents()[:12])
    vocab = bert.bert_vocabulary([s for d in docs for s in d], min_count=1)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=1, max_len=64, dropout=0.0))
    history = bert.train_bert(model, docs, vocab, epochs=6, batch_size=16, lr=3e-3, warmup_steps=5, seed=0)
    assert history["mlm"][-1] < history["mlm"][0] - 0.5
    assert not model.training


def test_baselines_by_hand():
    vocab = build_vocabulary([["a", "a", "a", "b"]], specials=bert.SPECIALS[:4], unk_token=bert.UNK)
    a, b = vocab.index("a"), vocab.index("b")
    out = bert.mlm_baselines([["a", "a", "a", "b"]], vocab, [a, b, b, a])
    p_a, p_b = 4 / 6, 2 / 6  # add-one counts 4 and 2
    assert out["most_frequent_word"] == "a" and out["most_frequent_accuracy"] == 0.5
    assert math.isclose(out["unigram_loss"], -(2 * math.log(p_a) + 2 * math.log(p_b)) / 4, rel_tol=1e-12)
    assert math.isclose(out["unigram_sample_accuracy"], (2 * p_a + 2 * p_b) / 4, rel_tol=1e-12)


def test_fill_mask_and_layer_states(small):
    _docs, vocab, model = small
    top = bert.fill_mask(model, vocab, "the fire [MASK] the town", k=4)
    assert len(top) == 4 and all(w not in bert.SPECIALS for w, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    tokens, states = bert.layer_states(model, vocab, "the fire [MASK] the town")
    assert tokens == ["the", "fire", "[MASK]", "the", "town"]
    assert states.shape == (model.config.n_layers + 1, 5, 32)
    ids = torch.tensor([[1] + vocab.encode(tokens) + [2]])
    hidden = model(ids, torch.zeros_like(ids))
    torch.testing.assert_close(states[-1], hidden[0, 1:-1], **F32)
    full = torch.softmax(model.mlm_logits(hidden[0, 3]), -1).detach()
    assert math.isclose(top[0][1], float(full[vocab.index(top[0][0])]), rel_tol=1e-5)
    _, one = bert.layer_states(model, vocab, tokens, layer=1)
    torch.testing.assert_close(one, states[1], **F32)


def test_sentences_and_chinese_characters():
    text = 'Mr. Smith arrived at 4pm. He left. "Why?" she asked. The U.S. team won.'
    assert bert.split_sentences(text) == ["Mr. Smith arrived at 4pm.", "He left.", '"Why?" she asked.',
                                          "The U.S. team won."]
    assert bert.bert_tokenize("BERT 用汉字 tokens") == ["bert", "用", "汉", "字", "tokens"]


# --------------------------------------------------------------------------- scores by kind of chosen position


@pytest.fixture(scope="module")
def trained():
    """A tiny BERT trained a few epochs on 12 Lee stories, and 12 held-out test stories."""
    docs = bert.corpus_sentences(data.lee_documents()[:12])
    vocab = bert.bert_vocabulary([s for d in docs for s in d], min_count=1)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=1, max_len=64, dropout=0.0))
    bert.train_bert(model, docs, vocab, epochs=6, batch_size=16, lr=3e-3, warmup_steps=5, seed=0)
    return model, vocab, bert.corpus_sentences(data.lee_documents("test"))[:12]


def test_accuracy_by_kind_against_a_hand_count(trained):
    """Replay accuracy_by_kind's draws (same generator, same batches) and count every chosen
    position by hand against the original word; the three kinds add up to evaluate_bert's score."""
    model, vocab, held_out = trained
    got = bert.accuracy_by_kind(model, held_out, vocab, seed=3, repeats=2, batch_size=64)
    g = gen(3)
    counts, hits = {1: 0, 2: 0, 3: 0}, {1: 0, 2: 0, 3: 0}
    for _ in range(2):
        pairs = bert.encode_pairs(bert.nsp_pairs(held_out, g), vocab, model.config.max_len, truncate=True)
        for start in range(0, len(pairs), 64):
            batch = pairs[start: start + 64]
            masked = bert.mask_tokens(batch.ids, bert.special_tokens_mask(batch.ids), mask_id=vocab.index(bert.MASK),
                                      vocab_size=len(vocab), generator=g)
            with torch.no_grad():
                guess = model.mlm_logits(model(masked.inputs, batch.segments)).argmax(-1)  # (B, T)
            kind, guess, original = masked.kind.tolist(), guess.tolist(), batch.ids.tolist()
            for r, row in enumerate(kind):
                for t, k in enumerate(row):
                    if k:  # a chosen position
                        counts[k] += 1
                        hits[k] += guess[r][t] == original[r][t]  # right if it names the original word
    names = {1: "[MASK]", 2: "random", 3: "kept"}
    assert list(got) == ["[MASK]", "random", "kept"]
    for kind, name in names.items():
        assert got[name][0] == counts[kind] > 0
        assert math.isclose(got[name][1], hits[kind] / counts[kind], rel_tol=1e-12)
    scores = bert.evaluate_bert(model, held_out, vocab, seed=3, repeats=2, batch_size=64)
    assert scores.n_masked == sum(counts.values())
    assert round(scores.mlm_accuracy * scores.n_masked) == sum(hits.values())


# --------------------------------------------------------------------------- the sub-word recipe (scripts/make_checkpoint_09b.py --recipe subword)


@pytest.fixture(scope="module")
def subword():
    from nlpcourse.tokenize import BytePairTokenizer

    docs = data.lee_documents()[:30]
    vocab = bert.subword_vocabulary(BytePairTokenizer.learn([" ".join(d.lower().split()) for d in docs], 200))
    return docs, vocab


def test_subword_vocabulary_has_no_unknown_words(subword):
    _docs, vocab = subword
    assert vocab.tokens[:5] == bert.SPECIALS and len(vocab) == 5 + 256 + 200 and len(set(vocab.tokens)) == len(vocab)
    tokens = vocab.tokenize("Zyxwv  QUUX [MASK] 漢字!")
    assert bert.UNK not in tokens and tokens.count(bert.MASK) == 1
    assert vocab.text(vocab.tokenize("Zyxwv  QUUX 漢字!")) == "zyxwv quux 漢字!"
    assert vocab.tokenize("the fire") == [" the", " fire"] or len(vocab.tokenize("the fire")) > 2


def test_text_windows_and_training(subword, tmp_path):
    docs, vocab = subword
    windows = bert.text_windows(docs, vocab, max_len=24, min_tokens=4)
    ids = windows.ids
    assert ids.shape[1] == 24 and bool((ids[:, 0] == 1).all()) and bool((windows.segments == 0).all())
    assert all(row[(row != 0).sum() - 1] == 2 for row in ids)  # [SEP] ends every window
    n_tokens = sum(len(vocab.tokenize(d)) for d in docs)
    assert int((ids > 4).sum()) <= n_tokens and int((ids > 4).sum()) > n_tokens - 4 * len(docs)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=1, max_len=24, dropout=0.0))
    logged = []
    history = bert.train_mlm(model, windows, steps=60, batch_size=32, lr=3e-3, warmup_steps=5, log_every=20,
                             log=lambda *a: logged.append(a))
    assert len(history) == 3 and history[-1] < history[0] - 0.5 and not model.training
    assert [a[0] for a in logged] == [20, 40, 60] and logged[-1][2] < 1e-5  # cosine decay ends near 0
    path = tmp_path / "b.pt"
    bert.save_checkpoint(path, model, vocab)
    again, vocab2, _ = bert.load_checkpoint(path)
    assert isinstance(vocab2, bert.SubwordVocabulary) and vocab2.tokens == vocab.tokens
    assert bert.fill_mask(again, vocab2, "the fire [MASK] the town", k=3)[0][0] in vocab.tokens


def test_evaluate_mlm_and_neighbour_baselines_by_hand(subword):
    docs, vocab = subword
    windows = bert.text_windows(docs[:10], vocab, max_len=24, min_tokens=4)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=16, n_heads=2, d_ff=32, n_layers=1, max_len=24)).eval()
    scores = bert.evaluate_mlm(model, windows, seed=1, repeats=2, batch_size=7)
    assert scores.n_chosen == len(scores.kinds) == len(scores.contexts) == 2 * sum(
        max(1, round(0.15 * int((r > 4).sum()))) for r in windows.ids)
    assert scores.n_mask == int((scores.kinds == bert.TO_MASK).sum())
    assert math.isclose(scores.accuracy, float(scores.correct.float().mean()), rel_tol=1e-12)
    again = bert.evaluate_mlm(model, windows, seed=1, repeats=2, batch_size=7)  # the same seed, the same masks
    assert torch.equal(again.contexts, scores.contexts) and again.loss == scores.loss
    base = bert.neighbour_baselines(windows, scores)
    # by hand: counts of (left, word, right) over the same windows
    triples = collections.Counter()
    for row in windows.ids.tolist():
        row = [0] + row + [0]
        for j in range(1, len(row) - 1):
            if row[j] > 4:
                triples[(row[j - 1], row[j], row[j + 1])] += 1
    word_counts = collections.Counter(w for (_l, w, _r), c in triples.items() for _ in range(c))
    constant = max(word_counts, key=lambda w: (word_counts[w], -w))
    assert base["constant_token"] == constant
    ctx = scores.contexts[scores.kinds == bert.TO_MASK].tolist()
    assert math.isclose(base["constant"], sum(w == constant for _l, w, _r in ctx) / len(ctx), rel_tol=1e-12)
    for l, w, r in ctx[:20]:  # a seen (left, right) pair is answered with a word seen between them
        seen = {m for (a, m, b) in triples if a == l and b == r}
        if seen:
            assert base["two_neighbours"] >= 0 and w in seen | {w}
    assert base["two_neighbours"] >= base["constant"]


def test_fine_tune_cls_leaves_the_encoder_alone(subword):
    docs, vocab = subword
    torch.manual_seed(0)
    encoder = bert.Bert(bert.BertConfig(len(vocab), d_model=16, n_heads=2, d_ff=32, n_layers=1, max_len=32))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    texts = ["the fire spread near the town", "the minister said on tuesday"] * 8
    inputs = bert.encode_texts(texts, vocab, 32)
    labels = [0, 1] * 8
    clf = bert.fine_tune_cls(encoder, inputs, labels, steps=40, batch_size=8, lr=3e-3, seed=0)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    assert bert.cls_accuracy(clf, inputs, labels) == 1.0
    picked = bert.balanced_sample([0, 0, 0, 1, 1, 1, 1], 4, seed=0)
    assert len(picked) == 4 and sorted(i >= 3 for i in picked) == [False, False, True, True]
    with pytest.raises(ValueError, match="one label per input"):
        bert.fine_tune_cls(encoder, inputs, labels[:-1])


def test_source_task_is_balanced_and_fixed():
    task = bert.source_task()
    test_texts, test_labels = task["test"]
    assert 2 * sum(test_labels) == len(test_labels) > 100
    assert not set(test_texts) & set(task["train"][0])
    assert bert.source_task()["test"] == task["test"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_mask_probability_outside_0_1(p):
    ids = torch.full((1, 5), 9)
    with pytest.raises(ValueError, match=r"mask_prob must be (>|<) "):
        bert.mask_tokens(ids, bert.special_tokens_mask(ids), mask_id=3, vocab_size=20, mask_prob=p, generator=gen())


@pytest.mark.parametrize("split", [(0.8, 0.1, 0.2), (0.5, 0.2, 0.2), (1.0, 0.1, -0.1)])
def test_split_not_summing_to_one(split):
    ids = torch.full((1, 5), 9)
    with pytest.raises(ValueError, match=r"split(\[2\] must be >= 0| must sum to 1)"):
        bert.mask_tokens(ids, bert.special_tokens_mask(ids), mask_id=3, vocab_size=20, split=split, generator=gen())


def test_other_mask_arguments():
    ids = torch.full((1, 5), 9)
    with pytest.raises(TypeError, match="split must be three shares"):
        bert.mask_tokens(ids, bert.special_tokens_mask(ids), mask_id=3, vocab_size=20, split=(0.9, 0.1), generator=gen())
    with pytest.raises(TypeError, match="special_mask must be a boolean"):
        bert.mask_tokens(ids, ids, mask_id=3, vocab_size=20, generator=gen())
    with pytest.raises(ValueError, match=r"ids must have shape \(B, T\)"):
        bert.mask_tokens(ids[0], bert.special_tokens_mask(ids[0]), mask_id=3, vocab_size=20, generator=gen())
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        bert.mask_tokens(ids, bert.special_tokens_mask(ids), mask_id=3, vocab_size=20, generator=0)


def test_no_mask_in_sentence_and_unknown_layer(small):
    _docs, vocab, model = small
    with pytest.raises(ValueError, match=r"sentence must contain \[MASK\]"):
        bert.fill_mask(model, vocab, "no mask here")
    for layer in (3, -1, 99):
        with pytest.raises(ValueError, match=r"layer must be between 0 \(embeddings\) and 2"):
            bert.layer_states(model, vocab, "the fire", layer=layer)
    with pytest.raises(TypeError, match="layer must be an integer"):
        bert.layer_states(model, vocab, "the fire", layer="last")


def test_model_input_checks(small):
    _docs, _vocab, model = small
    long = torch.ones(1, 49, dtype=torch.long)
    with pytest.raises(ValueError, match="ids has length 49 but the model's max_len is 48"):
        model(long, torch.zeros_like(long))
    with pytest.raises(ValueError, match="segments must be a tensor of the ids' shape"):
        model(long[:, :5], torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="nsp_pairs|at least 2 documents"):
        bert.nsp_pairs([[["a"], ["b"]]], gen())


# --------------------------------------------------------------------------- options for the chapter's experiments

def test_nsp_false_trains_mlm_alone_and_still_measures_nsp():
    docs = bert.corpus_sentences(data.lee_documents()[:12])
    vocab = bert.bert_vocabulary([s for d in docs for s in d], min_count=1)
    config = bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=1, max_len=64, dropout=0.0)
    runs = {}
    for nsp in (True, False):
        torch.manual_seed(0)
        model = bert.Bert(config)
        runs[nsp] = (model, bert.train_bert(model, docs, vocab, epochs=2, batch_size=16, lr=3e-3, warmup_steps=5,
                                            seed=0, nsp=nsp))
    # without NSP the NSP head and pooler never move; with it they do
    torch.manual_seed(0)
    fresh = bert.Bert(config)
    assert torch.equal(runs[False][0].nsp_head.weight, fresh.nsp_head.weight)
    assert not torch.equal(runs[True][0].nsp_head.weight, fresh.nsp_head.weight)
    assert all(math.isfinite(v) for v in runs[False][1]["nsp"]) and len(runs[False][1]["nsp"]) == 2
    with pytest.raises(TypeError, match="nsp must be True"):
        bert.train_bert(fresh, docs, vocab, epochs=1, nsp="no")


def test_position_ids_can_be_given(small):
    _docs, vocab, model = small
    ids = torch.tensor([[1, 7, 8, 9, 2]])
    segments = torch.zeros_like(ids)
    default = model(ids, segments)
    assert torch.equal(model(ids, segments, positions=torch.arange(5)), default)
    # self-attention without position information is permutation-equivariant: move [CLS] to the end
    # with every token keeping its position id and [CLS]'s vector does not change
    moved, moved_positions = torch.tensor([[7, 8, 9, 2, 1]]), torch.tensor([1, 2, 3, 4, 0])
    out = model(moved, segments, positions=moved_positions)
    torch.testing.assert_close(out[0, 4], default[0, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="positions must have shape"):
        model(ids, segments, positions=torch.arange(4))
    with pytest.raises(ValueError, match="positions"):
        model(ids, segments, positions=torch.full((5,), model.config.max_len))
