"""Sequence to sequence (chapter 07): an RNN encoder-decoder with a fixed context vector C, and
with Bahdanau's additive attention over a bidirectional encoder, c_i = sum_j a_ij h_j.

The stable API (chapter 08 compares its Transformer with these models on the same data):

    src_vocab, tgt_vocab = make_vocabularies(pairs)
    model = build_model(Seq2SeqConfig(), src_vocab, tgt_vocab, attention=True)
    history = train(model, pairs, epochs=10, batch_size=64, lr=3e-3, seed=0)
    exact_match_accuracy(model, test_pairs), accuracy_by_length(model, test_pairs)
    translate(model, [["two", "hundred"]]) -> [["2", "0", "0"]]
    decoded = greedy_decode(model, encode_sources(model, sources), max_len=8)  # tokens + attention

Sequences are right-padded with [PAD] (index 0); masks are True on real tokens.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from nlpcourse._checks import check_choice, check_float, check_instance, check_ids, check_int
from nlpcourse._tensor_checks import check_id_tensor, check_tensor
from nlpcourse.rnn import CELL_KINDS, Bidirectional, make_cell
from nlpcourse.text import Vocabulary, _check_documents, build_vocabulary, check_token_pairs

__all__ = [
    "SPECIALS", "make_vocabularies", "encode_tokens", "pad_batch", "Batch", "encode_pairs",
    "Seq2SeqConfig", "masked_softmax", "AdditiveAttention", "Seq2Seq", "build_model",
    "sequence_loss", "train", "Decoded", "encode_sources", "greedy_decode", "translate",
    "alignment", "exact_match_accuracy", "accuracy_by_length", "held_out_loss", "split_pairs",
    "linear_teacher_forcing", "scheduled_sampling_logits",
]

PAD, BOS, EOS, UNK = "[PAD]", "[BOS]", "[EOS]", "[UNK]"
SPECIALS = (PAD, BOS, EOS)

Pair = tuple[Sequence[str], Sequence[str]]


# --------------------------------------------------------------------------- data


def make_vocabularies(pairs: Sequence[Pair]) -> tuple[Vocabulary, Vocabulary]:
    """Source and target vocabularies: [PAD]=0, [BOS]=1, [EOS]=2, [UNK]=3, then tokens by
    frequency."""
    pairs = check_token_pairs(pairs)
    src = build_vocabulary([s for s, _t in pairs], specials=SPECIALS, unk_token=UNK)
    tgt = build_vocabulary([t for _s, t in pairs], specials=SPECIALS, unk_token=UNK)
    return src, tgt


def encode_tokens(tokens: Sequence[str], vocab: Vocabulary, name: str = "tokens", *,
                  unknown: str = "error") -> list[int]:
    """Indices of ``tokens``; a token outside ``vocab`` is an error naming it (or [UNK] if
    ``unknown="unk"``)."""
    check_choice("unknown", unknown, ("error", "unk"))
    if isinstance(tokens, str):
        raise TypeError(f"{name} must be a list of str tokens, got a str (split it first)")
    ids = []
    for position, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"{name}[{position}] must be a str token, got {type(token).__name__} "
                            f"{token!r}")
        if token not in vocab or token in SPECIALS:
            if unknown == "error":
                raise ValueError(f"{name}[{position}] = {token!r} is not in the vocabulary "
                                 f"({len(vocab)} tokens); pass unknown='unk' to map it to {UNK}")
            token = UNK
        ids.append(vocab.index(token))
    return ids


def _fit_length(name: str, ids: list[int], max_len: int, truncate: bool) -> list[int]:
    if len(ids) > max_len:
        if not truncate:
            raise ValueError(f"{name} has {len(ids)} tokens, more than the maximum {max_len}; "
                             f"pass truncate=True to crop it")
        ids = ids[:max_len]
    return ids


def pad_batch(sequences: Sequence[Sequence[int]],
              pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad integer sequences: ids (B, T) long and mask (B, T) bool, True on real tokens."""
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise TypeError(f"sequences must be a list of id lists, got {type(sequences).__name__}")
    sequences = [check_ids(f"sequences[{i}]", list(seq), None, ndim=1).tolist() if len(seq) else []
                 for i, seq in enumerate(sequences)]
    if not sequences:
        raise ValueError("sequences is empty: give at least one sequence of ids")
    pad = check_int("pad", pad, minimum=0)
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.bool)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = True
    return ids, mask


@dataclass
class Batch:
    """Encoded pairs: source ids and mask (B, S); decoder input [BOS] y and target y [EOS] (B,
    T)."""

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    tgt_mask: torch.Tensor

    def __len__(self) -> int:
        return self.src.shape[0]

    def subset(self, index: torch.Tensor) -> "Batch":
        """The rows in ``index``, trimmed to their longest source and target."""
        src_mask = self.src_mask[index]
        tgt_mask = self.tgt_mask[index]
        s = int(src_mask.sum(1).max())
        t = int(tgt_mask.sum(1).max())
        return Batch(self.src[index, :s], src_mask[:, :s], self.tgt_in[index, :t],
                     self.tgt_out[index, :t], tgt_mask[:, :t])


def encode_pairs(pairs: Sequence[Pair], src_vocab: Vocabulary, tgt_vocab: Vocabulary, *,
                 max_src_len: int | None = None, max_tgt_len: int | None = None,
                 truncate: bool = False, unknown: str = "error") -> Batch:
    """Turn (source, target) token pairs into one padded ``Batch``.

    ``max_tgt_len`` counts the target tokens without [EOS]. Longer sequences are an error
    unless ``truncate=True``; unknown tokens are an error unless ``unknown="unk"``.
    """
    pairs = check_token_pairs(pairs)
    max_src_len = None if max_src_len is None else check_int("max_src_len", max_src_len, minimum=1)
    max_tgt_len = None if max_tgt_len is None else check_int("max_tgt_len", max_tgt_len, minimum=1)
    bos, eos = tgt_vocab.index(BOS), tgt_vocab.index(EOS)
    sources, targets = [], []
    for i, (src, tgt) in enumerate(pairs):
        s = encode_tokens(src, src_vocab, f"pairs[{i}] source", unknown=unknown)
        t = encode_tokens(tgt, tgt_vocab, f"pairs[{i}] target", unknown=unknown)
        if max_src_len is not None:
            s = _fit_length(f"pairs[{i}] source", s, max_src_len, truncate)
        if max_tgt_len is not None:
            t = _fit_length(f"pairs[{i}] target", t, max_tgt_len, truncate)
        sources.append(s)
        targets.append(t)
    src, src_mask = pad_batch(sources)
    tgt_in, tgt_mask = pad_batch([[bos] + t for t in targets])
    tgt_out, _ = pad_batch([t + [eos] for t in targets])
    return Batch(src, src_mask, tgt_in, tgt_out, tgt_mask)


# --------------------------------------------------------------------------- model


@dataclass
class Seq2SeqConfig:
    """Sizes of an encoder-decoder; the defaults train on the spelled-numbers task in seconds."""

    embedding_dim: int = 32
    hidden_size: int = 64
    attention_size: int = 64
    cell: str = "gru"
    max_src_len: int = 16
    max_tgt_len: int = 12

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "hidden_size", "attention_size", "max_src_len",
                     "max_tgt_len"):
            setattr(self, name, check_int(name, getattr(self, name), minimum=1))
        check_choice("cell", self.cell, CELL_KINDS)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, only over entries where ``mask`` is True; a fully masked row
    gives zeros."""
    if scores.shape != mask.shape:
        raise ValueError(f"mask must have the shape of scores {tuple(scores.shape)}, got "
                         f"{tuple(mask.shape)}")
    scores = scores.masked_fill(~mask, float("-inf"))
    any_real = mask.any(dim=-1, keepdim=True)
    weights = torch.softmax(torch.where(any_real, scores, torch.zeros_like(scores)), dim=-1)
    return weights * any_real


class AdditiveAttention(nn.Module):
    """Bahdanau's score e_ij = v . tanh(W s_{i-1} + U h_j); weights a_ij = softmax_j over real
    tokens."""

    def __init__(self, query_size: int, key_size: int, attention_size: int):
        super().__init__()
        self.query = nn.Linear(query_size, attention_size, bias=False)
        self.key = nn.Linear(key_size, attention_size, bias=True)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                projected_keys: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, Q), keys (B, S, K), mask (B, S) -> context (B, K), weights (B, S)."""
        q_size, k_size = self.query.in_features, self.key.in_features
        check_tensor("query", query, shape=("B", q_size), dtype=self.query.weight.dtype)
        check_tensor("keys", keys, shape=(query.shape[0], "S", k_size), dtype=self.key.weight.dtype)
        if projected_keys is None:
            projected_keys = self.key(keys)  # (B, S, A)
        # (B, S)
        energy = self.score(torch.tanh(projected_keys + self.query(query)[:, None, :])).squeeze(-1)
        weights = masked_softmax(energy, mask)
        context = torch.bmm(weights[:, None, :], keys).squeeze(1)  # c_i = sum_j a_ij h_j, (B, K)
        return context, weights


class Seq2Seq(nn.Module):
    """Bidirectional RNN encoder; RNN decoder fed [embedding of y_{i-1}; c_i] at step i.

    With ``attention=False``, c_i = C for every i, the fixed context: the two directions'
    final states [forward h_S ; backward h_1]. With ``attention=True``, c_i = sum_j a_ij h_j
    over the encoder outputs h_j = [forward h_j ; backward h_j]. Everything else is shared,
    so the two models differ only in the context they read.
    """

    def __init__(self, config: Seq2SeqConfig, src_vocab: Vocabulary, tgt_vocab: Vocabulary,
                 attention: bool = True):
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"config must be a Seq2SeqConfig, got {type(config).__name__}")
        for name, vocab in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
            if not isinstance(vocab, Vocabulary):
                raise TypeError(f"{name} must be a nlpcourse.text.Vocabulary, got "
                                f"{type(vocab).__name__}")
            missing = [s for s in SPECIALS if s not in vocab]
            if missing:
                raise ValueError(f"{name} lacks the special tokens {missing}; build it with "
                                 "make_vocabularies")
        self.config, self.src_vocab, self.tgt_vocab = config, src_vocab, tgt_vocab
        self.attention = bool(attention)
        e, h = config.embedding_dim, config.hidden_size
        self.src_embedding = nn.Embedding(len(src_vocab), e, padding_idx=src_vocab.index(PAD))
        self.tgt_embedding = nn.Embedding(len(tgt_vocab), e, padding_idx=tgt_vocab.index(PAD))
        self.encoder = Bidirectional(make_cell(config.cell, e, h), make_cell(config.cell, e, h))
        self.bridge = nn.Linear(2 * h, h)  # s_0 = tanh(W [forward h_S ; backward h_1])
        self.decoder_cell = make_cell(config.cell, e + 2 * h, h)
        self.attend = AdditiveAttention(h, 2 * h, config.attention_size) if self.attention else None
        self.out = nn.Linear(h + 2 * h + e, len(tgt_vocab))

    def check_source(self, src: torch.Tensor, src_mask: torch.Tensor) -> None:
        """Raise on a source batch of the wrong kind or shape, or longer than the model's
        maximum."""
        if not isinstance(src, torch.Tensor) or src.dtype != torch.long or src.ndim != 2:
            raise TypeError("src must be a (batch, steps) tensor of token ids (torch.long), got "
                            f"{type(src).__name__} {getattr(src, 'dtype', '')} "
                            f"{tuple(getattr(src, 'shape', ()))}")
        if not isinstance(src_mask, torch.Tensor) or src_mask.dtype != torch.bool:
            raise TypeError(f"src_mask must be a bool tensor, got {type(src_mask).__name__} "
                            f"{getattr(src_mask, 'dtype', '')}")
        if src_mask.shape != src.shape:
            raise ValueError(f"src_mask must have the shape of src {tuple(src.shape)}, got "
                             f"{tuple(src_mask.shape)}")
        if src.shape[1] == 0:
            raise ValueError(f"src must have at least one step, got shape {tuple(src.shape)}")
        if src.shape[1] > self.config.max_src_len:
            raise ValueError(f"src has {src.shape[1]} steps, more than the model's max_src_len "
                             f"{self.config.max_src_len}")
        if src.numel() and (src.min() < 0 or src.max() >= len(self.src_vocab)):
            raise ValueError(f"src ids must lie in [0, {len(self.src_vocab) - 1}], got "
                             f"[{int(src.min())}, {int(src.max())}]")

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor):
        """Encoder outputs h_j (B, S, 2H), initial decoder state s_0 and the fixed context C (B,
        2H)."""
        self.check_source(src, src_mask)
        outputs, (state_f, state_b) = self.encoder(self.src_embedding(src), src_mask)  # (B, S, 2H)
        hidden_of = self.decoder_cell.hidden_of
        fixed = torch.cat([hidden_of(state_f), hidden_of(state_b)], dim=1)  # (B, 2H)
        s0 = torch.tanh(self.bridge(fixed))
        state = (s0, torch.zeros_like(s0)) if self.config.cell == "lstm" else s0
        return outputs, state, fixed

    def step(self, y_prev: torch.Tensor, state, memory):
        """One decoder step: previous token ids (B,) -> logits (B, V), new state, weights (B, S) or
        None."""
        outputs, src_mask, fixed, keys = memory
        embedded = self.tgt_embedding(y_prev)  # (B, E)
        if self.attention:
            context, weights = self.attend(self.decoder_cell.hidden_of(state), outputs, src_mask,
                                           keys)
        else:
            context, weights = fixed, None
        state = self.decoder_cell(torch.cat([embedded, context], dim=1), state)
        s = self.decoder_cell.hidden_of(state)
        logits = self.out(torch.cat([s, context, embedded], dim=1))
        return logits, state, weights

    def memory(self, src: torch.Tensor, src_mask: torch.Tensor):
        outputs, state, fixed = self.encode(src, src_mask)
        keys = self.attend.key(outputs) if self.attention else None  # projected once per sentence
        return state, (outputs, src_mask, fixed, keys)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor):
        """Teacher forcing: logits (B, T, V) for every target position, and attention (B, T, S) or
        None."""
        if (not isinstance(tgt_in, torch.Tensor) or tgt_in.ndim != 2
                or tgt_in.shape[0] != src.shape[0] or tgt_in.shape[1] == 0):
            raise ValueError(f"tgt_in must have shape ({src.shape[0]}, steps) like src's batch, "
                             f"with steps >= 1, got {tuple(getattr(tgt_in, 'shape', ()))}")
        check_id_tensor("tgt_in", tgt_in, len(self.tgt_vocab))
        state, memory = self.memory(src, src_mask)
        logits, weights = [], []
        for i in range(tgt_in.shape[1]):
            step_logits, state, a = self.step(tgt_in[:, i], state, memory)
            logits.append(step_logits)
            weights.append(a)
        attention = torch.stack(weights, dim=1) if self.attention else None
        return torch.stack(logits, dim=1), attention


def build_model(config: Seq2SeqConfig, src_vocab: Vocabulary, tgt_vocab: Vocabulary,
                attention: bool = True, seed: int = 0) -> Seq2Seq:
    """A freshly initialised encoder-decoder (same ``seed``, same weights)."""
    seed = check_int("seed", seed, minimum=0)
    torch.manual_seed(seed)
    return Seq2Seq(config, src_vocab, tgt_vocab, attention)


# --------------------------------------------------------------------------- training


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the real target tokens (padding ignored)."""
    losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                         reduction="none")
    mask = mask.reshape(-1).to(losses.dtype)
    return (losses * mask).sum() / mask.sum().clamp_min(1.0)


def train(model: Seq2Seq, pairs: Sequence[Pair], epochs: int = 10, batch_size: int = 64,
          lr: float = 3e-3,
          seed: int = 0, *, clip: float = 1.0, progress: bool = False,
          teacher_forcing: float | Sequence[float] = 1.0) -> dict[str, list[float]]:
    """Teacher-forced training with Adam and gradient clipping; returns {"loss": mean loss per
    epoch}.

    Batches are shuffled with a generator seeded by ``seed``, so a run repeats exactly.
    ``teacher_forcing`` is the probability of feeding the true previous token (one number, or
    one per epoch, e.g. from ``linear_teacher_forcing``); below 1 the decoder is otherwise fed
    its own arg-max prediction: scheduled sampling (Bengio et al. 2015).
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    seed = check_int("seed", seed, minimum=0)
    clip = check_float("clip", clip, minimum=0.0, min_inclusive=False)
    schedule = _check_teacher_forcing(teacher_forcing, epochs)
    # its own stream: the batch order stays that of teacher forcing
    coins = torch.Generator().manual_seed(seed + 1)
    data = encode_pairs(pairs, model.src_vocab, model.tgt_vocab,
                        max_src_len=model.config.max_src_len,
                        max_tgt_len=model.config.max_tgt_len - 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"loss": []}
    epoch_range = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc="epochs")
    model.train()
    for epoch in epoch_range:
        order = torch.randperm(len(data), generator=generator)
        total, tokens = 0.0, 0
        for start in range(0, len(data), batch_size):
            batch = data.subset(order[start:start + batch_size])
            if schedule[epoch] == 1.0:
                logits, _ = model(batch.src, batch.src_mask, batch.tgt_in)
            else:
                logits = scheduled_sampling_logits(model, batch, schedule[epoch], coins)
            loss = sequence_loss(logits, batch.tgt_out, batch.tgt_mask)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            n = int(batch.tgt_mask.sum())
            total += loss.item() * n
            tokens += n
        history["loss"].append(total / tokens)
    model.eval()
    return history


# --------------------------------------------------------------------------- decoding and scores


@dataclass
class Decoded:
    """Greedy output: token ids per sequence (without [EOS]) and attention (steps, source length) or
    None."""

    ids: list[list[int]]
    attention: list[np.ndarray | None] = field(default_factory=list)


def encode_sources(model: Seq2Seq, sources: Sequence[Sequence[str]], *, truncate: bool = False,
                   unknown: str = "error") -> tuple[torch.Tensor, torch.Tensor]:
    """Source token lists -> (src ids (B, S), src mask (B, S)) in the model's vocabulary."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    sources = _check_documents("sources", sources)
    ids = []
    for i, tokens in enumerate(sources):
        encoded = encode_tokens(tokens, model.src_vocab, f"sources[{i}]", unknown=unknown)
        if not encoded:
            raise ValueError(f"sources[{i}] is empty: give at least one token")
        ids.append(_fit_length(f"sources[{i}]", encoded, model.config.max_src_len, truncate))
    return pad_batch(ids)


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src_batch: tuple[torch.Tensor, torch.Tensor],
                  max_len: int | None = None) -> Decoded:
    """Pick the most likely token at every step until [EOS] (or ``max_len`` tokens)."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    if not (isinstance(src_batch, (tuple, list)) and len(src_batch) == 2):
        raise TypeError("src_batch must be a (src ids, src mask) pair, e.g. from encode_sources")
    src, src_mask = src_batch
    max_len = (model.config.max_tgt_len if max_len is None
               else check_int("max_len", max_len, minimum=1))
    model.eval()
    state, memory = model.memory(src, src_mask)
    batch = src.shape[0]
    bos, eos = model.tgt_vocab.index(BOS), model.tgt_vocab.index(EOS)
    y = torch.full((batch,), bos, dtype=torch.long)
    done = torch.zeros(batch, dtype=torch.bool)
    tokens, weights = [], []
    for _ in range(max_len):
        logits, state, a = model.step(y, state, memory)
        y = logits.argmax(dim=1)
        tokens.append(y)
        weights.append(a)
        done |= y == eos
        if bool(done.all()):
            break
    tokens = torch.stack(tokens, dim=1).tolist()
    lengths = src_mask.sum(1).tolist()
    ids, attention = [], []
    for row, seq in enumerate(tokens):
        cut = seq.index(eos) if eos in seq else len(seq)
        ids.append(seq[:cut])
        if model.attention:
            # rows: the output tokens and the [EOS] step; columns: the real source tokens
            steps = min(cut + 1, len(seq))
            attention.append(torch.stack([w[row, : lengths[row]] for w in weights[:steps]]).numpy())
        else:
            attention.append(None)
    return Decoded(ids, attention)


def translate(model: Seq2Seq, sources: Sequence[Sequence[str]],
              max_len: int | None = None) -> list[list[str]]:
    """Greedy translations of source token lists, as target token lists."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    decoded = greedy_decode(model, encode_sources(model, sources), max_len)
    return [model.tgt_vocab.decode(ids) for ids in decoded.ids]


def alignment(model: Seq2Seq, source: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Output tokens (with [EOS]) and the attention matrix a_ij (outputs x source tokens) for one
    source."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    if not model.attention:
        raise ValueError("model has no attention (built with attention=False): it reads one fixed "
                         "context C")
    decoded = greedy_decode(model, encode_sources(model, [source]))
    out = model.tgt_vocab.decode(decoded.ids[0])
    weights = decoded.attention[0]
    return out + [EOS] * (weights.shape[0] - len(out)), weights


def _predictions(model: Seq2Seq, pairs,
                 batch_size: int = 256) -> list[tuple[list[str], list[str], list[str]]]:
    pairs = check_token_pairs(pairs)
    out = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        predicted = translate(model, [s for s, _t in chunk])
        out.extend((s, t, p) for (s, t), p in zip(chunk, predicted))
    return out


def exact_match_accuracy(model: Seq2Seq, pairs: Sequence[Pair]) -> float:
    """Share of pairs whose greedy translation equals the target exactly."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    results = _predictions(model, pairs)
    return sum(p == t for _s, t, p in results) / len(results)


def accuracy_by_length(model: Seq2Seq, pairs: Sequence[Pair]) -> dict[int, tuple[int, float]]:
    """For each source length: (number of pairs, exact-match accuracy), by increasing length."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    hits: dict[int, list[int]] = collections.defaultdict(list)
    for s, t, p in _predictions(model, pairs):
        hits[len(s)].append(int(p == t))
    return {n: (len(v), sum(v) / len(v)) for n, v in sorted(hits.items())}


def held_out_loss(model: Seq2Seq, pairs: Sequence[Pair]) -> float:
    """Teacher-forced mean cross-entropy per target token on ``pairs``."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    data = encode_pairs(pairs, model.src_vocab, model.tgt_vocab,
                        max_src_len=model.config.max_src_len,
                        max_tgt_len=model.config.max_tgt_len - 1)
    model.eval()
    with torch.no_grad():
        logits, _ = model(data.src, data.src_mask, data.tgt_in)
        return float(sequence_loss(logits, data.tgt_out, data.tgt_mask))


def split_pairs(pairs: Sequence[Pair], test_fraction: float = 0.2, seed: int = 0):
    """Train and test lists with no source in both (duplicates stay on one side)."""
    pairs = check_token_pairs(pairs)
    test_fraction = check_float("test_fraction", test_fraction, minimum=0.0, maximum=1.0,
                                min_inclusive=False, max_inclusive=False)
    seed = check_int("seed", seed, minimum=0)
    keys = sorted({" ".join(s) for s, _t in pairs})
    rng = np.random.default_rng(seed)
    test_keys = set(rng.choice(keys, size=max(1, int(math.floor(len(keys) * test_fraction))),
                               replace=False).tolist())
    train = [p for p in pairs if " ".join(p[0]) not in test_keys]
    test = [p for p in pairs if " ".join(p[0]) in test_keys]
    return train, test


# --------------------------------------------------------------------------- scheduled sampling


def linear_teacher_forcing(epochs: int, final: float = 0.5) -> list[float]:
    """Per-epoch probability of feeding the true token: 1 in the first epoch, falling linearly to
    ``final``."""
    epochs = check_int("epochs", epochs, minimum=1)
    final = check_float("final", final, minimum=0.0, maximum=1.0)
    if epochs == 1:
        return [1.0]
    return [1.0 - (1.0 - final) * e / (epochs - 1) for e in range(epochs)]


def _check_teacher_forcing(teacher_forcing, epochs: int) -> list[float]:
    """One probability per epoch, each in [0, 1]."""
    if isinstance(teacher_forcing, (int, float)) and not isinstance(teacher_forcing, bool):
        values = [float(teacher_forcing)] * epochs
    elif isinstance(teacher_forcing, (list, tuple, np.ndarray)):
        values = [float(v) for v in teacher_forcing]
        if len(values) != epochs:
            raise ValueError(f"teacher_forcing must give one probability per epoch ({epochs}), got "
                             f"{len(values)}")
    else:
        raise TypeError(f"teacher_forcing must be a probability or a list of one per epoch, "
                        f"got {type(teacher_forcing).__name__}")
    for v in values:
        check_float("teacher_forcing", v, minimum=0.0, maximum=1.0)
    return values


def scheduled_sampling_logits(model: Seq2Seq, batch: Batch, p_true: float,
                              generator: torch.Generator) -> torch.Tensor:
    """Decoder logits (B, T, V) where each step after the first reads the true previous token with
    probability ``p_true`` and otherwise the model's own arg-max from the step before."""
    check_instance("model", model, Seq2Seq, "a Seq2Seq model (build_model)")
    check_instance("batch", batch, Batch, "a Batch (encode_pairs)")
    p_true = check_float("p_true", p_true, minimum=0.0, maximum=1.0)
    check_instance("generator", generator, torch.Generator)
    state, memory = model.memory(batch.src, batch.src_mask)
    y = batch.tgt_in[:, 0]  # [BOS]
    logits = []
    for i in range(batch.tgt_in.shape[1]):
        if i > 0:
            true_token = torch.rand(y.shape[0], generator=generator) < p_true  # (B,)
            y = torch.where(true_token, batch.tgt_in[:, i], logits[-1].argmax(dim=1))
        step_logits, state, _ = model.step(y, state, memory)
        logits.append(step_logits)
    return torch.stack(logits, dim=1)
