"""nlpcourse.gpt: the pre-LN causal block against torch's TransformerEncoderLayer (outputs and
gradients), causality and tied weights of the whole model, sampling (seeded, greedy, top-k,
temperature), training, the bigram baseline, the checkpoints and every bad-input error."""

import math

import pytest
import torch

from nlpcourse import attention as at
from nlpcourse import gpt
from nlpcourse import transformer as tf

F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Tiny models run fastest on one thread on a shared machine; restore the count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rand(*shape, dtype=torch.float64, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(grad)


def small_gpt(**overrides):
    torch.manual_seed(0)
    cfg = dict(vocab_size=23, context=8, d_model=16, n_heads=4, n_layers=2, d_ff=32, dropout=0.0)
    cfg.update(overrides)
    return gpt.GPT(gpt.GPTConfig(**cfg))


# --------------------------------------------------------------------------- the block and the model

@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_causal_pre_ln_gelu_block_equals_torch(dtype, tol):
    d, h, ff, b, t = 16, 4, 32, 3, 7
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation="gelu", batch_first=True,
                                              norm_first=True).to(dtype)
    model = small_gpt(d_model=d, n_heads=h, d_ff=ff, context=t)
    ours = model.blocks[0].to(dtype)  # the very block the GPT runs
    tf.load_torch_layer(ours, theirs)
    x = rand(b, t, d, dtype=dtype, grad=True)
    out = ours(x, model.mask[:t, :t])
    ref = theirs(x, src_mask=~at.causal_mask(t))  # torch's boolean convention: True = may not attend
    torch.testing.assert_close(out, ref, **tol)
    upstream = rand(b, t, d, dtype=dtype, seed=7)
    g_ours = torch.autograd.grad(out, [x, *ours.parameters()], upstream)
    g_theirs = torch.autograd.grad(ref, [x, *theirs.parameters()], upstream)
    assert len(g_ours) == len(g_theirs) == 1 + 12
    for a, r in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, r, **tol)


def test_block_is_chapter_08_encoder_layer_pre_ln_gelu():
    model = small_gpt()
    for block in model.blocks:
        assert type(block) is tf.EncoderLayer and block.norm_first
        assert block.feed_forward.activation is torch.nn.functional.gelu


@pytest.mark.parametrize("dtype,tol", [(torch.float64, F64), (torch.float32, F32)])
def test_fused_path_equals_the_course_path(dtype, tol):
    fused, course = small_gpt(fused=True).to(dtype), small_gpt(fused=False).to(dtype)
    course.load_state_dict(fused.state_dict())
    assert (fused.attention_path, course.attention_path) == ("fused", "course")
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]])
    out_f, out_c = fused(ids), course(ids)
    torch.testing.assert_close(out_f, out_c, **tol)
    if dtype == torch.float32:
        return  # float32 gradients of the tied matrix sum thousands of terms: rounding reaches ~4e-6
    upstream = rand(*out_f.shape, dtype=dtype, seed=3)
    for a, b in zip(torch.autograd.grad(out_f, list(fused.parameters()), upstream),
                    torch.autograd.grad(out_c, list(course.parameters()), upstream)):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "course"])
def test_whole_model_is_causal(fused):
    model = small_gpt(fused=fused).double()
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    base = model(ids)
    for t in range(ids.shape[1]):
        changed = ids.clone()
        changed[0, t] = (changed[0, t] + 7) % 23
        out = model(changed)
        torch.testing.assert_close(out[:, :t], base[:, :t], **F64)  # nothing before t moves
        assert (out[:, t] - base[:, t]).abs().max() > 1e-6  # position t itself does


def test_forward_by_hand_and_shapes():
    model = small_gpt().double()
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    x = model.token_embedding(ids) + model.position_embedding.weight[:3]
    for block in model.blocks:
        x = block(x, at.causal_mask(3))
    by_hand = model.final_norm(x) @ model.token_embedding.weight.T
    logits = model(ids)
    assert logits.shape == (2, 3, 23)
    torch.testing.assert_close(logits, by_hand, **F64)


def test_output_layer_is_tied_to_the_token_embedding():
    model = small_gpt()
    assert model.head.weight is model.token_embedding.weight
    names = [name for name, _p in model.named_parameters()]
    assert "head.weight" not in names  # counted once
    with torch.no_grad():
        model.token_embedding.weight[5] += 1.0
    assert torch.equal(model.head.weight[5], model.token_embedding.weight[5])
    loss = model(torch.tensor([[1, 2, 3]]))[0, -1, 5]
    loss.backward()  # the output layer's gradient lands in the shared matrix
    assert model.token_embedding.weight.grad[5].abs().sum() > 0


# --------------------------------------------------------------------------- sampling

def test_generation_is_deterministic_with_a_seed():
    model = small_gpt()
    runs = [gpt.generate(model, [1, 2], 20, generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) == 22 and runs[0][:2] == [1, 2]
    other = gpt.generate(model, [1, 2], 20, generator=torch.Generator().manual_seed(4))
    assert other != runs[0]


def test_greedy_is_argmax_and_top_k_one_is_greedy():
    model = small_gpt()
    greedy = gpt.generate(model, [5], 12, greedy=True)
    by_hand = [5]
    with torch.no_grad():
        for _ in range(12):
            by_hand.append(int(model(torch.tensor([by_hand[-8:]]))[0, -1].argmax()))
    assert greedy == by_hand
    top1 = gpt.generate(model, [5], 12, top_k=1, temperature=2.0, generator=torch.Generator().manual_seed(0))
    assert top1 == greedy


def test_small_temperature_approaches_greedy():
    model = small_gpt()
    probs = {t: gpt.next_token_distribution(model, [5, 6], t) for t in (1.0, 1e-2, 1e-4)}
    best = int(probs[1.0].argmax())
    assert probs[1.0][best] < probs[1e-2][best] < probs[1e-4][best]
    assert probs[1e-4][best] > 0.999
    cold = gpt.generate(model, [5], 12, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert cold == gpt.generate(model, [5], 12, greedy=True)


def test_next_token_distribution_matches_softmax_with_top_k():
    model = small_gpt().double()
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3]]))[0, -1]
    kept = torch.topk(logits, 4).indices
    expected = torch.zeros_like(logits)
    expected[kept] = torch.softmax(logits[kept] / 0.7, -1)
    probs = gpt.next_token_distribution(model, [1, 2, 3], 0.7, top_k=4)
    torch.testing.assert_close(probs, expected, **F64)
    torch.testing.assert_close(gpt.next_token_distribution(model, [1, 2, 3], 1.0, top_k=23),
                               torch.softmax(logits, -1), **F64)


def test_sampling_frequencies_follow_the_distribution():
    model = small_gpt()
    probs = gpt.next_token_distribution(model, [1], 1.5, top_k=3)
    g = torch.Generator().manual_seed(0)
    draws = [gpt.generate(model, [1], 1, temperature=1.5, top_k=3, generator=g)[-1] for _ in range(300)]
    freq = torch.bincount(torch.tensor(draws), minlength=23).double() / 300
    assert set(draws) <= set(torch.nonzero(probs).flatten().tolist())
    assert (freq - probs.double()).abs().max() < 0.09  # about 3 standard errors at n = 300


def test_long_prompt_is_refused_or_cropped_to_the_last_context_tokens():
    model = small_gpt()
    prompt = list(range(12))
    with pytest.raises(ValueError, match=r"prompt has 12 tokens but the model's context is 8.*truncate=True"):
        gpt.generate(model, prompt, 3, greedy=True)
    cropped = gpt.generate(model, prompt, 3, greedy=True, truncate=True)
    assert cropped[:8] == prompt[-8:]
    assert cropped == gpt.generate(model, prompt[-8:], 3, greedy=True)
    torch.testing.assert_close(gpt.next_token_distribution(model, prompt, truncate=True),
                               gpt.next_token_distribution(model, prompt[-8:]))


def test_generation_past_the_context_uses_a_sliding_window():
    model = small_gpt()
    out = gpt.generate(model, [1, 2, 3], 20, greedy=True)
    assert len(out) == 23
    with torch.no_grad():
        assert out[-1] == int(model(torch.tensor([out[-9:-1]]))[0, -1].argmax())


# --------------------------------------------------------------------------- training and baseline

def test_training_lowers_loss_on_a_repeating_stream():
    torch.manual_seed(0)
    stream = torch.tensor([0, 1, 2, 3, 4, 5, 6] * 60)
    model = small_gpt(vocab_size=7)
    log = gpt.train_gpt(model, stream, stream, steps=60, batch_size=8, lr=1e-2, eval_every=20, warmup_steps=5)
    assert log.steps == [0, 20, 40, 60] and len(log.train_loss) == len(log.valid_loss) == 4
    assert log.valid_loss[0] > math.log(7) - 0.3 and log.valid_loss[-1] < 0.1
    assert log.tokens_seen == 60 * 8 * 8
    assert gpt.generate(model, [3], 6, greedy=True) == [3, 4, 5, 6, 0, 1, 2]


def test_random_windows_are_shifted_targets():
    stream = torch.arange(100)
    x, y = gpt.random_windows(stream, 5, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)


def test_evaluate_loss_by_hand():
    model = small_gpt().double()
    stream = torch.arange(20) % 23
    loss = gpt.evaluate_loss(model, stream, batch_size=1)
    with torch.no_grad():
        x, y = stream[:16].view(2, 8), stream[1:17].view(2, 8)
        by_hand = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    assert loss == pytest.approx(float(by_hand), rel=1e-10)


def test_bigram_counts_add_one_and_loss_by_hand():
    bigram = gpt.BigramModel(3).fit([0, 1, 0, 1, 2])
    # counts: 0->1 twice, 1->0 once, 1->2 once
    expected = torch.tensor([[1, 3, 1], [2, 1, 2], [1, 1, 1]], dtype=torch.float64)
    expected /= expected.sum(1, keepdim=True)
    torch.testing.assert_close(bigram.probabilities, expected, **F64)
    by_hand = -(math.log(3 / 5) + math.log(2 / 5) + math.log(3 / 5) + math.log(2 / 5)) / 4
    assert bigram.loss([0, 1, 0, 1, 2]) == pytest.approx(by_hand, rel=1e-12)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert bigram.generate([0], 10, generator=g1) == bigram.generate([0], 10, generator=g2)


# --------------------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip_is_float16_of_the_weights(tmp_path):
    model = small_gpt()
    size = gpt.save_checkpoint(model, tmp_path / "m.pt", valid_loss=1.5)
    loaded, meta = gpt.load_checkpoint(tmp_path / "m.pt")
    assert meta == {"valid_loss": 1.5} and size > 0
    assert loaded.head.weight is loaded.token_embedding.weight
    for (name, a), (_n, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(b, a.half().float(), rtol=0, atol=0, msg=name)


def test_missing_checkpoint_names_the_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_checkpoint_09c.py"):
        gpt.load_checkpoint(tmp_path / "none.pt")


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    model = small_gpt()
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        gpt.generate(model, [1], 2, temperature=temperature)
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        gpt.next_token_distribution(model, [1], temperature)


@pytest.mark.parametrize("top_k,message", [(0, r"top_k must be >= 1, got 0"), (24, r"top_k must be <= 23, got 24")])
def test_top_k_between_one_and_the_vocabulary(top_k, message):
    model = small_gpt()
    with pytest.raises(ValueError, match=message):
        gpt.generate(model, [1], 2, top_k=top_k)
    with pytest.raises(ValueError, match=message):
        gpt.next_token_distribution(model, [1], top_k=top_k)


def test_empty_prompt_is_an_error():
    model = small_gpt()
    with pytest.raises(ValueError, match="prompt encoded to zero tokens"):
        gpt.generate(model, [], 2)
    with pytest.raises(ValueError, match="prompt encoded to zero tokens"):
        gpt.next_token_distribution(model, torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="prompt encoded to zero tokens"):
        gpt.BigramModel(3).generate([], 2)


def test_bad_ids_are_errors():
    model = small_gpt()
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 23\).*got values in \[1, 23\]"):
        gpt.generate(model, [1, 23], 2)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 23\).*\[-1, 1\]"):
        model(torch.tensor([[1, -1]]))
    with pytest.raises(TypeError, match="ids must be an integer tensor of token ids, got torch.float32"):
        model(torch.zeros(1, 3))
    with pytest.raises(TypeError, match="ids must be token ids"):
        gpt.generate(model, "hello", 2)
    with pytest.raises(TypeError, match=r"ids\[1\] must be an integer"):
        gpt.generate(model, [1, 2.5], 2)
    with pytest.raises(ValueError, match=r"ids has 9 tokens but the model's context is 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"ids must have shape \(B, T\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"ids must be one prompt"):
        gpt.generate(model, torch.zeros(2, 3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 3\)"):
        gpt.BigramModel(3).fit([0, 3])


def test_bad_config_and_training_arguments():
    with pytest.raises(ValueError, match="d_model must be divisible by n_heads"):
        small_gpt(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="vocab_size must be >= 2"):
        small_gpt(vocab_size=1)
    model = small_gpt()
    with pytest.raises(ValueError, match=r"train_ids must hold at least 9 tokens \(context \+ 1\), got 5"):
        gpt.train_gpt(model, [1, 2, 3, 4, 5], list(range(20)), steps=1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        gpt.train_gpt(model, list(range(20)), list(range(20)), steps=0)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        gpt.generate(model, [1], -1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        gpt.generate(model, [1], 1, generator=0)


# --------------------------------------------------------------------------- stopping and scoring prompts

def test_generation_stops_after_a_stop_token():
    model = small_gpt()
    free = gpt.generate(model, [1], 15, greedy=True)
    stop = free[4]
    cut = gpt.generate(model, [1], 15, greedy=True, stop_ids=[stop])
    first = free.index(stop, 1)
    assert cut == free[: first + 1]


class _ByteTokenizer:
    """Bytes as tokens (ids 0..22 are enough for the test's letters shifted into range)."""

    def encode(self, text):
        return [ord(c) - 97 if c != "\n" else 22 for c in text]

    def decode(self, ids):
        return "".join("\n" if i == 22 else chr(97 + i) for i in ids)


def test_score_prompts_compares_the_greedy_line_with_the_answer():
    model, tok = small_gpt(), _ByteTokenizer()
    prompt = "abc"
    greedy = gpt.generate(model, tok.encode(prompt), 6, greedy=True, stop_ids=[22])
    line = tok.decode(greedy[3:]).split("\n")[0]
    wrong = "q" if line != "q" else "r"
    assert gpt.score_prompts(model, tok, [(prompt, line), (prompt, wrong)], max_new_tokens=6) == [True, False]


def test_complete_prompts_returns_the_greedy_text_up_to_the_newline():
    model, tok = small_gpt(), _ByteTokenizer()
    greedy = gpt.generate(model, tok.encode("abc"), 6, greedy=True, stop_ids=[22])
    assert gpt.complete_prompts(model, tok, ["abc"], max_new_tokens=6) == [tok.decode(greedy[3:])]
    long_prompt = "ab" * 20  # longer than the context: its last tokens are kept
    cropped = gpt.generate(model, tok.encode(long_prompt)[-model.config.context:], 4, greedy=True, stop_ids=[22])
    assert gpt.complete_prompts(model, tok, [long_prompt], max_new_tokens=4) == [tok.decode(cropped[model.config.context:])]
    with pytest.raises(TypeError, match="prompts must be a sequence of str, got one str"):
        gpt.complete_prompts(model, tok, "abc")


# --------------------------------------------------------------------------- the committed checkpoints

#: Held-out losses stated in data/README.md (nats per token, the first 32768 // context windows).
STATED_VALID_LOSS = {"lm": 3.890469, "icl": 4.528584}
#: The add-one bigram's held-out loss on the same tokens, stored in the language model's meta (issue 23's baseline).
STATED_BIGRAM_LOSS = 4.710762


@pytest.fixture(scope="module")
def held_out_ids():
    from nlpcourse import data, prompts, tokenize

    return torch.tensor(tokenize.gpt_bpe_tokenizer().encode("\n\n".join(data.english_lm_split()[1])))


@pytest.mark.parametrize("name", ["lm", "icl"])
def test_checkpoint_reproduces_its_stated_validation_loss(name, held_out_ids):
    import hashlib

    from nlpcourse import data, prompts, tokenize

    model, meta = gpt.load_checkpoint(data.DATA_DIR / "checkpoints" / f"09c_gpt_{name}.pt")
    assert meta["merges_sha256"] == hashlib.sha256(tokenize.GPT_BPE_MERGES.read_bytes()).hexdigest(), \
        "the merges changed since the checkpoint was trained: re-run scripts/make_checkpoint_09c.py"
    assert meta["valid_windows"] == 32768 // model.config.context
    loss = gpt.evaluate_loss(model, held_out_ids, max_windows=meta["valid_windows"])
    assert loss == pytest.approx(STATED_VALID_LOSS[name], rel=1e-4)
    assert loss == pytest.approx(meta["valid_loss"], rel=1e-6)
    readme = (data.DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert f"09c_gpt_{name}.pt" in readme and f"{STATED_VALID_LOSS[name]:.4f}" in readme


def test_language_model_checkpoint_is_0_8_nats_below_the_bigram(held_out_ids):
    from nlpcourse import data, prompts, tokenize

    model, meta = gpt.load_checkpoint(data.DATA_DIR / "checkpoints" / "09c_gpt_lm.pt")
    assert meta["bigram_valid_loss"] == pytest.approx(STATED_BIGRAM_LOSS, abs=1e-6)
    loss = gpt.evaluate_loss(model, held_out_ids, max_windows=meta["valid_windows"])
    assert loss < meta["bigram_valid_loss"] - 0.8
    assert (data.DATA_DIR / "checkpoints" / "09c_gpt_lm.pt").stat().st_size <= 3_500_000


def test_checkpoints_fit_the_chapter_budget():
    from nlpcourse import data, prompts, tokenize

    folder = data.DATA_DIR / "checkpoints"
    sizes = [(folder / n).stat().st_size for n in ("09c_gpt_lm.pt", "09c_gpt_icl.pt", "09c_bpe_merges.json")]
    assert sum(sizes) <= 4_000_000


def test_in_context_checkpoint_reproduces_its_stored_item_results():
    from nlpcourse import data, prompts, tokenize

    model, meta = gpt.load_checkpoint(data.DATA_DIR / "checkpoints" / "09c_gpt_icl.pt")
    tokenizer = tokenize.gpt_bpe_tokenizer()
    for task, k in [("translate", 1), ("qa", 4)]:
        pairs = prompts.prompt_eval_set(task, meta["icl_items"], k, seed=meta["icl_seed"])[:6]
        assert gpt.score_prompts(model, tokenizer, pairs) == meta["icl_results"][task][k][:6]


# --------------------------------------------------------------------------- the next-token explorer (no display)

def test_next_token_explorer_shows_the_distribution_and_reports_bad_prompts():
    from nlpcourse import tokenize, widgets

    tokenizer = tokenize.gpt_bpe_tokenizer()
    model = small_gpt(vocab_size=tokenizer.vocab_size, context=8)
    box = widgets.next_token_explorer(model, tokenizer, "The cat", continuation=4, seed=3)
    probs = gpt.next_token_distribution(model, tokenizer.encode("The cat"), 1.0)
    assert box.result.pairs[0][1] == pytest.approx(float(probs.max()), rel=1e-6) and len(box.result.pairs) == 10
    again = gpt.generate(model, tokenizer.encode("The cat"), 4, generator=torch.Generator().manual_seed(3))
    assert box.result.continuation == tokenizer.decode(again[-4:])  # a fixed seed per draw
    box.controls["top_k"].value = 1
    assert [p for _t, p in box.result.pairs] == [1.0]
    box.controls["prompt"].value = ""
    assert box.result.pairs == [] and "zero tokens" in box.result.message
    box.controls["prompt"].value = "one two three four five six seven eight nine ten"
    assert "cropped to its last 8 tokens" in box.result.message and box.result.pairs
