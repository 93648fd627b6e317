"""ELMo (chapter 09a): contextual word vectors from a bidirectional LSTM language model.

- ``context_diversity`` picks the words whose contexts split most clearly into two groups
  (candidates for one word with several meanings, 一詞多義), by a measure defined below.
- ``BiLM`` is a forward and a backward 2-layer LSTM language model over shared token vectors
  (real ELMo builds its token vectors with a character CNN; here they are a lookup table).
  Training uses ``torch.nn.LSTM`` for speed; ``elmo_layers`` computes the layer vectors with
  chapter 07's ``nlpcourse.rnn`` cells holding the same weights.
- ``ScalarMix`` is ELMo's task-specific mix gamma * sum_j softmax(s)_j h_j.
- Perplexities: the LM per direction, and unigram and add-one bigram baselines on the same tokens.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from nlpcourse import _checkpoints, data, rnn
from nlpcourse._checks import check_float, check_ids, check_instance, check_int
from nlpcourse._tensor_checks import check_id_tensor
from nlpcourse.text import build_vocabulary, _check_documents, split_sentences, tokenize, Vocabulary

__all__ = [
    "SENTENCE_END", "occurrences", "context_split_score", "context_vectors", "context_diversity",
    "SentenceSplit", "lee_sentences", "lm_vocabulary", "lm_stream", "BiLMConfig", "DIRECTIONS",
    "BiLM", "batchify", "LMHistory", "train_bilm", "lm_cross_entropy", "perplexity",
    "unigram_cross_entropy", "bigram_cross_entropy", "encode_sentences", "chapter07_cells",
    "elmo_layers", "check_layer", "occurrence_vectors", "ScalarMix", "save_bilm", "load_bilm",
    "ProbeData", "capital_labels", "probe_data", "Probe", "train_probe", "probe_accuracy",
    "lookup_baseline_accuracy", "mixed_label_words",
]

#: The token that ends every sentence in the language model's stream.
SENTENCE_END = "</s>"

# ----------------------------------------------------------------------- words with varied contexts


def occurrences(sentences: Sequence[Sequence[str]], word: str,
                window: int = 5) -> list[tuple[int, int]]:
    """Every (sentence index, position) where ``word`` occurs, in corpus order.

    ``window`` is only checked here (same rule as ``context_diversity``), so the two calls
    accept the same arguments.
    """
    sentences = _check_documents("sentences", sentences)
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__} {word!r}")
    check_int("window", window, minimum=1)
    return [(s, p) for s, sentence in enumerate(sentences) for p, token in enumerate(sentence)
            if token == word]


def _context_ids(sentence: Sequence[str], position: int, window: int,
                 index: dict[str, int]) -> set[int]:
    word = sentence[position]
    lo, hi = max(0, position - window), min(len(sentence), position + window + 1)
    return {index[sentence[q]] for q in range(lo, hi) if q != position and sentence[q] != word}


def _two_way_split(gram: np.ndarray) -> np.ndarray:
    """Split points by the sign of their first principal component, from the Gram matrix alone."""
    row_means = gram.mean(axis=0)
    centred = gram - row_means[:, None] - row_means[None, :] + row_means.mean()
    values, vectors = np.linalg.eigh(centred)
    first = vectors[:, -1]
    first = first * (1.0 if first[np.argmax(np.abs(first))] > 0 else -1.0)  # fixed sign
    return first > 0


def _split_score_from_gram(gram: np.ndarray) -> tuple[float, np.ndarray]:
    group = _two_way_split(gram)
    a, b = group, ~group
    if a.sum() < 2 or b.sum() < 2:
        return 0.0, group
    same = (gram[np.ix_(a, a)].sum() - np.trace(gram[np.ix_(a, a)]) + gram[np.ix_(b, b)].sum()
            - np.trace(gram[np.ix_(b, b)])) / (a.sum() * (a.sum() - 1) + b.sum() * (b.sum() - 1))
    return float(same - gram[np.ix_(a, b)].mean()), group


def context_split_score(contexts: np.ndarray) -> tuple[float, np.ndarray]:
    """Score and split of one word's occurrences, given their unit-length context vectors (n, d).

    The occurrences are split in two by the sign of their first principal component; the
    score is (mean cosine similarity of pairs in the same group) - (mean cosine similarity of
    pairs across the groups). Returns (score, group of each occurrence as bools).
    """
    contexts = np.asarray(contexts, dtype=np.float64)
    if contexts.ndim != 2 or contexts.shape[0] < 4:
        raise ValueError("contexts must be a 2-D array with at least 4 rows, got shape "
                         f"{contexts.shape}")
    return _split_score_from_gram(contexts @ contexts.T)


def context_vectors(sentences: Sequence[Sequence[str]], places: Sequence[tuple[int, int]],
                    window: int = 5
                    ) -> np.ndarray:
    """Unit-length idf-weighted bag-of-context-words vectors, one row per (sentence, position).

    The context of an occurrence is the set of other words within ``window`` positions in its
    sentence (the word itself excluded); each context word is weighted by its inverse sentence
    frequency log(S / sentences containing it), so "the" and "of" count for little.
    """
    sentences = _check_documents("sentences", sentences)
    window = check_int("window", window, minimum=1)
    places = list(places)
    for r, place in enumerate(places):
        if not (isinstance(place, (tuple, list)) and len(place) == 2):
            raise TypeError(f"places[{r}] must be a (sentence, position) pair, got {place!r}")
        s = check_int(f"places[{r}][0] (sentence)", place[0], minimum=0, maximum=len(sentences) - 1)
        check_int(f"places[{r}][1] (position)", place[1], minimum=0, maximum=len(sentences[s]) - 1)
    vocab = sorted({t for s in sentences for t in s})
    index = {w: i for i, w in enumerate(vocab)}
    sentence_frequency = collections.Counter(t for s in sentences for t in set(s))
    idf = np.array([math.log(len(sentences) / sentence_frequency[w]) for w in vocab])
    rows = np.zeros((len(places), len(vocab)))
    for r, (s, p) in enumerate(places):
        ids = list(_context_ids(sentences[s], p, window, index))
        rows[r, ids] = idf[ids]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def context_diversity(sentences: Sequence[Sequence[str]], *, min_count: int = 20, window: int = 5,
                      top: int = 10,
                      sample: int | None = None, repeats: int = 10,
                      seed: int = 0) -> list[tuple[str, float]]:
    """The ``top`` words whose contexts split most clearly in two, as (word, score), best first.

    Measure (a "two-sense score"): for a word seen at least ``min_count`` times,

    1. take ``sample`` of its occurrences (default: ``min_count``), drawn at random with
       ``seed``, so every word is judged from the same number of occurrences (frequency
       control: a frequent word gets no advantage from having more contexts);
    2. describe each occurrence by its context: the other words within ``window`` positions in
       its sentence, weighted by inverse sentence frequency and scaled to unit length;
    3. split the occurrences in two by the sign of their first principal component;
    4. score = mean cosine similarity of context pairs in the same group minus the mean across
       the two groups; the word's score is the mean over ``repeats`` random samples (one
       sample of 20 is noisy).

    A word used in one kind of sentence (one topic) has similar contexts everywhere, so any
    split leaves the two groups alike (low score); a function word such as "the" has
    unrelated contexts everywhere, so no group is coherent (low score); a word used in two
    distinct kinds of context (e.g. "bank" in "West Bank" and in "Reserve Bank") splits into
    two coherent, different groups (high score). A high score is evidence of varied contexts,
    which polysemy produces, not proof of two dictionary senses. Ties are broken alphabetically.
    """
    sentences = _check_documents("sentences", sentences)
    min_count = check_int("min_count", min_count, minimum=4)
    window = check_int("window", window, minimum=1)
    top = check_int("top", top, minimum=1)
    sample = min_count if sample is None else check_int("sample", sample, minimum=4,
                                                        maximum=min_count)
    repeats = check_int("repeats", repeats, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if not any(sentences):
        raise ValueError("sentences holds no tokens: the corpus is empty")
    counts = collections.Counter(t for s in sentences for t in s)
    candidates = sorted((w for w, c in counts.items() if c >= min_count),
                        key=lambda w: (-counts[w], w))
    if not candidates:
        raise ValueError(f"no word occurs at least min_count={min_count} times in sentences; lower "
                         "min_count")
    vocab = sorted(counts)
    index = {w: i for i, w in enumerate(vocab)}
    sentence_frequency = collections.Counter(t for s in sentences for t in set(s))
    idf = np.array([math.log(len(sentences) / sentence_frequency[w]) for w in vocab])
    places = collections.defaultdict(list)  # word -> its rows in the context matrix
    row_ids, col_ids = [], []
    n_rows = 0
    for sentence in sentences:
        for p, token in enumerate(sentence):
            if counts[token] >= min_count:
                ids = sorted(_context_ids(sentence, p, window, index))
                row_ids.extend([n_rows] * len(ids))
                col_ids.extend(ids)
                places[token].append(n_rows)
                n_rows += 1
    contexts = sp.csr_matrix((idf[col_ids], (row_ids, col_ids)), shape=(n_rows, len(vocab)))
    norms = np.sqrt(np.asarray(contexts.multiply(contexts).sum(axis=1)).ravel())
    # unit rows
    contexts = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ contexts)
    rng = np.random.default_rng(seed)
    scores = []
    for word in candidates:
        draws = [np.sort(rng.choice(len(places[word]), size=sample, replace=False))
                 for _ in range(repeats)]
        used, position = np.unique(np.concatenate(draws), return_inverse=True)
        rows = contexts[np.asarray(places[word])[used]]
        gram = (rows @ rows.T).toarray()  # cosine similarities of every drawn pair
        parts = np.split(position, repeats)
        total = sum(_split_score_from_gram(gram[np.ix_(part, part)])[0] for part in parts)
        scores.append((word, total / repeats))
    scores.sort(key=lambda ws: (-ws[1], ws[0]))
    return scores[:top]


# ------------------------------------------------------------------------ the corpus: Lee sentences


@dataclass(frozen=True)
class SentenceSplit:
    """Lee stories as sentences of lowercase tokens, split by story into training and held-out.

    ``*_cased`` hold the same tokens with their original capitals (for the probe's labels).
    """

    train: list[list[str]]
    held_out: list[list[str]]
    train_cased: list[list[str]]
    held_out_cased: list[list[str]]


def lee_sentences(held_out: int = 30, seed: int = 0) -> SentenceSplit:
    """The 300 Lee background stories, ``held_out`` of them (chosen with ``seed``) kept for
    evaluation."""
    held_out = check_int("held_out", held_out, minimum=1, maximum=299)
    seed = check_int("seed", seed, minimum=0)
    stories = data.lee_documents()
    chosen = set(np.random.default_rng(seed).choice(len(stories), size=held_out,
                                                    replace=False).tolist())
    parts = {True: [], False: []}
    for i, story in enumerate(stories):
        for sentence in split_sentences(story):
            cased = tokenize(sentence, lowercase=False)
            if cased:
                parts[i in chosen].append(cased)
    lower = {k: [[t.lower() for t in s] for s in v] for k, v in parts.items()}
    return SentenceSplit(lower[False], lower[True], parts[False], parts[True])


def lm_vocabulary(sentences: Sequence[Sequence[str]], min_count: int = 3) -> Vocabulary:
    """Training words seen at least ``min_count`` times, plus the sentence end and ``<unk>``."""
    return build_vocabulary(sentences, min_count=min_count, unk_token="<unk>",
                            specials=(SENTENCE_END,))


def lm_stream(sentences: Sequence[Sequence[str]], vocab: Vocabulary) -> torch.Tensor:
    """One long id stream: every sentence followed by the sentence-end token (unknown words ->
    <unk>)."""
    sentences = _check_documents("sentences", sentences)
    if vocab.unk_token is None or SENTENCE_END not in vocab:
        raise ValueError(f"vocab must have an unknown token and {SENTENCE_END!r}; build it with "
                         "lm_vocabulary")
    end = vocab.index(SENTENCE_END)
    ids = [i for s in sentences for i in vocab.encode(s) + [end]]
    if len(ids) < 2:
        raise ValueError("sentences hold no tokens: the stream needs at least one word")
    return torch.tensor(ids, dtype=torch.long)


# --------------------------------------------------------------------------- the biLM


@dataclass(frozen=True)
class BiLMConfig:
    """Sizes of the bidirectional LM: token vectors and LSTM states are both ``dim`` long."""

    vocab_size: int
    dim: int = 128
    layers: int = 2
    dropout: float = 0.1

    def __post_init__(self) -> None:
        self.checked()

    def checked(self) -> "BiLMConfig":
        """Return self after checking every field; ``__post_init__`` runs it."""
        check_int("vocab_size", self.vocab_size, minimum=2)
        check_int("dim", self.dim, minimum=1)
        check_int("layers", self.layers, minimum=1)
        check_float("dropout", self.dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
        return self


DIRECTIONS = ("forward", "backward")


def _check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    return direction


class BiLM(nn.Module):
    """Two LSTM language models over shared token vectors and a shared, tied softmax.

    The forward LM reads t_1 .. t_k and predicts t_{k+1}; the backward LM reads t_N .. t_k and
    predicts t_{k-1}. ELMo shares the token layer and the softmax between the directions; here
    the softmax is also tied to the token vectors (logits = h E^T + b), which saves one V x d matrix
    (28 % of the parameters at the checkpoint's sizes).
    """

    def __init__(self, config: BiLMConfig):
        super().__init__()
        if not isinstance(config, BiLMConfig):
            raise TypeError(f"config must be a BiLMConfig, got {type(config).__name__}")
        self.config = config
        d = config.dim
        self.embedding = nn.Embedding(config.vocab_size, d)
        self.forward_lm = nn.LSTM(d, d, num_layers=config.layers, batch_first=True,
                                  dropout=config.dropout)
        self.backward_lm = nn.LSTM(d, d, num_layers=config.layers, batch_first=True,
                                   dropout=config.dropout)
        self.output_bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.drop = nn.Dropout(config.dropout)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)

    def lstm(self, direction: str) -> nn.LSTM:
        return self.forward_lm if _check_direction(direction) == "forward" else self.backward_lm

    def forward(self, ids: torch.Tensor, direction: str = "forward", state=None):
        """Next-token logits (B, T, V) for ids (B, T) read in ``direction``'s order, and the final
        state.

        The backward LM is given its ids already reversed (the caller flips the stream).
        """
        _check_ids("ids", ids, self.config.vocab_size, ndim=2)
        x = self.drop(self.embedding(ids))  # (B, T, D)
        out, state = self.lstm(direction)(x, state)  # (B, T, D)
        return self.drop(out) @ self.embedding.weight.T + self.output_bias, state  # (B, T, V)


def _check_ids(name: str, ids, vocab_size: int, ndim: int) -> torch.Tensor:
    return check_id_tensor(name, ids, vocab_size, shape=("B", "T")[-ndim:] if ndim <= 2 else None)


def _oriented(stream: torch.Tensor, direction: str) -> torch.Tensor:
    """The stream in the order a direction reads it: as is (forward) or reversed (backward)."""
    return stream if _check_direction(direction) == "forward" else stream.flip(0)


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a stream into ``batch_size`` equal parallel streams (B, N // B); the tail is dropped."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = stream.numel() // batch_size
    if n < 2:
        raise ValueError(f"the stream ({stream.numel()} ids) is too short for "
                         f"batch_size={batch_size}")
    return stream[: n * batch_size].view(batch_size, n)


@dataclass
class LMHistory:
    """Mean training cross-entropy (nats per token) of each epoch, per direction."""

    forward: list[float]
    backward: list[float]


def train_bilm(model: BiLM, stream: torch.Tensor, *, epochs: int = 1, batch_size: int = 32,
               bptt: int = 35,
               lr: float = 3e-3, clip: float = 1.0, progress: bool = False) -> LMHistory:
    """Truncated back-propagation through time on ``batch_size`` parallel streams, both directions.

    Each step reads ``bptt`` tokens of every stream, carries the LSTM state to the next step
    (detached: gradients stop at the chunk border) and takes one Adam step on the sum of the
    forward and the backward LM's cross-entropy. The backward LM reads the reversed stream.
    """
    check_instance("model", model, BiLM, "a BiLM")
    epochs = check_int("epochs", epochs, minimum=0)
    bptt = check_int("bptt", bptt, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    clip = check_float("clip", clip, minimum=0.0, min_inclusive=False)
    _check_ids("stream", stream, model.config.vocab_size, ndim=1)
    data = {d: batchify(_oriented(stream, d), batch_size) for d in DIRECTIONS}
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = LMHistory([], [])
    starts = range(0, data["forward"].shape[1] - 1, bptt)
    model.train()
    for _epoch in range(epochs):
        states = {d: None for d in DIRECTIONS}
        totals = {d: 0.0 for d in DIRECTIONS}
        count = 0
        steps = starts
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(starts, desc=f"epoch {_epoch + 1}/{epochs}", leave=False)
        for start in steps:
            loss = 0.0
            for d in DIRECTIONS:
                chunk = data[d][:, start:start + bptt + 1]
                logits, state = model(chunk[:, :-1], d, states[d])
                states[d] = tuple(s.detach() for s in state)
                part = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                   chunk[:, 1:].reshape(-1))
                totals[d] += part.item() * chunk[:, 1:].numel()
                loss = loss + part
            count += chunk[:, 1:].numel()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        history.forward.append(totals["forward"] / count)
        history.backward.append(totals["backward"] / count)
    model.eval()
    return history


@torch.no_grad()
def lm_cross_entropy(model: BiLM, stream: torch.Tensor, direction: str, chunk: int = 512) -> float:
    """Mean cross-entropy (nats) of one direction on a stream read as a single sequence.

    Forward: every token after the first is predicted from all tokens before it; backward:
    every token before the last from all tokens after it. The baselines score the same tokens.
    """
    check_instance("model", model, BiLM, "a BiLM")
    _check_ids("stream", stream, model.config.vocab_size, ndim=1)
    chunk = check_int("chunk", chunk, minimum=1)
    ids = _oriented(stream, direction)[None, :]  # (1, N)
    was_training = model.training
    model.eval()
    state, total = None, 0.0
    for start in range(0, ids.shape[1] - 1, chunk):
        piece = ids[:, start:start + chunk + 1]
        logits, state = model(piece[:, :-1], direction, state)
        total += nn.functional.cross_entropy(logits[0], piece[0, 1:], reduction="sum").item()
    model.train(was_training)
    return total / (ids.shape[1] - 1)


def perplexity(cross_entropy: float) -> float:
    """exp(cross-entropy in nats): the number of equally likely choices the model is as unsure
    as."""
    cross_entropy = check_float("cross_entropy", cross_entropy, minimum=0.0)
    # beyond that exp overflows a float
    return math.exp(cross_entropy) if cross_entropy < 709.78 else math.inf


def _count_ids(name: str, stream, vocab_size: int) -> np.ndarray:
    ids = check_ids(name, stream, vocab_size, ndim=1)
    if ids.size < 2:
        raise ValueError(f"{name} must be a 1-D sequence of at least 2 integer ids, got {ids.size}")
    return ids


def unigram_cross_entropy(train, held_out, vocab_size: int, direction: str = "forward",
                          smoothing: float = 1.0) -> float:
    """Cross-entropy of add-``smoothing`` unigram probabilities from ``train`` on the tokens the
    LM of ``direction`` predicts in ``held_out`` (all but the first, or all but the last)."""
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    smoothing = check_float("smoothing", smoothing, minimum=0.0, min_inclusive=False)
    train = _count_ids("train", train, vocab_size)
    held = _count_ids("held_out", held_out, vocab_size)
    held = held[1:] if _check_direction(direction) == "forward" else held[:-1]
    counts = np.bincount(train, minlength=vocab_size) + smoothing
    return float(-np.mean(np.log(counts[held] / counts.sum())))


def bigram_cross_entropy(train, held_out, vocab_size: int, direction: str = "forward",
                         smoothing: float = 1.0) -> float:
    """Cross-entropy of an add-``smoothing`` bigram model on the same tokens as the LM.

    Forward: P(w_t | w_{t-1}) = (c(w_{t-1} w_t) + k) / (c(w_{t-1} .) + k V); backward: the same
    on the reversed streams, P(w_t | w_{t+1}).
    """
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    smoothing = check_float("smoothing", smoothing, minimum=0.0, min_inclusive=False)
    train = _count_ids("train", train, vocab_size)
    held = _count_ids("held_out", held_out, vocab_size)
    if _check_direction(direction) == "backward":
        train, held = train[::-1], held[::-1]
    pairs = collections.Counter(zip(train[:-1].tolist(), train[1:].tolist()))
    context = np.bincount(train[:-1], minlength=vocab_size)
    log_p = [math.log((pairs.get((a, b), 0) + smoothing) / (context[a] + smoothing * vocab_size))
             for a, b in zip(held[:-1].tolist(), held[1:].tolist())]
    return float(-np.mean(log_p))


# --------------------------------------------------------------------------- ELMo's layer vectors


def encode_sentences(sentences: Sequence[Sequence[str]],
                     vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """Sentences as padded ids (B, T+2) framed by the sentence-end token on both sides, and the
    mask.

    The frame gives each direction the boundary it saw in training before the first word
    (forward) or after the last (backward); word j of sentence b sits at column j + 1.
    """
    sentences = _check_documents("sentences", sentences)
    end = vocab.index(SENTENCE_END)
    rows = [[end] + vocab.encode(s) + [end] for s in sentences]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), end, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for b, row in enumerate(rows):
        ids[b, :len(row)] = torch.tensor(row)
        mask[b, :len(row)] = True
    return ids, mask


def chapter07_cells(model: BiLM) -> dict[str, list[rnn.LSTMCell]]:
    """Chapter 07's ``rnn.LSTMCell`` for every layer and direction, holding the trained weights."""
    check_instance("model", model, BiLM, "a BiLM")
    cells = {}
    for direction in DIRECTIONS:
        lstm = model.lstm(direction)
        cells[direction] = [
            rnn.copy_from_torch(rnn.LSTMCell(lstm.input_size if l == 0 else lstm.hidden_size,
                                             lstm.hidden_size)
                                .to(lstm.weight_hh_l0.dtype), lstm, suffix=f"_l{l}")
            for l in range(lstm.num_layers)]
    return cells


@torch.no_grad()
def elmo_layers(model: BiLM, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """ELMo's layer vectors (L + 1, B, T, 2 dim) of ids (B, T), run by chapter 07's cells.

    Layer 0 is the token vector x duplicated, [x ; x], so that it has the 2 dim entries of the
    LSTM layers; layer j >= 1 is [forward h_j ; backward h_j]: the forward LM's state after
    reading up to the token and the backward LM's state after reading back to it. Padded
    positions (mask False) are zero in the LSTM layers.
    """
    check_instance("model", model, BiLM, "a BiLM")
    _check_ids("ids", ids, model.config.vocab_size, ndim=2)
    if mask is not None:
        mask = rnn.check_mask("mask", mask, *ids.shape)
    cells = chapter07_cells(model)
    x = model.embedding(ids)  # (B, T, D)
    layers = [torch.cat([x, x], dim=2)]
    inputs = {d: x for d in DIRECTIONS}
    for l in range(model.config.layers):
        outs = {}
        for d in DIRECTIONS:
            outs[d], _state = rnn.Recurrent(cells[d][l], reverse=d == "backward")(inputs[d], mask)
        inputs = outs
        layers.append(torch.cat([outs["forward"], outs["backward"]], dim=2))  # (B, T, 2D)
    return torch.stack(layers)  # (L + 1, B, T, 2D)


def check_layer(layer, n_layers: int):
    """Return ``layer`` if it is an index 0 .. n_layers - 1 or ``"mix"``, else raise naming it."""
    if layer == "mix":
        return layer
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be an index 0..{n_layers - 1} or 'mix', got {layer!r}")
    return layer


def occurrence_vectors(model: BiLM, vocab: Vocabulary, sentences: Sequence[Sequence[str]],
                       places: Sequence[tuple[int, int]], layer: int) -> np.ndarray:
    """ELMo vectors (n, 2 dim) of the (sentence, position) occurrences at one layer (0, 1 or 2)."""
    check_instance("model", model, BiLM, "a BiLM")
    layer = check_layer(layer, model.config.layers + 1)
    if layer == "mix":
        raise ValueError("layer must be a single layer index here; mix the layers with ScalarMix")
    if not places:
        raise ValueError("places is empty: give at least one (sentence, position) pair")
    needed = sorted({s for s, _p in places})
    row = {s: r for r, s in enumerate(needed)}
    ids, mask = encode_sentences([sentences[s] for s in needed], vocab)
    layers = elmo_layers(model, ids, mask)
    return np.stack([layers[layer, row[s], p + 1].numpy() for s, p in places])


class ScalarMix(nn.Module):
    """ELMo's task-specific vector: gamma * sum_j softmax(s)_j h_j over the L + 1 layers."""

    def __init__(self, n_layers: int):
        super().__init__()
        self.n_layers = check_int("n_layers", n_layers, minimum=1)
        self.scalars = nn.Parameter(torch.zeros(self.n_layers))  # s_j before the softmax
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        """The layer weights softmax(s), which sum to one."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        if not isinstance(layers, torch.Tensor):
            raise TypeError("layers must be a torch.Tensor (L, ..., D), got "
                            f"{type(layers).__name__}")
        if layers.ndim < 2 or layers.shape[0] != self.n_layers:
            raise ValueError(f"layers must stack {self.n_layers} layers on the first axis, got "
                             f"shape {tuple(layers.shape)}")
        w = self.weights().to(layers.dtype)
        return self.gamma.to(layers.dtype) * torch.tensordot(w, layers, dims=1)  # (..., D)


# --------------------------------------------------------------------------- checkpoints


def save_bilm(model: BiLM, vocab: Vocabulary, path, *, half: bool = True, **info) -> None:
    """Save the config, vocabulary and weights (float16 if ``half``) with any extra ``info``."""
    _checkpoints.save(path, model, half=half, tokens=list(vocab.tokens),
                      counts=list(vocab.counts), unk_token=vocab.unk_token, info=info)


def load_bilm(path) -> tuple[BiLM, Vocabulary, dict]:
    """Load a ``save_bilm`` file as a float32 model in eval mode, its vocabulary and its info."""
    blob, state = _checkpoints.load(path, "scripts/make_checkpoint_09a.py")
    model = BiLM(BiLMConfig(**blob["config"]))
    model.load_state_dict(state)
    vocab = Vocabulary(tuple(blob["tokens"]), tuple(blob["counts"]), blob["unk_token"])
    return model.eval(), vocab, blob["info"]


# ------------------------------------------------------------- the probe: is this word capitalised?


@dataclass(frozen=True)
class ProbeData:
    """Layer vectors of every word that is not the first of its sentence, and its label.

    ``labels[i]`` is 1 when the word is written with a capital letter in the original text
    (mostly names: "Howard", "Sydney", "Qaeda"), else 0. The biLM only ever saw lowercase
    tokens, so whatever it knows about names it learned from the words and their contexts.
    """

    layers: torch.Tensor  # (L + 1, N, 2 dim) float32
    labels: torch.Tensor  # (N,) long
    words: list[str]


def capital_labels(cased_sentences: Sequence[Sequence[str]]) -> list[list[int]]:
    """1 for a token that starts with a capital letter, 0 otherwise; -1 for a sentence's first token
    (every sentence starts with a capital, so it tells nothing)."""
    cased_sentences = _check_documents("cased_sentences", cased_sentences)
    return [[-1 if p == 0 else int(t[:1].isupper()) for p, t in enumerate(s)]
            for s in cased_sentences]


@torch.no_grad()
def probe_data(model: BiLM, vocab: Vocabulary, cased_sentences: Sequence[Sequence[str]],
               batch_size: int = 256) -> ProbeData:
    """ELMo layers and capital labels of the words of ``cased_sentences`` (lowercased for the
    model)."""
    check_instance("model", model, BiLM, "a BiLM")
    cased_sentences = _check_documents("cased_sentences", cased_sentences)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    labels = capital_labels(cased_sentences)
    # little padding
    order = sorted(range(len(cased_sentences)), key=lambda i: len(cased_sentences[i]))
    vectors, ys, words = [], [], []
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        ids, mask = encode_sentences([[t.lower() for t in cased_sentences[i]] for i in batch],
                                     vocab)
        layers = elmo_layers(model, ids, mask)  # (L + 1, B, T, 2D)
        for b, i in enumerate(batch):
            keep = [p for p, y in enumerate(labels[i]) if y >= 0]
            vectors.append(layers[:, b, [p + 1 for p in keep]])
            ys.extend(labels[i][p] for p in keep)
            words.extend(cased_sentences[i][p].lower() for p in keep)
    if not ys:
        raise ValueError("cased_sentences hold no word after a sentence's first: nothing to probe")
    return ProbeData(torch.cat(vectors, dim=1), torch.tensor(ys, dtype=torch.long), words)


class Probe(nn.Module):
    """A linear classifier on one layer or on ELMo's ScalarMix of all layers."""

    def __init__(self, n_layers: int, dim: int, layer="mix", classes: int = 2):
        super().__init__()
        self.layer = check_layer(layer, n_layers)
        self.mix = ScalarMix(n_layers) if layer == "mix" else None
        self.linear = nn.Linear(check_int("dim", dim, minimum=1),
                                check_int("classes", classes, minimum=2))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        features = self.mix(layers) if self.mix is not None else layers[self.layer]  # (N, D)
        return self.linear(features)  # (N, classes)


def train_probe(data: ProbeData, layer="mix", *, steps: int = 30, seed: int = 0) -> Probe:
    """Fit a probe by full-batch L-BFGS on cross-entropy; with ``layer="mix"`` the s_j and gamma
    learn too.

    ``steps`` caps L-BFGS's iterations (each may evaluate the loss a few times in its line search).
    """
    steps = check_int("steps", steps, minimum=1)
    torch.manual_seed(check_int("seed", seed, minimum=0))
    n_layers, _n, dim = data.layers.shape
    probe = Probe(n_layers, dim, layer)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=steps, history_size=10,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(data.layers), data.labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe.eval()


@torch.no_grad()
def probe_accuracy(probe: Probe, data: ProbeData, where: np.ndarray | None = None) -> float:
    """Share of words whose label the probe predicts (only the words where ``where`` is True, if
    given)."""
    right = (probe(data.layers).argmax(dim=1) == data.labels).numpy()
    return float(right[_check_where(where, right.size)].mean())


def _check_where(where, n: int) -> np.ndarray:
    if where is None:
        return np.ones(n, dtype=bool)
    where = np.asarray(where)
    if where.dtype != bool or where.shape != (n,):
        raise ValueError(f"where must be a boolean array with one entry per word ({n}), got "
                         f"{where.dtype} {where.shape}")
    if not where.any():
        raise ValueError("where selects no word")
    return where


def lookup_baseline_accuracy(train: ProbeData, test: ProbeData,
                             where: np.ndarray | None = None) -> float:
    """Accuracy of "each word gets the label it has most often in training" (unseen words: the
    majority).

    This is what one vector per word type can do at best on a per-word property.
    """
    by_word = collections.defaultdict(collections.Counter)
    for w, y in zip(train.words, train.labels.tolist()):
        by_word[w][y] += 1
    majority = collections.Counter(train.labels.tolist()).most_common(1)[0][0]
    guess = [by_word[w].most_common(1)[0][0] if w in by_word else majority for w in test.words]
    right = np.array(guess) == test.labels.numpy()
    return float(right[_check_where(where, right.size)].mean())


def mixed_label_words(data: ProbeData) -> set[str]:
    """Words that occur with both labels in ``data`` (e.g. "west" in "West Bank" and "the west
    of")."""
    seen = collections.defaultdict(set)
    for w, y in zip(data.words, data.labels.tolist()):
        seen[w].add(y)
    return {w for w, ys in seen.items() if len(ys) > 1}
