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
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from nlpcourse import rnn
from nlpcourse._checks import check_float, check_int
from nlpcourse.text import Vocabulary, _check_documents

#: The token that ends every sentence in the language model's stream.
SENTENCE_END = "</s>"

# --------------------------------------------------------------------------- words with varied contexts


def occurrences(sentences: Sequence[Sequence[str]], word: str, window: int = 5) -> list[tuple[int, int]]:
    """Every (sentence index, position) where ``word`` occurs, in corpus order.

    ``window`` is only checked here (same rule as ``context_diversity``), so the two calls
    accept the same arguments.
    """
    sentences = _check_documents("sentences", sentences)
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__} {word!r}")
    check_int("window", window, minimum=1)
    return [(s, p) for s, sentence in enumerate(sentences) for p, token in enumerate(sentence) if token == word]


def _context_ids(sentence: Sequence[str], position: int, window: int, index: dict[str, int]) -> set[int]:
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
        raise ValueError(f"contexts must be a 2-D array with at least 4 rows, got shape {contexts.shape}")
    return _split_score_from_gram(contexts @ contexts.T)


def context_vectors(sentences: Sequence[Sequence[str]], places: Sequence[tuple[int, int]], window: int = 5
                    ) -> np.ndarray:
    """Unit-length idf-weighted bag-of-context-words vectors, one row per (sentence, position).

    The context of an occurrence is the set of other words within ``window`` positions in its
    sentence (the word itself excluded); each context word is weighted by its inverse sentence
    frequency log(S / sentences containing it), so "the" and "of" count for little.
    """
    sentences = _check_documents("sentences", sentences)
    window = check_int("window", window, minimum=1)
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


def context_diversity(sentences: Sequence[Sequence[str]], *, min_count: int = 20, window: int = 5, top: int = 10,
                      sample: int | None = None, repeats: int = 10, seed: int = 0) -> list[tuple[str, float]]:
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
    sample = min_count if sample is None else check_int("sample", sample, minimum=4, maximum=min_count)
    repeats = check_int("repeats", repeats, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if not any(sentences):
        raise ValueError("sentences holds no tokens: the corpus is empty")
    counts = collections.Counter(t for s in sentences for t in s)
    candidates = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not candidates:
        raise ValueError(f"no word occurs at least min_count={min_count} times in sentences; lower min_count")
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
    contexts = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ contexts)  # unit rows
    rng = np.random.default_rng(seed)
    scores = []
    for word in candidates:
        draws = [np.sort(rng.choice(len(places[word]), size=sample, replace=False)) for _ in range(repeats)]
        used, position = np.unique(np.concatenate(draws), return_inverse=True)
        rows = contexts[np.asarray(places[word])[used]]
        gram = (rows @ rows.T).toarray()  # cosine similarities of every drawn pair
        parts = np.split(position, repeats)
        total = sum(_split_score_from_gram(gram[np.ix_(part, part)])[0] for part in parts)
        scores.append((word, total / repeats))
    scores.sort(key=lambda ws: (-ws[1], ws[0]))
    return scores[:top]
