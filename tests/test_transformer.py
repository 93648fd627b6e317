"""nlpcourse.transformer against torch: encoder and decoder layers (post-LN and pre-LN) with
copied weights, outputs and gradients; the model's masks, greedy decoding, training, bad input."""

import math

import pytest
import torch

from nlpcourse import attention as at
from nlpcourse import data
from nlpcourse import transformer as tf

F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)


def rand(*shape, dtype=torch.float64, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(grad)


def check_grads(out, ref, ours, theirs, inputs, tol, seed=7):
    upstream = rand(*out.shape, dtype=out.dtype, seed=seed)
    g_ours = torch.autograd.grad(out, [*inputs, *ours.parameters()], upstream)
    g_theirs = torch.autograd.grad(ref, [*inputs, *theirs.parameters()], upstream)
    assert len(g_ours) == len(g_theirs)
    for a, r in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, r, **tol)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "padding-mask"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_encoder_layer_equals_torch(norm_first, masked, dtype, tol):
    d, h, ff, b, t = 16, 4, 32, 3, 5
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, batch_first=True, norm_first=norm_first).to(dtype)
    ours = tf.EncoderLayer(d, h, ff, dropout=0.0, norm_first=norm_first).to(dtype)
    tf.load_torch_layer(ours, theirs)
    x = rand(b, t, d, dtype=dtype, grad=True)
    mask = at.padding_mask([5, 3, 1], t) if masked else None
    out = ours(x, mask)
    ref = theirs(x, src_key_padding_mask=None if mask is None else ~mask[:, 0, 0])
    # torch zeroes padded positions only on its inference fast path; in training mode it keeps them
    torch.testing.assert_close(out, ref, **tol)
    check_grads(out, ref, ours, theirs, [x], tol)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_decoder_layer_equals_torch(norm_first, dtype, tol):
    d, h, ff, b, ty, tx = 16, 2, 24, 2, 4, 6
    torch.manual_seed(1)
    theirs = torch.nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, batch_first=True, norm_first=norm_first).to(dtype)
    ours = tf.DecoderLayer(d, h, ff, dropout=0.0, norm_first=norm_first).to(dtype)
    tf.load_torch_layer(ours, theirs)
    y, memory = rand(b, ty, d, dtype=dtype, seed=1, grad=True), rand(b, tx, d, dtype=dtype, seed=2, grad=True)
    tgt_pad, src_pad = at.padding_mask([4, 2], ty), at.padding_mask([6, 3], tx)
    out = ours(y, memory, at.combine_masks(tgt_pad, at.causal_mask(ty)), src_pad)
    ref = theirs(y, memory, tgt_mask=~at.causal_mask(ty), tgt_key_padding_mask=~tgt_pad[:, 0, 0],
                 memory_key_padding_mask=~src_pad[:, 0, 0])
    torch.testing.assert_close(out, ref, **tol)
    check_grads(out, ref, ours, theirs, [y, memory], tol)


def test_feed_forward_is_positionwise_by_hand():
    ff = tf.PositionwiseFeedForward(3, 5).double()
    x = rand(2, 4, 3)
    by_hand = torch.relu(x @ ff.linear1.weight.T + ff.linear1.bias) @ ff.linear2.weight.T + ff.linear2.bias
    torch.testing.assert_close(ff(x), by_hand, **F64)
    torch.testing.assert_close(ff(x[:, 2:3]), ff(x)[:, 2:3], **F64)  # each position alone


def small_model(**overrides):
    torch.manual_seed(0)
    cfg = dict(src_vocab=11, tgt_vocab=9, d_model=16, n_heads=2, d_ff=32, n_encoder_layers=2,
               n_decoder_layers=2, dropout=0.0, max_len=10)
    cfg.update(overrides)
    return tf.Transformer(tf.TransformerConfig(**cfg)).double()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_padding_does_not_change_real_positions_and_decoder_is_causal(norm_first, positions):
    model = small_model(norm_first=norm_first, positions=positions).eval()
    src = torch.tensor([[3, 4, 5, 6]])
    tgt = torch.tensor([[1, 5, 6, 7]])
    base = model(src, tgt)
    padded = model(torch.tensor([[3, 4, 5, 6, 0, 0]]), tgt)
    torch.testing.assert_close(padded, base, **F64)  # extra <pad> source tokens are invisible
    changed = model(src, torch.tensor([[1, 5, 8, 3]]))
    torch.testing.assert_close(changed[:, :2], base[:, :2], **F64)  # future tokens are invisible
    assert not torch.allclose(changed[:, 2:], base[:, 2:])


def test_model_masks_by_hand():
    model = small_model()
    assert model.source_mask(torch.tensor([[4, 5, 0]])).tolist() == [[[[True, True, False]]]]
    m = model.target_mask(torch.tensor([[1, 5, 0]]))
    assert m[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, False]]


def test_greedy_decode_follows_the_argmax_by_hand():
    model = small_model().eval()
    src = torch.tensor([[3, 4, 5], [6, 7, 0]])
    bos, eos = 1, 2
    decoded = tf.greedy_decode(model, src, bos, eos, max_len=5)
    for row, hyp in zip(src, decoded):
        seq = [bos]
        while len(seq) <= 5:
            nxt = int(model(row[None], torch.tensor([seq]))[0, -1].argmax())
            seq.append(nxt)
            if nxt == eos:
                break
        expected = seq[1:-1] if seq[-1] == eos else seq[1:]
        assert hyp == expected


def test_training_learns_the_toy_task():
    pairs = data.spelled_numbers(600, seed=0, max_value=99)
    train = tf.encode_pairs(pairs)
    assert train.src_vocab.tokens[:3] == ("<pad>", "<bos>", "<eos>")
    torch.manual_seed(0)
    model = tf.Transformer(tf.TransformerConfig(len(train.src_vocab), len(train.tgt_vocab), d_model=32,
                                                n_heads=2, d_ff=64, n_encoder_layers=1, n_decoder_layers=1,
                                                dropout=0.0, max_len=8))
    before = tf.exact_match_accuracy(model, train)
    losses = tf.train_transformer(model, train, epochs=15, batch_size=32, lr=3e-3, warmup_steps=20, seed=0)
    assert losses[-1] < 0.2 * losses[0]
    assert before < 0.1 and tf.exact_match_accuracy(model, train) > 0.9


def test_attention_maps_shapes_and_rows_sum_to_one():
    model = small_model(n_heads=4)
    src, tgt = torch.tensor([[3, 4, 5, 0]]), torch.tensor([[1, 5, 6]])
    maps = tf.attention_maps(model, src, tgt)
    assert [m.shape for m in maps["encoder"]] == [(1, 4, 4, 4)] * 2
    assert [m.shape for m in maps["decoder_cross"]] == [(1, 4, 3, 4)] * 2
    for group in maps.values():
        for m in group:
            torch.testing.assert_close(m.sum(-1), torch.ones(m.shape[:-1], dtype=m.dtype), **F64)
    assert torch.all(maps["encoder"][0][..., 3] == 0)  # the <pad> key
    assert torch.all(maps["decoder_self"][0].triu(1) == 0)  # the future
    assert all(l.self_attn._recorder is None for l in model.encoder)  # recording switched off again


def test_bad_input():
    with pytest.raises(ValueError, match=r"d_model must be divisible by n_heads: got d_model=10, n_heads=4"):
        tf.EncoderLayer(10, 4, 20)
    model = small_model()
    with pytest.raises(ValueError, match=r"src has length 11 but the model's max_len is 10"):
        model(torch.ones(1, 11, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tgt ids must lie in \[0, 9\), got values in \[1, 9\]"):
        model(torch.ones(1, 3, dtype=torch.long), torch.tensor([[1, 9]]))
    with pytest.raises(TypeError, match=r"src must be an integer tensor of token ids, got torch.float32"):
        model(torch.ones(1, 3), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"positions must be one of 'sinusoidal', 'learned'; got 'rotary'"):
        small_model(positions="rotary")
    with pytest.raises(ValueError, match=r"max_len \+ 1 \(for <bos>\) must be <= the model's max_len=10, got 10"):
        tf.greedy_decode(model, torch.ones(1, 3, dtype=torch.long), 1, 2, max_len=10)
    with pytest.raises(ValueError, match=r"pairs is empty"):
        tf.encode_pairs([])
    with pytest.raises(TypeError, match=r"layer must be an EncoderLayer or DecoderLayer, got Linear"):
        tf.load_torch_layer(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    train = tf.encode_pairs(data.spelled_numbers(4))
    with pytest.raises(ValueError, match=r"epochs must be >= 1, got 0"):
        tf.train_transformer(small_model(), train, epochs=0)
    with pytest.raises(ValueError, match=r"schedule must be one of 'constant', 'cosine'; got 'linear'"):
        tf.train_transformer(small_model(), train, schedule="linear")
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0"):
        tf.train_transformer(small_model(), train, weight_decay=-0.1)


def test_cosine_schedule_decays_the_rate_to_zero_over_the_run(monkeypatch):
    """The rate the optimiser used at every step: warm-up, then the cosine down to 0 at the end."""
    seen = []
    original_step = torch.optim.AdamW.step

    def recording_step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording_step)
    train = tf.encode_pairs(data.spelled_numbers(40, seed=0, max_value=99))
    model = small_model(src_vocab=len(train.src_vocab), tgt_vocab=len(train.tgt_vocab)).float()
    tf.train_transformer(model, train, epochs=3, batch_size=8, lr=1e-2, warmup_steps=3, schedule="cosine")
    total = 3 * 5
    assert len(seen) == total
    assert seen[:3] == pytest.approx([0.25e-2, 0.5e-2, 0.75e-2])
    assert seen[3] == pytest.approx(1e-2) and seen == sorted(seen[:4]) + sorted(seen[4:], reverse=True)
    assert seen[-1] == pytest.approx(1e-2 * 0.5 * (1 + math.cos(math.pi * 11 / 12)))


# --------------------------------------------------------------------------- is_causal and the fused path

@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("fused", [False, True], ids=["course", "fused"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_encoder_layer_is_causal_equals_torch(norm_first, fused, dtype, tol):
    d, h, ff, b, t = 16, 4, 32, 3, 5
    torch.manual_seed(2)
    theirs = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, batch_first=True, norm_first=norm_first).to(dtype)
    ours = tf.EncoderLayer(d, h, ff, dropout=0.0, norm_first=norm_first, fused=fused).to(dtype)
    tf.load_torch_layer(ours, theirs)
    assert ours.self_attn.fused == fused
    x = rand(b, t, d, dtype=dtype, grad=True)
    pad = at.padding_mask([5, 3, 1], t)
    out = ours(x, pad, is_causal=True)
    torch.testing.assert_close(out, ours(x, at.combine_masks(pad, at.causal_mask(t))), **tol)
    ref = theirs(x, src_mask=~at.causal_mask(t), src_key_padding_mask=~pad[:, 0, 0])
    torch.testing.assert_close(out, ref, **tol)
    check_grads(out, ref, ours, theirs, [x], tol)


@pytest.mark.parametrize("fused", [False, True], ids=["course", "fused"])
def test_decoder_layer_is_causal_equals_the_combined_mask(fused):
    d, h, ff, b, ty, tx = 16, 2, 24, 2, 4, 6
    torch.manual_seed(1)
    theirs = torch.nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, batch_first=True)
    theirs.double()
    ours = tf.DecoderLayer(d, h, ff, dropout=0.0, fused=fused).double()
    tf.load_torch_layer(ours, theirs)
    y, memory = rand(b, ty, d, seed=1, grad=True), rand(b, tx, d, seed=2, grad=True)
    tgt_pad, src_pad = at.padding_mask([4, 2], ty), at.padding_mask([6, 3], tx)
    out = ours(y, memory, tgt_pad, src_pad, is_causal=True)
    ref = theirs(y, memory, tgt_mask=~at.causal_mask(ty), tgt_key_padding_mask=~tgt_pad[:, 0, 0],
                 memory_key_padding_mask=~src_pad[:, 0, 0])
    torch.testing.assert_close(out, ref, **F64)
    check_grads(out, ref, ours, theirs, [y, memory], F64)


# --------------------------------------------------------------------------- chapter 08's checkpoint

def test_translation_loss_is_the_mean_cross_entropy_over_target_tokens():
    train = tf.encode_pairs(data.spelled_numbers(20, seed=0, max_value=99))
    torch.manual_seed(0)
    model = tf.Transformer(tf.TransformerConfig(len(train.src_vocab), len(train.tgt_vocab), d_model=16, n_heads=2,
                                                d_ff=32, n_encoder_layers=1, n_decoder_layers=1, dropout=0.3,
                                                max_len=8))
    model.train()
    loss = tf.translation_loss(model, train, batch_size=7)  # batches of 7: the mean is over tokens, not batches
    assert model.training  # the mode is restored
    model.eval()
    with torch.no_grad():
        logits = model(train.src, train.tgt[:, :-1])
    by_hand = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), train.tgt[:, 1:].reshape(-1),
                                                ignore_index=0)
    assert loss == pytest.approx(by_hand.item(), rel=1e-5)
    with pytest.raises(TypeError, match="model must be a Transformer"):
        tf.translation_loss("model", train)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        tf.translation_loss(model, train, batch_size=0)


def test_checkpoint_round_trip_is_float16_of_the_weights(tmp_path):
    model = small_model()
    size = tf.save_checkpoint(model, tmp_path / "m.pt", test_loss=0.5, tokens=["a", "b"])
    loaded, meta = tf.load_checkpoint(tmp_path / "m.pt")
    assert meta == {"test_loss": 0.5, "tokens": ["a", "b"]} and size > 0
    assert loaded.config == model.config and not loaded.training
    for (name, a), (_n, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(b, a.half().float(), rtol=0, atol=0, msg=name)
    with pytest.raises(FileNotFoundError, match="make_checkpoint_08.py"):
        tf.load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(TypeError, match="model must be a Transformer"):
        tf.save_checkpoint("model", tmp_path / "x.pt")


#: The scores of data/checkpoints/08_transformer.pt stated in data/README.md (from its stored float16 weights).
STATED_TEST_LOSS, STATED_EXACT_MATCH, HELD_OUT = 0.083290, 613, 627


def test_committed_checkpoint_reproduces_its_stated_scores():
    from nlpcourse import seq2seq

    model, meta = tf.load_checkpoint(data.DATA_DIR / "checkpoints" / "08_transformer.pt")
    split = meta["data"]
    train_pairs, test_pairs = seq2seq.split_pairs(data.spelled_numbers(split["n_pairs"], seed=split["seed"]),
                                                  test_fraction=split["test_fraction"], seed=split["seed"])
    train = tf.encode_pairs(train_pairs)
    test = tf.encode_pairs(test_pairs, train.src_vocab, train.tgt_vocab)
    assert list(train.src_vocab.tokens) == meta["src_tokens"] and list(train.tgt_vocab.tokens) == meta["tgt_tokens"]
    assert len(test_pairs) == HELD_OUT and meta["train"]["epochs"] == len(meta["train_losses"]) == 18
    loss = tf.translation_loss(model, test)
    assert loss == pytest.approx(STATED_TEST_LOSS, rel=1e-4) and loss == pytest.approx(meta["test_loss"], rel=1e-6)
    accuracy = tf.exact_match_accuracy(model, test)
    assert abs(accuracy * HELD_OUT - STATED_EXACT_MATCH) <= 2  # a borderline number may flip on another CPU
    assert accuracy == pytest.approx(meta["test_exact_match"], abs=2 / HELD_OUT)
    readme = (data.DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "08_transformer.pt" in readme and f"{STATED_TEST_LOSS:.4f}" in readme
