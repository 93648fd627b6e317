"""Word2Vec (chapter 03): CBOW and skip-gram with three output layers (full softmax,
hierarchical softmax over a Huffman tree, negative sampling), subsampling of frequent words,
a dynamic window and a linearly decaying learning rate.

The module holds each piece twice, on purpose:

- a readable numpy version (``negative_sampling_loss``, ``hierarchical_softmax_loss``,
  ``full_softmax_loss``, ``train_epoch_numpy``) that the notebook builds in the open, and
- a compiled version (numba, ``_train_sentences``, called by ``train_epoch_compiled``) that
  does the same arithmetic with the same random draws, one pair at a time, as word2vec.c and
  gensim do. ``train_word2vec`` cuts the corpus into jobs of about 10,000 words (each with its
  own fixed random state) and runs them on several threads that share the weights without
  locks (Hogwild); a thread takes the next job when it is done, as gensim's workers do.

The two agree number for number on one thread (``tests/test_word2vec.py`` checks whole
epochs); with two threads the order of updates depends on timing, so results vary slightly.

Where word2vec.c and gensim 4.4 differ we follow gensim (the reference the course compares
with): input vectors start uniform in +-1/dim (word2vec.c: +-0.5/dim), and a logistic question
whose score is already beyond +-MAX_EXP = 6 is skipped, for negative sampling as well as for
hierarchical softmax (word2vec.c skips for hierarchical softmax but saturates the negative-sampling
gradient). Both implementations let skip-gram's context word be the input that predicts the
centre word: the same pairs as "the centre predicts its context", turned round.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
from numba import njit

from nlpcourse._checks import check_array, check_choice, check_float, check_ids, check_int
from nlpcourse.evaluate import WordVectors
from nlpcourse.text import Vocabulary, _check_documents, build_vocabulary

__all__ = [
    "OUTPUTS", "MAX_SENTENCE_LENGTH", "TABLE_DOMAIN", "MAX_EXP", "split_long_sentences",
    "HuffmanTree", "huffman_tree", "keep_probability", "noise_distribution", "cumulative_table",
    "draw_negatives", "sigmoid", "binary_logistic_loss", "negative_sampling_loss",
    "hierarchical_softmax_loss", "hierarchical_softmax_probabilities", "full_softmax_loss",
    "Word2VecConfig", "EncodedCorpus", "word2vec_vocabulary", "encode_corpus", "init_weights",
    "lcg_next", "train_epoch_numpy", "guide_table", "check_epoch_inputs", "train_epoch_compiled",
    "Word2VecModel", "JOB_WORDS", "train_word2vec", "warm_up",
]

OUTPUTS = ("negative", "hierarchical", "softmax")
#: gensim cuts sentences longer than this; feeding both the same cut sentences keeps them equal.
MAX_SENTENCE_LENGTH = 10_000
#: The negative-sampling table spans 0 .. 2**31 - 1, as gensim's cumulative table does.
TABLE_DOMAIN = 2**31 - 1
_LCG_MUL, _LCG_ADD, _MASK64 = 25214903917, 11, 2**64 - 1
#: A logistic question whose |score| is at least this gets no update (gensim's MAX_EXP).
MAX_EXP = 6.0


def split_long_sentences(sentences: Sequence[Sequence[str]],
                         max_length: int = MAX_SENTENCE_LENGTH) -> list[list[str]]:
    """Cut every token list into pieces of at most ``max_length`` tokens."""
    max_length = check_int("max_length", max_length, minimum=1)
    sentences = _check_documents("sentences", sentences)
    return [s[i:i + max_length] for s in sentences for i in range(0, max(len(s), 1), max_length)
            if s[i:i + max_length]]


# --------------------------------------------------------------------------- Huffman tree


@dataclass(frozen=True)
class HuffmanTree:
    """A binary Huffman tree over the vocabulary.

    Leaves are words 0..V-1, inner nodes V..2V-2 (the root is the last one). For word w,
    ``codes[w]`` are the branch bits from the root down to w and ``points[w]`` the inner
    nodes passed on the way, numbered 0..V-2 (row of the output matrix for that node).
    """

    codes: tuple[np.ndarray, ...]
    points: tuple[np.ndarray, ...]
    parent: np.ndarray  # (2V-1,), -1 for the root
    bit: np.ndarray  # (2V-1,), the branch bit from a node's parent to the node
    weight: np.ndarray  # (2V-1,), count of a leaf or sum of the leaves below an inner node

    @property
    def n_leaves(self) -> int:
        return len(self.codes)

    def code_lengths(self) -> np.ndarray:
        """Length of each word's code (its depth in the tree)."""
        return np.array([len(c) for c in self.codes], dtype=np.int64)

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Codes (int8) and points (int32) padded into (V, max_length) arrays, and the lengths."""
        lengths = self.code_lengths()
        width = max(int(lengths.max()), 1)
        codes = np.zeros((self.n_leaves, width), dtype=np.int8)
        points = np.zeros((self.n_leaves, width), dtype=np.int32)
        for w, (c, p) in enumerate(zip(self.codes, self.points)):
            codes[w, :len(c)] = c
            points[w, :len(p)] = p
        return codes, points, lengths.astype(np.int32)


def _check_counts(counts) -> np.ndarray:
    array = np.asarray(counts)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("counts must be a non-empty 1-D sequence of word counts, got shape "
                         f"{array.shape}")
    if array.dtype.kind not in "iuf" or not np.all(np.isfinite(array)):
        raise TypeError(f"counts must hold finite numbers, got dtype {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"counts must be >= 0, got {array.min()}")
    return array.astype(np.float64)


class _HeapNode:
    """A node on the Huffman heap, compared by weight alone, as gensim's ``Heapitem``: among
    equal weights the heap's own layout decides which comes out first, so our tree is gensim's."""

    __slots__ = ("weight", "node")

    def __init__(self, weight: float, node: int) -> None:
        self.weight, self.node = weight, node

    def __lt__(self, other: "_HeapNode") -> bool:
        return self.weight < other.weight


def huffman_tree(counts: Sequence[float]) -> HuffmanTree:
    """Build the Huffman tree of word counts: frequent words get short codes.

    Repeatedly merge the two lightest nodes under a new parent; the first one popped gets bit 0,
    the other bit 1. A single word gets the empty code. Ties between equal weights fall as in
    gensim 4 (a heapq of the words in vocabulary order that compares weights only), so with
    the same vocabulary order the codes and points are gensim's, bit for bit.
    """
    weights = _check_counts(counts)
    v = weights.size
    parent = np.full(2 * v - 1, -1, dtype=np.int64)
    bit = np.zeros(2 * v - 1, dtype=np.int8)
    weight = np.concatenate([weights, np.zeros(v - 1)])
    heap = [_HeapNode(float(weights[i]), i) for i in range(v)]
    heapq.heapify(heap)
    for node in range(v, 2 * v - 1):
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        parent[a.node], parent[b.node] = node, node
        bit[a.node], bit[b.node] = 0, 1
        weight[node] = a.weight + b.weight
        heapq.heappush(heap, _HeapNode(weight[node], node))
    codes, points = [], []
    for w in range(v):
        path_bits, path_nodes, node = [], [], w
        while parent[node] != -1:
            path_bits.append(bit[node])
            path_nodes.append(parent[node] - v)
            node = parent[node]
        codes.append(np.array(path_bits[::-1], dtype=np.int8))
        points.append(np.array(path_nodes[::-1], dtype=np.int32))
    return HuffmanTree(tuple(codes), tuple(points), parent, bit, weight)


# --------------------------------------------------------------------------- sampling formulas


def keep_probability(counts: Sequence[float], sample: float = 1e-3) -> np.ndarray:
    """Probability that subsampling keeps one occurrence of each word (word2vec.c / gensim).

    With t = sample * (total count) and c the word's count:
    keep = (sqrt(c / t) + 1) * t / c, capped at 1. ``sample=0`` keeps everything.
    """
    counts = _check_counts(counts)
    sample = check_float("sample", sample, minimum=0.0)
    if sample == 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(np.nan_to_num(keep, nan=1.0, posinf=1.0), 1.0)


def noise_distribution(counts: Sequence[float], power: float = 0.75) -> np.ndarray:
    """Negative-sampling distribution: count ** power, normalised."""
    counts = _check_counts(counts)
    power = check_float("power", power)
    if power < 0 and counts.min() == 0:
        raise ValueError(f"power must be >= 0 when a count is 0 (0 ** {power} is infinite), got "
                         f"{power}")
    weights = counts ** power
    if weights.sum() <= 0:
        raise ValueError("counts must have a positive sum")
    return weights / weights.sum()


def cumulative_table(counts: Sequence[float], power: float = 0.75) -> np.ndarray:
    """Integer cumulative noise table: word w is drawn for r in [table[w-1], table[w])."""
    probs = noise_distribution(counts, power)
    return np.round(np.cumsum(probs) * TABLE_DOMAIN).astype(np.int64)


def draw_negatives(table: np.ndarray, uniform_ints: np.ndarray) -> np.ndarray:
    """Map random integers to words through the cumulative table (searchsorted, right side)."""
    return np.searchsorted(table, np.asarray(uniform_ints) % table[-1], side="right")


# ----------------------------------------------------------------------- the readable output layers


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed in float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _check_scoring_inputs(h: Any, U: Any) -> tuple[np.ndarray, np.ndarray]:
    """A hidden vector h (dim,) and an output matrix U (rows, dim) of real numbers. Arrays pass
    as they are (no copy, no scan: training calls this once per prediction)."""
    U = U if isinstance(U, np.ndarray) and U.dtype.kind == "f" else check_array("U", U, ndim=2)
    h = h if isinstance(h, np.ndarray) and h.dtype.kind == "f" else check_array("h", h, ndim=1)
    if U.ndim != 2 or h.ndim != 1:
        raise ValueError(f"h must be a vector and U a matrix, got shapes {h.shape} and {U.shape}")
    if h.shape[0] != U.shape[1]:
        raise ValueError(f"h has {h.shape[0]} entries but the rows of U have {U.shape[1]}")
    return h, U


def _show_values(values: np.ndarray) -> str:
    return np.array2string(values[:6], precision=3) + (" ..." if values.size > 6 else "")


def binary_logistic_loss(h: np.ndarray, U: np.ndarray, rows: np.ndarray, labels: np.ndarray,
                         max_score: float | None = None):
    """Sum of logistic losses of the scores U[rows] @ h against 0/1 labels.

    Returns (loss, dL/dh, dL/dU[rows]); scores are clipped to +-30. Negative sampling (label 1 for
    the true word, 0 for the noise words) and hierarchical softmax (label 1 - bit at each inner
    node) are both this. With ``max_score`` (training passes MAX_EXP), a row whose |score| >=
    max_score adds no gradient, as in gensim; its loss is still counted.
    """
    h, U = _check_scoring_inputs(h, U)
    rows = check_ids("rows", rows, U.shape[0], ndim=1)
    labels = check_array("labels", labels, ndim=1)
    if labels.shape != rows.shape or not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"labels must be one 0/1 label per row ({rows.size}), got {labels.size} "
                         f"values {_show_values(labels)}")
    scores = U[rows].astype(np.float64) @ h.astype(np.float64)  # (n,)
    scores = np.clip(scores, -30.0, 30.0)  # keeps exp() finite; only extreme scores change
    loss = float(np.sum(np.logaddexp(0.0, np.where(labels == 1, -scores, scores))))
    err = sigmoid(scores) - labels  # dL/dscore
    if max_score is not None:  # gensim skips a question it already answers with |score| >= 6
        err = np.where(np.abs(scores) >= max_score, 0.0, err)
    grad_h = err @ U[rows].astype(np.float64)  # (dim,)
    grad_rows = np.outer(err, h.astype(np.float64))  # (n, dim)
    return loss, grad_h, grad_rows


def negative_sampling_loss(h: np.ndarray, U: np.ndarray, target: int, negatives: Sequence[int],
                           max_score: float | None = None):
    """-log s(u_t . h) - sum_n log s(-u_n . h): loss, dL/dh, dL/dU[[target, *negatives]]."""
    h, U = _check_scoring_inputs(h, U)
    target = int(check_ids("target", target, U.shape[0], ndim=0))
    rows = np.concatenate([[target], check_ids("negatives", negatives, U.shape[0], ndim=1)])
    labels = np.zeros(rows.size)
    labels[0] = 1.0
    return binary_logistic_loss(h, U, rows, labels, max_score)


def hierarchical_softmax_loss(h: np.ndarray, U: np.ndarray, code: np.ndarray, point: np.ndarray,
                              max_score: float | None = None):
    """-log P(word | h) on the word's Huffman path: loss, dL/dh, dL/dU[point]."""
    return binary_logistic_loss(h, U, point, 1 - np.asarray(code, dtype=np.float64), max_score)


def hierarchical_softmax_probabilities(h: np.ndarray, U: np.ndarray,
                                       tree: HuffmanTree) -> np.ndarray:
    """P(w | h) for every word: the product of the branch probabilities on its path."""
    scores = U.astype(np.float64) @ h.astype(np.float64)  # one score per inner node
    probs = np.empty(tree.n_leaves)
    for w, (code, point) in enumerate(zip(tree.codes, tree.points)):
        probs[w] = np.prod(sigmoid((1 - 2 * code.astype(np.float64)) * scores[point]))
    return probs


def full_softmax_loss(h: np.ndarray, U: np.ndarray, target: int):
    """-log softmax(U @ h)[target]: loss, dL/dh, dL/dU (all V rows: this is the expensive part)."""
    h, U = _check_scoring_inputs(h, U)
    target = int(check_ids("target", target, U.shape[0], ndim=0))
    scores = U.astype(np.float64) @ h.astype(np.float64)  # (V,)
    scores -= scores.max()
    probs = np.exp(scores) / np.exp(scores).sum()
    loss = float(-np.log(probs[target]))
    err = probs.copy()
    err[target] -= 1.0
    return loss, err @ U.astype(np.float64), np.outer(err, h.astype(np.float64))


# --------------------------------------------------------------------------- configuration and data


@dataclass(frozen=True)
class Word2VecConfig:
    """Settings of a Word2Vec run; the defaults are gensim's (skip-gram, negative sampling)."""

    sg: bool = True  # skip-gram; False: CBOW (mean of the context)
    output: str = "negative"  # "negative", "hierarchical" or "softmax"
    dim: int = 100
    window: int = 5
    min_count: int = 5
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 1e-4
    epochs: int = 5
    threads: int = 2
    seed: int = 1
    ns_exponent: float = 0.75
    max_softmax_vocab: int = 5000  # the full softmax costs V * dim per prediction
    # track the mean loss per epoch (gensim's default is off; it costs ~10%)
    compute_loss: bool = True

    def __post_init__(self) -> None:
        self.checked()

    def checked(self) -> "Word2VecConfig":
        """Return self after checking every field (a ValueError/TypeError names the bad one);
        ``__post_init__`` runs it, so a config that exists is valid."""
        if not isinstance(self.sg, bool):
            raise TypeError(f"sg must be a bool, got {type(self.sg).__name__} {self.sg!r}")
        check_choice("output", self.output, OUTPUTS)
        check_int("dim", self.dim, minimum=1)
        check_int("window", self.window, minimum=1)
        check_int("min_count", self.min_count, minimum=1)
        check_int("negative", self.negative, minimum=0)
        if self.output == "negative" and self.negative < 1:
            raise ValueError("negative must be >= 1 when output='negative', got 0")
        check_float("sample", self.sample, minimum=0.0)
        check_float("alpha", self.alpha, minimum=0.0, min_inclusive=False)
        check_float("min_alpha", self.min_alpha, minimum=0.0, maximum=self.alpha)
        check_int("epochs", self.epochs, minimum=1)
        check_int("threads", self.threads, minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_float("ns_exponent", self.ns_exponent)
        check_int("max_softmax_vocab", self.max_softmax_vocab, minimum=2)
        if not isinstance(self.compute_loss, bool):
            raise TypeError(f"compute_loss must be a bool, got {type(self.compute_loss).__name__}")
        return self


@dataclass(frozen=True)
class EncodedCorpus:
    """Sentences as one flat array of word ids (out-of-vocabulary words dropped) plus offsets."""

    ids: np.ndarray  # (N,) int32
    starts: np.ndarray  # (S + 1,) int64: sentence s is ids[starts[s]:starts[s+1]]

    @property
    def n_words(self) -> int:
        return int(self.ids.size)


def word2vec_vocabulary(sentences: Sequence[Sequence[str]], min_count: int = 5) -> Vocabulary:
    """Words seen at least ``min_count`` times, most frequent first, no unknown token.

    Equal counts in gensim's order (the word first seen later comes first), so the Huffman tree,
    the noise table and the rows of the vectors are gensim's on the same sentences."""
    sentences = _check_documents("sentences", sentences)
    min_count = check_int("min_count", min_count, minimum=1)
    if not any(sentences):
        raise ValueError("sentences holds no tokens: the corpus is empty")
    try:
        return build_vocabulary(sentences, min_count=min_count, unk_token=None, ties="gensim")
    except ValueError:
        raise ValueError(f"no word occurs at least min_count={min_count} times in sentences; "
                         "lower min_count or give a larger corpus") from None


def encode_corpus(sentences: Sequence[Sequence[str]], vocab: Vocabulary) -> EncodedCorpus:
    """Word ids of every sentence, words outside ``vocab`` left out (as word2vec.c does)."""
    sentences = _check_documents("sentences", sentences)
    index = {t: i for i, t in enumerate(vocab.tokens) if t != vocab.unk_token}
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    tokens = itertools.chain.from_iterable(sentences)
    ids = np.fromiter(map(index.get, tokens, itertools.repeat(-1)), dtype=np.int64,
                      count=int(lengths.sum()))
    known = ids >= 0
    if not known.any():
        raise ValueError("no word of sentences is in the vocabulary: the corpus is all unknown "
                         "words")
    sentence_of = np.repeat(np.arange(len(sentences)), lengths)
    starts = np.concatenate([[0], np.cumsum(np.bincount(sentence_of[known],
                                                        minlength=len(sentences)))])
    return EncodedCorpus(ids[known].astype(np.int32), starts.astype(np.int64))


def init_weights(vocab_size: int, config: Word2VecConfig) -> tuple[np.ndarray, np.ndarray]:
    """Input vectors uniform in +-1/dim, output vectors zero; float32.

    gensim's ``prep_vectors`` with the same seed, step by step (word2vec.c draws in +-0.5/dim).
    """
    rng = np.random.default_rng(config.seed)
    w_in = rng.random((vocab_size, config.dim), dtype=np.float32)  # [0, 1)
    w_in *= 2.0
    w_in -= 1.0  # [-1, 1)
    w_in /= config.dim
    out_rows = vocab_size - 1 if config.output == "hierarchical" else vocab_size
    return w_in, np.zeros((max(out_rows, 1), config.dim), dtype=np.float32)


# -------------------------------------------------------------------- random numbers (word2vec.c's)


def lcg_next(state: int) -> int:
    """word2vec.c's generator: state * 25214903917 + 11 modulo 2**64."""
    return (state * _LCG_MUL + _LCG_ADD) & _MASK64



# --------------------------------------------------------------------------- the readable epoch


def train_epoch_numpy(corpus: EncodedCorpus, w_in: np.ndarray, w_out: np.ndarray,
                      config: Word2VecConfig,
                      keep: np.ndarray, table: np.ndarray | None = None,
                      tree: HuffmanTree | None = None,
                      seed: int = 1, words_before: int = 0,
                      words_total: int | None = None) -> tuple[float, int]:
    """One pass over the corpus in plain numpy, updating ``w_in`` and ``w_out`` in place.

    The slow, readable twin of the compiled kernel: the same random draws in the same order,
    so on one thread the two give the same weights. Returns (summed loss, predictions made).
    """
    keep, table = check_epoch_inputs(corpus, w_in, w_out, config, keep, table, tree)
    seed = check_int("seed", seed, minimum=0)
    words_total = words_total or corpus.n_words * config.epochs
    state = seed & _MASK64
    loss_sum, predictions, words_done = 0.0, 0, 0

    def draw() -> int:
        nonlocal state
        state = lcg_next(state)
        return (state >> 16) & 0xFFFFFFFF

    def output_layer(h: np.ndarray, target: int, lr: float) -> tuple[float, np.ndarray]:
        """Loss and the change to apply to the input vector(s); updates w_out in place."""
        if config.output == "negative":
            negatives = []
            for _ in range(config.negative):
                word = int(draw_negatives(table, draw()))
                if word != target:
                    negatives.append(word)
            rows = np.array([target] + negatives)
            loss, grad_h, grad_rows = negative_sampling_loss(h, w_out, target, negatives, MAX_EXP)
        elif config.output == "hierarchical":
            rows = tree.points[target]
            loss, grad_h, grad_rows = hierarchical_softmax_loss(h, w_out, tree.codes[target], rows,
                                                                MAX_EXP)
        else:
            rows = np.arange(w_out.shape[0])
            loss, grad_h, grad_rows = full_softmax_loss(h, w_out, target)
        np.add.at(w_out, rows, (-lr * grad_rows).astype(np.float32))
        return loss, (-lr * grad_h).astype(np.float32)

    for s in range(len(corpus.starts) - 1):
        sentence = corpus.ids[corpus.starts[s]:corpus.starts[s + 1]]
        progress = min(1.0, (words_before + words_done) / words_total)
        lr = config.alpha - (config.alpha - config.min_alpha) * progress
        # subsampling: frequent words are dropped before the window is laid over the sentence
        kept = [int(w) for w in sentence if keep[w] >= 1.0 or draw() / 2**32 <= keep[w]]
        words_done += len(sentence)
        for i, center in enumerate(kept):
            reach = config.window - draw() % config.window  # dynamic window: 1..window
            context = [kept[j] for j in range(max(0, i - reach), min(len(kept), i + reach + 1))
                       if j != i]
            if config.sg:
                # skip-gram: centre and context pairs; as in word2vec.c and gensim, each context
                for word in context:  # word's vector is the input that predicts the centre word
                    loss, delta = output_layer(w_in[word].copy(), center, lr)
                    w_in[word] += delta
                    loss_sum, predictions = loss_sum + loss, predictions + 1
            elif context:  # CBOW: the mean of the context predicts the centre word
                h = w_in[context].mean(axis=0, dtype=np.float32)
                loss, delta = output_layer(h, center, lr)
                for word in context:  # word2vec.c adds the whole change to every context word
                    w_in[word] += delta
                loss_sum, predictions = loss_sum + loss, predictions + 1
    return loss_sum, predictions


# --------------------------------------------------------------------------- the compiled kernel
# The same arithmetic as train_epoch_numpy, one pair at a time as word2vec.c and gensim's
# word2vec_inner.pyx do it: float32 weights and scratch vectors, no allocation inside the loops,
# the random state in a register, fastmath so LLVM vectorises the dim-long dot products and
# axpy updates (what gensim gets from BLAS sdot/saxpy). Two things measured to matter (1 thread,
# the course corpus): row indices are read into locals before a dim-long loop (CBOW's context
# sum and scatter ran 2x slower with kept[j] inside the loop, unvectorised), and the per-prediction
# functions are inlined into the sentence loop (about 15% on every model).


@njit(cache=True, nogil=True)
def _lcg_step(state):
    """(next state, 32 random bits): word2vec.c's generator, as ``lcg_next``."""
    state = state * np.uint64(25214903917) + np.uint64(11)
    return state, (state >> np.uint64(16)) & np.uint64(0xFFFFFFFF)


#: Buckets of the guide table: about 4 per vocabulary word, at most 2**20.
def _guide_size(table: np.ndarray) -> int:
    return int(min(2**20, max(16, 4 * table.shape[0])))


def guide_table(table: np.ndarray, size: int | None = None) -> tuple[np.ndarray, float]:
    """A guide (cut-point) table that finds ``draw_negatives``' word without a binary search.

    Bucket g covers the integers from g * top / size on; ``guide[g]`` is the word of the
    bucket's first integer (minus a margin of 2 for rounding). For r the kernel starts at
    guide[int(r * scale)] and steps right while table[word] <= r: the same word as
    ``np.searchsorted(table, r, side="right")``, after about one step instead of log2(V).
    """
    table = np.asarray(table, dtype=np.int64)
    size = size or _guide_size(table)
    top = int(table[-1])
    lowest = np.maximum(np.arange(size, dtype=np.int64) * top // size - 2, 0)
    return np.searchsorted(table, lowest, side="right").astype(np.int64), size / top


@njit(cache=True, nogil=True)
def _guided_word(table, guide, scale, r):
    """np.searchsorted(table, r, side="right") through the guide table (see ``guide_table``)."""
    word = guide[min(np.int64(r * scale), guide.shape[0] - 1)]
    while table[word] <= r:
        word += 1
    return word


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _logistic_rows(h, w_out, rows, labels, n, lr, delta, err, compute_loss, distinct):
    """Compiled ``binary_logistic_loss`` plus its SGD step: updates w_out[rows], adds to delta.

    ``distinct``: no row repeats (a Huffman path), so each row is updated as soon as its error is
    known, while it is in cache; the result is the same. Negative samples can repeat a row, so
    then all rows change after all errors are known, as in the numpy twin."""
    dim = h.shape[0]
    loss = 0.0
    for k in range(n):
        r = rows[k]
        score = np.float32(0.0)
        for j in range(dim):  # float32 dot product; fastmath lets LLVM vectorise it
            score += w_out[r, j] * h[j]
        x = min(max(score, np.float32(-30.0)), np.float32(30.0))  # as the numpy twin's clip
        e = np.exp(-x)
        if compute_loss:
            loss += np.log1p(np.float64(e)) + (0.0 if labels[k] == 1 else np.float64(x))
        if abs(x) >= MAX_EXP:  # gensim skips a question already answered with |score| >= 6
            err[k] = 0.0
            continue
        err[k] = lr * (np.float32(1.0) / (np.float32(1.0) + e) - labels[k])  # lr * dL/dscore
        g = err[k]
        for j in range(dim):
            delta[j] -= g * w_out[r, j]
        if distinct:  # with two threads, one visit per row also halves the cache-line traffic
            for j in range(dim):
                w_out[r, j] -= g * h[j]
    if distinct:
        return loss
    for k in range(n):  # output rows change after all errors are known, as in the numpy twin
        r = rows[k]
        g = err[k]
        for j in range(dim):
            w_out[r, j] -= g * h[j]
    return loss


@njit(cache=True, nogil=True)
def _softmax_rows(h, w_out, target, lr, delta, scores):
    """Compiled ``full_softmax_loss`` plus its SGD step over all V output rows."""
    v, dim = w_out.shape
    top = -np.inf
    for r in range(v):
        s = 0.0
        for j in range(dim):
            s += w_out[r, j] * h[j]
        scores[r] = s
        top = max(top, s)
    total = 0.0
    for r in range(v):
        scores[r] = np.exp(scores[r] - top)
        total += scores[r]
    loss = -np.log(scores[target] / total)
    for r in range(v):
        e = scores[r] / total - (1.0 if r == target else 0.0)
        scores[r] = e
        for j in range(dim):
            delta[j] -= lr * e * w_out[r, j]
    for r in range(v):
        g = lr * scores[r]
        for j in range(dim):
            w_out[r, j] -= np.float32(g * h[j])
    return loss


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _predict(h, target, w_out, output, state, lr, scratch, compute_loss):
    """One prediction of ``target`` from ``h``: returns (loss, new random state); delta gets lr *
    -dL/dh.

    ``output`` is the output layer's settings (``_output_layer``), ``scratch`` the kernel's work
    arrays (delta, rows, labels, err, scores)."""
    mode, negative, table, guide, scale, codes, points, lengths = output
    delta, rows, labels, err, scores = scratch
    for j in range(delta.shape[0]):
        delta[j] = 0.0
    if mode == 0:  # negative sampling: the true word, then `negative` draws from the noise table
        rows[0] = target
        labels[0] = 1.0
        n = 1
        top = table[table.shape[0] - 1]
        for _ in range(negative):
            state, bits = _lcg_step(state)
            word = _guided_word(table, guide, scale, np.int64(bits) % top)
            if word != target:
                rows[n] = word
                labels[n] = 0.0
                n += 1
        return _logistic_rows(h, w_out, rows, labels, n, np.float32(lr), delta, err,
                              compute_loss, False), state
    if mode == 1:  # hierarchical softmax: one logistic question per inner node on the Huffman path
        n = lengths[target]
        for k in range(n):
            rows[k] = points[target, k]
            labels[k] = 1.0 - codes[target, k]
        return _logistic_rows(h, w_out, rows, labels, n, np.float32(lr), delta, err,
                              compute_loss, True), state
    return _softmax_rows(h, w_out, target, lr, delta, scores), state


@njit(cache=True, nogil=True, fastmath=True)
def _train_sentences(ids, starts, first, last, w_in, w_out, run, output, words_before, seed):
    """Train on sentences first..last-1; the compiled twin of ``train_epoch_numpy``.

    ``run`` holds the run's settings and ``output`` the output layer's (``_kernel_settings``).
    ``words_before`` counts the run's words before sentence ``first``: the learning rate of a
    sentence falls linearly with its position in the run. Returns (summed loss, predictions).
    """
    sg, window, keep, alpha, min_alpha, words_total, compute_loss = run
    mode, negative = output[0], output[1]
    codes = output[5]
    dim = w_in.shape[1]
    state = np.uint64(seed)
    longest = 1
    for s in range(first, last):
        longest = max(longest, starts[s + 1] - starts[s])
    kept = np.empty(longest, dtype=np.int32)
    h = np.empty(dim, dtype=np.float32)
    delta = np.empty(dim, dtype=np.float32)
    slots = max(negative + 1, codes.shape[1])
    rows = np.empty(slots, dtype=np.int64)
    labels = np.empty(slots, dtype=np.float32)
    err = np.empty(slots, dtype=np.float32)
    scores = np.empty(w_out.shape[0] if mode == 2 else 1, dtype=np.float64)
    scratch = (delta, rows, labels, err, scores)
    loss_sum = 0.0
    predictions = 0
    for s in range(first, last):
        progress = min(1.0, (words_before + starts[s] - starts[first]) / words_total)
        lr = alpha - (alpha - min_alpha) * progress
        n = 0
        for i in range(starts[s], starts[s + 1]):  # subsampling
            word = ids[i]
            if keep[word] >= 1.0:
                kept[n] = word
                n += 1
            else:
                state, bits = _lcg_step(state)
                if bits / 4294967296.0 <= keep[word]:
                    kept[n] = word
                    n += 1
        for i in range(n):
            state, bits = _lcg_step(state)
            reach = window - np.int64(bits % np.uint64(window))  # dynamic window: 1..window
            lo = max(0, i - reach)
            hi = min(n, i + reach + 1)
            if sg:  # each context word's vector predicts the centre word (word2vec.c, gensim)
                for j in range(lo, hi):
                    if j == i:
                        continue
                    word = kept[j]
                    # the context row is read, not written, until the prediction is done: no copy
                    loss, state = _predict(w_in[word], kept[i], w_out, output, state, lr, scratch,
                                           compute_loss)
                    loss_sum += loss
                    predictions += 1
                    for d in range(dim):
                        w_in[word, d] += delta[d]
            elif hi - lo > 1:  # CBOW: the mean of the context predicts the centre word
                for d in range(dim):
                    h[d] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        # a local: LLVM cannot tell a store into h from one into kept,
                        # so kept[j] read in the loop would stop it vectorising
                        word = kept[j]
                        for d in range(dim):
                            h[d] += w_in[word, d]
                inv = np.float32(1.0) / np.float32(hi - lo - 1)
                for d in range(dim):
                    h[d] *= inv
                loss, state = _predict(h, kept[i], w_out, output, state, lr, scratch, compute_loss)
                loss_sum += loss
                predictions += 1
                for j in range(lo, hi):
                    if j != i:
                        word = kept[j]
                        for d in range(dim):
                            w_in[word, d] += delta[d]
    return loss_sum, predictions


def check_epoch_inputs(corpus: EncodedCorpus, w_in: np.ndarray, w_out: np.ndarray,
                       config: Word2VecConfig,
                       keep: Any, table: Any = None,
                       tree: HuffmanTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Refuse what would make an epoch read or write outside its arrays; returns (keep, table) as
    the kernels take them (float64, int64).

    The compiled kernel trusts its indices: a corpus id past the rows of ``w_in``, a noise table
    longer than ``w_out`` or a Huffman tree of another vocabulary would corrupt memory and kill
    the Python process, so every epoch function checks first.
    """
    if not isinstance(config, Word2VecConfig):
        raise TypeError(f"config must be a Word2VecConfig, got {type(config).__name__}")
    if not isinstance(corpus, EncodedCorpus):
        raise TypeError("corpus must be an EncodedCorpus (from encode_corpus), got "
                        f"{type(corpus).__name__}")
    ids, starts = corpus.ids, corpus.starts
    if not (isinstance(ids, np.ndarray) and ids.dtype == np.int32 and ids.ndim == 1):
        raise TypeError("corpus.ids must be a 1-D int32 array (encode_corpus makes it)")
    if not (isinstance(starts, np.ndarray) and starts.dtype == np.int64 and starts.ndim == 1
            and starts.size >= 1
            and starts[0] == 0 and starts[-1] == ids.size and np.all(np.diff(starts) >= 0)):
        raise ValueError("corpus.starts must be int64 sentence offsets rising from 0 to "
                         "len(corpus.ids)")
    for name, w in (("w_in", w_in), ("w_out", w_out)):
        if not (isinstance(w, np.ndarray) and w.dtype == np.float32 and w.ndim == 2):
            kind = (f"{w.dtype} array of shape {w.shape}" if isinstance(w, np.ndarray)
                    else type(w).__name__)
            raise TypeError(f"{name} must be a 2-D float32 numpy array (init_weights makes it), "
                            f"got {kind}")
        if not (w.flags.c_contiguous and w.flags.writeable):
            raise ValueError(f"{name} must be C-contiguous and writeable: it is updated in place")
    vocab_size, dim = w_in.shape
    if vocab_size == 0 or dim == 0:
        raise ValueError(f"w_in must have at least one row and one column, got shape {w_in.shape}")
    if w_out.shape[1] != dim:
        raise ValueError(f"w_out must have the same width as w_in ({dim}), got shape {w_out.shape}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"corpus ids must lie in [0, {vocab_size}) (the rows of w_in), "
                         f"got values in [{int(ids.min())}, {int(ids.max())}]")
    keep = check_array("keep", keep, ndim=1, dtype=np.float64)
    if keep.shape[0] != vocab_size or keep.min() < 0 or keep.max() > 1:
        raise ValueError("keep must hold one probability in [0, 1] per row of w_in "
                         f"({vocab_size}), got {keep.shape[0]} values in [{keep.min()}, "
                         f"{keep.max()}]")
    mode = OUTPUTS.index(config.output)
    needed = {0: vocab_size, 1: vocab_size - 1, 2: vocab_size}[mode]
    if w_out.shape[0] < max(needed, 1):
        raise ValueError(f"w_out needs at least {max(needed, 1)} rows for output={config.output!r} "
                         f"and {vocab_size} words, got {w_out.shape[0]}")
    if mode == 0:
        if table is None:
            raise ValueError("table (cumulative_table of the word counts) is required for "
                             "output='negative'")
        table = check_array("table", table, ndim=1, dtype=np.float64)
        if table.size == 0 or table.size > w_out.shape[0] or np.any(table != np.round(table)):
            raise ValueError(f"table must be 1 to {w_out.shape[0]} whole numbers (one per word), "
                             f"got {table.size}")
        if table[0] < 0 or np.any(np.diff(table) < 0) or table[-1] <= 0:
            raise ValueError("table must be a non-decreasing cumulative count that ends above 0 "
                             "(cumulative_table)")
        table = table.astype(np.int64)
    else:
        table = np.ones(1, dtype=np.int64)
    if mode == 1:
        if not isinstance(tree, HuffmanTree):
            raise TypeError("tree must be the HuffmanTree of the vocabulary for "
                            f"output='hierarchical', got {type(tree).__name__}")
        if tree.n_leaves != vocab_size:
            raise ValueError(f"tree has {tree.n_leaves} leaves but w_in has {vocab_size} rows: use "
                             "the same vocabulary")
    return keep, table


def train_epoch_compiled(corpus: EncodedCorpus, w_in: np.ndarray, w_out: np.ndarray,
                         config: Word2VecConfig,
                         keep: np.ndarray, table: np.ndarray | None = None,
                         tree: HuffmanTree | None = None,
                         seed: int = 1, words_before: int = 0,
                         words_total: int | None = None) -> tuple[float, int]:
    """``train_epoch_numpy`` with the compiled kernel: same arguments, same draws, same result (one
    thread)."""
    keep, table = check_epoch_inputs(corpus, w_in, w_out, config, keep, table, tree)
    seed = check_int("seed", seed, minimum=0)
    words_before = check_int("words_before", words_before, minimum=0)
    words_total = (corpus.n_words * config.epochs if words_total is None
                   else check_int("words_total", words_total, minimum=1))
    run, output = _kernel_settings(config, keep, table, tree, words_total)
    return _train_sentences(corpus.ids, corpus.starts, 0, len(corpus.starts) - 1, w_in, w_out, run,
                            output,
                            words_before, seed & _MASK64)


def _kernel_settings(config: Word2VecConfig, keep: np.ndarray, table: np.ndarray,
                     tree: HuffmanTree | None,
                     words_total: int) -> tuple[tuple, tuple]:
    """The compiled kernel's arguments, built in one place: the run's settings (skip-gram or CBOW,
    window, keep probabilities, learning-rate schedule, loss tracking) and the output layer's
    (mode, negatives, noise table and its guide, Huffman codes, points and lengths)."""
    mode = OUTPUTS.index(config.output)
    codes, points, lengths = _tree_arrays(tree if mode == 1 else None)
    guide, scale = guide_table(table)
    run = (config.sg, config.window, keep, config.alpha, config.min_alpha, max(words_total, 1),
           config.compute_loss)
    output = (mode, config.negative, table, guide, scale, codes, points, lengths)
    return run, output


def _tree_arrays(tree: HuffmanTree | None):
    if tree is None:
        return np.zeros((1, 1), np.int8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
    return tree.padded()


# --------------------------------------------------------------------------- training


@dataclass
class Word2VecModel:
    """A trained Word2Vec: input vectors as ``wv`` (what gensim calls ``model.wv``), the output
    layer's weights, the mean loss per prediction of each epoch and the run's speed."""

    wv: WordVectors
    w_out: np.ndarray
    config: Word2VecConfig
    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    words_per_second: float = 0.0
    tree: HuffmanTree | None = None

    @property
    def vocab(self) -> Vocabulary:
        return self.wv.vocab

    def most_similar(self, word: str | Sequence[str], topn: int = 10, negative: Sequence[str] = ()):
        """Nearest words by cosine (see ``WordVectors.most_similar``)."""
        return self.wv.most_similar(word, topn=topn, negative=negative)

    def analogy(self, a: str, b: str, c: str, topn: int = 1):
        """a is to b as c is to ? (see ``WordVectors.analogy``)."""
        return self.wv.analogy(a, b, c, topn=topn)


#: Sentences are grouped into jobs of about this many words (gensim's batch_words); threads
#: take the next job when they finish one, so a slow thread never holds the others up.
JOB_WORDS = 10_000


def _jobs(starts: np.ndarray, job_words: int = JOB_WORDS) -> list[tuple[int, int]]:
    """Runs of consecutive sentences (first, last) of at most ``job_words`` words (one sentence at
    least)."""
    jobs, first = [], 0
    for s in range(1, len(starts)):
        if starts[s] - starts[first] > job_words and s - 1 > first:
            jobs.append((first, s - 1))
            first = s - 1
    jobs.append((first, len(starts) - 1))
    return jobs


def _job_seed(seed: int, epoch: int, job: int) -> int:
    """The random state a job starts from: fixed by (seed, epoch, job), whichever thread runs it.

    Hashed, not counted: LCG streams started from states that differ by a constant stay
    correlated, so neighbouring jobs would draw related negatives and subsampling coins.
    Like gensim's per-job ``next_random``, the state has 48 random bits.
    """
    return (int(np.random.SeedSequence([seed, epoch, job]).generate_state(1, np.uint64)[0])
            & (2**48 - 1))


def train_word2vec(sentences: Sequence[Sequence[str]], config: Word2VecConfig | None = None,
                   progress: bool = False, **overrides) -> Word2VecModel:
    """Train Word2Vec on token lists with the compiled kernel; ``overrides`` change ``config``.

    ``train_word2vec(sentences, epochs=5, sg=False)`` trains CBOW for five epochs.
    """
    config = replace(config or Word2VecConfig(), **overrides)  # replace() checks the fields again
    start = time.perf_counter()
    sentences = split_long_sentences(sentences)
    vocab = word2vec_vocabulary(sentences, config.min_count)
    if len(vocab) < 2:
        raise ValueError(f"the vocabulary has {len(vocab)} word; Word2Vec needs at least 2 (lower "
                         "min_count)")
    if config.output == "softmax" and len(vocab) > config.max_softmax_vocab:
        raise ValueError("output='softmax' costs vocabulary x dim per prediction: the vocabulary "
                         f"has {len(vocab)} words, more than "
                         f"max_softmax_vocab={config.max_softmax_vocab}; raise min_count or use "
                         "output='negative' or 'hierarchical'")
    corpus = encode_corpus(sentences, vocab)
    counts = np.asarray(vocab.counts, dtype=np.float64)
    keep = keep_probability(counts, config.sample)
    w_in, w_out = init_weights(len(vocab), config)
    mode = OUTPUTS.index(config.output)
    table = (cumulative_table(counts, config.ns_exponent) if mode == 0
             else np.ones(1, dtype=np.int64))
    tree = huffman_tree(counts) if mode == 1 else None
    jobs = _jobs(corpus.starts)
    tasks = iter([(epoch, job) for epoch in range(config.epochs) for job in range(len(jobs))])
    words_total = corpus.n_words * config.epochs
    run, output = _kernel_settings(config, keep, table, tree, words_total)
    loss_sums, predictions = np.zeros(config.epochs), np.zeros(config.epochs, dtype=np.int64)
    lock = threading.Lock()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs * len(jobs), desc="word2vec jobs")

    def work() -> None:
        while True:
            with lock:  # the next (epoch, job) in order; the kernel itself runs without the GIL
                epoch, job = next(tasks, (None, None))
            if epoch is None:
                return
            first, last = jobs[job]
            loss, n = _train_sentences(corpus.ids, corpus.starts, first, last, w_in, w_out, run,
                                       output,
                                       epoch * corpus.n_words + int(corpus.starts[first]),
                                       _job_seed(config.seed, epoch, job))
            with lock:
                loss_sums[epoch] += loss
                predictions[epoch] += n
                if bar is not None:
                    bar.update(1)

    if config.threads == 1:
        work()
    else:  # Hogwild: threads share w_in and w_out without locks, as word2vec.c and gensim do
        pool = [threading.Thread(target=work) for _ in range(config.threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    if bar is not None:
        bar.close()
    losses = [float(l / max(n, 1)) if config.compute_loss else float("nan")
              for l, n in zip(loss_sums, predictions)]
    seconds = time.perf_counter() - start
    return Word2VecModel(wv=WordVectors(w_in, vocab), w_out=w_out, config=config,
                         epoch_losses=losses,
                         seconds=seconds, words_per_second=words_total / seconds, tree=tree)


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel variant on a tiny corpus."""
    tiny = [["a", "b", "c", "a", "b", "a"]] * 3
    for sg in (True, False):
        for output in OUTPUTS:
            train_word2vec(tiny, min_count=1, dim=4, epochs=1, threads=1, sg=sg, output=output)
