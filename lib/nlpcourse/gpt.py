"""GPT (chapter 09c): a decoder-only Transformer language model, sampling, training, a bigram
baseline.

The model is chapter 08's pre-LN ``EncoderLayer`` (``norm_first=True``, GELU feed-forward) under
a causal (sequence) mask: a "decoder-only" block is an encoder block that may not look ahead,
because there is no encoder to cross-attend to. Token + learned position embeddings go in, a
final LayerNorm and an output layer tied to the token embedding come out (as in GPT-2).

Prompts longer than the context are refused unless ``truncate=True`` asks to keep the last
``context`` tokens (COURSE.md's policy); while generating, the model always conditions on the
last ``context`` tokens of what it has written so far (a sliding window).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from nlpcourse import _checkpoints, activations
from nlpcourse._checks import check_float, check_instance, check_ids, check_int
from nlpcourse.attention import causal_mask
from nlpcourse.optim import warmup_cosine
from nlpcourse.prompts import score_completion
from nlpcourse.transformer import EncoderLayer

__all__ = [
    "GPTConfig",
    "GPT",
    "as_prompt",
    "next_token_distribution",
    "generate",
    "score_prompts",
    "random_windows",
    "evaluate_loss",
    "TrainingLog",
    "train_gpt",
    "BigramModel",
    "save_checkpoint",
    "load_checkpoint",
]


@dataclass
class GPTConfig:
    """Sizes of a small GPT; the defaults train on a few hundred thousand tokens in minutes."""

    vocab_size: int = 512
    context: int = 64
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.0
    # attention by torch's SDPA kernel (chapter 08 tests it equals ours); False: the course path
    fused: bool = True

    def __post_init__(self) -> None:
        """Every size checked here, once: a bad value is refused when the config is made."""
        check_int("vocab_size", self.vocab_size, minimum=2)
        for name in ("context", "d_model", "n_heads", "n_layers", "d_ff"):
            check_int(name, getattr(self, name), minimum=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads: got d_model={self.d_model}, "
                             f"n_heads={self.n_heads}")
        check_float("dropout", self.dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
        if not isinstance(self.fused, bool):
            raise TypeError(f"fused must be True or False, got {self.fused!r}")


class GPT(nn.Module):
    """Decoder-only Transformer: ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        c = replace(config)  # a checked copy: fields changed after construction are checked again
        self.config = c
        self.token_embedding = nn.Embedding(c.vocab_size, c.d_model)
        self.position_embedding = nn.Embedding(c.context, c.d_model)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(EncoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout,
                                                 norm_first=True,
                                                 activation="gelu", fused=c.fused)
                                    for _ in range(c.n_layers))
        self.final_norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight  # tied: one matrix reads and writes tokens
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.02)
        self.register_buffer("mask", causal_mask(c.context), persistent=False)  # (context, context)

    @property
    def attention_path(self) -> str:
        """Which attention the blocks run: "fused" (torch SDPA) or "course" (chapter 08's own)."""
        return "fused" if self.config.fused else "course"

    def check_ids(self, ids: object, name: str = "ids") -> Tensor:
        """Return ``ids`` if it is an integer (B, T) tensor with 1 <= T <= context and ids in the
        vocabulary."""
        if not isinstance(ids, Tensor) or ids.dtype not in (torch.int64, torch.int32):
            got = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
            raise TypeError(f"{name} must be an integer tensor of token ids, got {got}")
        if ids.dim() != 2 or ids.shape[1] == 0:
            raise ValueError(f"{name} must have shape (B, T) with T >= 1, got {tuple(ids.shape)}")
        if ids.shape[1] > self.config.context:
            raise ValueError(f"{name} has {ids.shape[1]} tokens but the model's context is "
                             f"{self.config.context}; crop it to the last {self.config.context} "
                             "tokens")
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= self.config.vocab_size:
            raise ValueError(f"{name} must lie in [0, {self.config.vocab_size}) (the vocabulary), "
                             f"got values in [{low}, {high}]")
        return ids

    def forward(self, ids: Tensor) -> Tensor:
        """ids (B, T) -> logits (B, T, V); position t sees tokens 0..t only."""
        self.check_ids(ids)
        t = ids.shape[1]
        positions = torch.arange(t, device=ids.device)
        # (B, T, d)
        x = self.dropout(self.token_embedding(ids) + self.position_embedding(positions))
        for block in self.blocks:
            if self.config.fused:
                x = block(x, None, is_causal=True)  # SDPA builds the causal mask itself
            else:
                # (B, T, d), mask (T, T) broadcasts over B and heads
                x = block(x, self.mask[:t, :t])
        return self.head(self.final_norm(x))  # (B, T, V)


# --------------------------------------------------------------------------- sampling

def as_prompt(model: GPT, ids: Sequence[int] | Tensor, *, truncate: bool = False) -> Tensor:
    """A prompt (list of ids, or a 1-D / (1, T) tensor) as a checked (1, T) tensor.

    A prompt longer than the context is an error unless ``truncate=True``, which keeps its
    last ``context`` tokens.
    """
    check_instance("model", model, GPT, "a GPT")
    if isinstance(ids, Tensor):
        if ids.dim() == 1:
            ids = ids[None]
        if ids.dim() != 2 or ids.shape[0] != 1:
            raise ValueError("ids must be one prompt: a 1-D tensor or shape (1, T), got "
                             f"{tuple(ids.shape)}")
    else:
        if isinstance(ids, (str, bytes)):
            raise TypeError("ids must be token ids (ints), got a str; encode the text with the "
                            "tokenizer first")
        if not hasattr(ids, "__iter__"):
            raise TypeError(f"ids must be a sequence of token ids (ints), got {type(ids).__name__}")
        ids = [check_int(f"ids[{i}]", x) for i, x in enumerate(ids)]
        ids = torch.tensor([ids], dtype=torch.long).reshape(1, len(ids))
    if ids.shape[1] == 0:
        raise ValueError("ids must hold at least one token; the prompt encoded to zero tokens")
    context = model.config.context
    if ids.shape[1] > context:
        if not truncate:
            raise ValueError(f"the prompt has {ids.shape[1]} tokens but the model's context is "
                             f"{context}; shorten it or pass truncate=True to keep its last "
                             f"{context} tokens")
        ids = ids[:, -context:]
    return model.check_ids(ids)


def _check_sampling(model: GPT, temperature: float, top_k: int | None) -> tuple[float, int | None]:
    temperature = check_float("temperature", temperature, minimum=0.0, min_inclusive=False)
    if top_k is not None:
        top_k = check_int("top_k", top_k, minimum=1, maximum=model.config.vocab_size)
    return temperature, top_k


def _distribution(logits: Tensor, temperature: float, top_k: int | None) -> Tensor:
    """Last-position logits (B, V) -> probabilities (B, V): keep the top k, softmax at the
    temperature."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return activations.softmax(logits, temperature)  # chapter 04's softmax with temperature


@torch.no_grad()
def next_token_distribution(model: GPT, ids: Sequence[int] | Tensor, temperature: float = 1.0,
                            top_k: int | None = None, *, truncate: bool = False) -> Tensor:
    """P(next token | prompt) as a (V,) float tensor, after top-k filtering and temperature."""
    check_instance("model", model, GPT, "a GPT")
    temperature, top_k = _check_sampling(model, temperature, top_k)
    prompt = as_prompt(model, ids, truncate=truncate)
    was_training = model.training
    model.eval()
    try:
        logits = model(prompt)[:, -1]  # (1, V)
    finally:
        model.train(was_training)
    return _distribution(logits, temperature, top_k)[0]


@torch.no_grad()
def generate(model: GPT, ids: Sequence[int] | Tensor, max_new_tokens: int, *,
             temperature: float = 1.0,
             top_k: int | None = None, greedy: bool = False,
             generator: torch.Generator | None = None,
             truncate: bool = False, stop_ids: Sequence[int] = ()) -> list[int]:
    """Prompt ids + ``max_new_tokens`` sampled ids (greedy: the most likely token each step).

    Each step conditions on the last ``context`` tokens. A ``generator`` with a fixed seed gives
    the same text every time. Generation ends early after a token in ``stop_ids`` (kept).
    """
    max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=0)
    temperature, top_k = _check_sampling(model, temperature, top_k)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    prompt = as_prompt(model, ids, truncate=truncate)
    stop = {check_int(f"stop_ids[{i}]", x) for i, x in enumerate(stop_ids)}
    out = prompt[0].tolist()
    window = prompt
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            logits = model(window)[:, -1]  # (1, V)
            if greedy:
                next_id = int(logits.argmax(-1))
            else:
                probs = _distribution(logits, temperature, top_k)
                next_id = int(torch.multinomial(probs, 1, generator=generator))
            out.append(next_id)
            if next_id in stop:
                break
            window = torch.tensor([out[-model.config.context:]], dtype=torch.long)
    finally:
        model.train(was_training)
    return out


def complete_prompts(model: GPT, tokenizer, prompts: Sequence[str], *,
                     max_new_tokens: int = 12) -> list[str]:
    """The greedy completion of each prompt, up to and including its first newline (or
    ``max_new_tokens`` tokens). Prompts longer than the context keep their last ``context``
    tokens."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a sequence of str, got one str (wrap it in a list)")
    newline = tokenizer.encode("\n")
    completions = []
    for prompt in prompts:
        ids = tokenizer.encode(prompt)
        out = generate(model, ids, max_new_tokens, greedy=True, truncate=True, stop_ids=newline)
        completions.append(tokenizer.decode(out[min(len(ids), model.config.context):]))
    return completions


def score_prompts(model: GPT, tokenizer, pairs: Sequence[tuple[str, str]], *,
                  max_new_tokens: int = 12) -> list[bool]:
    """In-context accuracy item by item: for each (prompt, answer), is the greedy completion up to
    its first newline the answer (``prompts.score_completion``)? Prompts longer than the context
    keep their last ``context`` tokens."""
    completions = complete_prompts(model, tokenizer, [prompt for prompt, _answer in pairs],
                                   max_new_tokens=max_new_tokens)
    return [score_completion(c, answer) for c, (_prompt, answer) in zip(completions, pairs)]


# --------------------------------------------------------------------------- training

def _check_stream(name: str, stream: object, min_len: int) -> Tensor:
    if isinstance(stream, Tensor):
        if stream.dim() != 1 or stream.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{name} must be a 1-D integer tensor of token ids, got {stream.dtype} "
                            f"of shape {tuple(stream.shape)}")
        stream = stream.long()
    else:
        values = list(stream)
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            kinds = sorted({type(v).__name__ for v in values})
            raise TypeError(f"{name} must hold integer ids, got {', '.join(kinds)} values")
        stream = torch.as_tensor(values, dtype=torch.long)
    if stream.numel() < min_len:
        raise ValueError(f"{name} must hold at least {min_len} tokens (context + 1), got "
                         f"{stream.numel()}")
    return stream


def random_windows(stream: Tensor, batch_size: int, context: int,
                   generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random windows of a token stream: inputs x (B, T) and next-token targets y = x shifted by
    one."""
    starts = torch.randint(0, stream.numel() - context, (batch_size,), generator=generator)
    offsets = torch.arange(context)
    x = stream[starts[:, None] + offsets]  # (B, T)
    y = stream[starts[:, None] + offsets + 1]  # (B, T)
    return x, y


@torch.no_grad()
def evaluate_loss(model: GPT, stream: Sequence[int] | Tensor, *, batch_size: int = 64,
                  max_windows: int | None = None) -> float:
    """Mean next-token cross-entropy (nats per token) over consecutive, non-overlapping windows."""
    check_instance("model", model, GPT, "a GPT")
    context = model.config.context
    stream = _check_stream("stream", stream, context + 1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = (stream.numel() - 1) // context
    if max_windows is not None:
        n = min(n, check_int("max_windows", max_windows, minimum=1))
    x = stream[: n * context].view(n, context)
    y = stream[1: n * context + 1].view(n, context)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for start in range(0, n, batch_size):
            logits = model(x[start: start + batch_size])  # (b, T, V)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1),
                                               y[start: start + batch_size].flatten(),
                                               reduction="sum")
            total += float(loss.double())
    finally:
        model.train(was_training)
    return total / (n * context)


@dataclass
class TrainingLog:
    """Losses every ``eval_every`` steps: mean training loss since the last report, validation
    loss."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    tokens_seen: int = 0


def train_gpt(model: nn.Module, train_ids: Sequence[int] | Tensor,
              valid_ids: Sequence[int] | Tensor, *,
              steps: int = 200, batch_size: int = 32, lr: float = 3e-3, weight_decay: float = 0.01,
              warmup_steps: int = 20, eval_every: int = 50, eval_windows: int = 64, seed: int = 0,
              progress: bool = False, log: TrainingLog | None = None) -> TrainingLog:
    """AdamW on random windows of ``train_ids`` with linear warm-up then cosine decay; every
    ``eval_every`` steps (and at step 0) record the training and validation loss (nats per token).

    ``model`` is a ``GPT`` or any module mapping (B, T) ids to (B, T, V) logits with a ``config``
    that has ``context`` (the benchmark's torch-native twin). Passing ``log`` continues it.
    """
    check_instance("model", model, nn.Module, "a torch model (a GPT)")
    context = model.config.context
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    eval_windows = check_int("eval_windows", eval_windows, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    train_ids = _check_stream("train_ids", train_ids, context + 1)
    valid_ids = _check_stream("valid_ids", valid_ids, context + 1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    # weight decay on matrices only (not on biases, LayerNorm gains or position vectors)
    decay = [p for name, p in model.named_parameters() if p.dim() >= 2 and "position" not in name]
    no_decay = [p for name, p in model.named_parameters()
                if not (p.dim() >= 2 and "position" not in name)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr,
                                  betas=(0.9, 0.95))

    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, warmup_steps, steps, floor=0.1))
    log = TrainingLog() if log is None else log
    start = log.steps[-1] if log.steps else 0
    if not log.steps:
        log.steps.append(0)
        log.train_loss.append(evaluate_loss(model, train_ids, max_windows=eval_windows))
        log.valid_loss.append(evaluate_loss(model, valid_ids, max_windows=eval_windows))
    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="training", leave=False)
    model.train()
    running, count = 0.0, 0
    for step in iterator:
        x, y = random_windows(train_ids, batch_size, context, generator)
        logits = model(x)  # (B, T, V)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running, count = running + float(loss.detach()), count + 1
        log.tokens_seen += x.numel()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            log.steps.append(start + step + 1)
            log.train_loss.append(running / count)
            log.valid_loss.append(evaluate_loss(model, valid_ids, max_windows=eval_windows))
            running, count = 0.0, 0
            model.train()
    model.eval()
    return log


# --------------------------------------------------------------------------- bigram baseline

class BigramModel:
    """P(next | previous) from counts with add-one smoothing: the baseline with a one-token
    context."""

    def __init__(self, vocab_size: int):
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        self.counts = torch.zeros(self.vocab_size, self.vocab_size, dtype=torch.float64)

    def fit(self, ids: Sequence[int] | Tensor) -> "BigramModel":
        """Count every (previous, next) pair of the stream."""
        stream = _check_stream("ids", ids, 2)
        check_ids("ids", stream, self.vocab_size)
        pairs = stream[:-1] * self.vocab_size + stream[1:]
        self.counts += torch.bincount(pairs, minlength=self.vocab_size ** 2).view(
            self.vocab_size, -1).double()
        return self

    @property
    def probabilities(self) -> Tensor:
        """(V, V): row p is P(next | previous = p) = (count + 1) / (row total + V)."""
        return (self.counts + 1) / (self.counts.sum(1, keepdim=True) + self.vocab_size)

    def loss(self, ids: Sequence[int] | Tensor) -> float:
        """Mean cross-entropy (nats per token) of the stream's next tokens."""
        stream = _check_stream("ids", ids, 2)
        check_ids("ids", stream, self.vocab_size)
        return float(-self.probabilities[stream[:-1], stream[1:]].log().mean())

    def generate(self, ids: Sequence[int], max_new_tokens: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> list[int]:
        """Prompt ids + sampled ids, each drawn given the previous token only."""
        out = [check_int(f"ids[{i}]", x, minimum=0, maximum=self.vocab_size - 1)
               for i, x in enumerate(ids)]
        if not out:
            raise ValueError("ids must hold at least one token; the prompt encoded to zero tokens")
        max_new_tokens = check_int("max_new_tokens", max_new_tokens, minimum=0)
        temperature = check_float("temperature", temperature, minimum=0.0, min_inclusive=False)
        logp = self.probabilities.log()
        for _ in range(max_new_tokens):
            probs = activations.softmax(logp[out[-1]], temperature)
            out.append(int(torch.multinomial(probs, 1, generator=generator)))
        return out


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(model: GPT, path: str | Path, **meta: object) -> int:
    """Save config, weights (float16, the tied matrix once) and ``meta``; return the file size in
    bytes."""
    return _checkpoints.save(path, model, skip=("head.weight",), meta=meta)


def load_checkpoint(path: str | Path) -> tuple[GPT, dict]:
    """Load a model saved by ``save_checkpoint`` (weights back to float32, eval mode) and its
    meta."""
    saved, state = _checkpoints.load(path, "scripts/make_checkpoint_09c.py")
    model = GPT(GPTConfig(**saved["config"]))
    state["head.weight"] = state["token_embedding.weight"]
    model.load_state_dict(state)
    return model.eval(), dict(saved["meta"])
