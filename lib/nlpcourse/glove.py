"""GloVe (chapter 03): global co-occurrence counts, then weighted least squares trained with
AdaGrad, as Pennington, Socher and Manning (2014) do.

Counting: within a window of ``window`` words, a pair at distance d adds 1/d to X[i, j] and
to X[j, i]. Loss over the non-zero cells:

    J = 1/2 sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,   f(x) = min(1, (x/x_max)^alpha)

(the 1/2 is the reference code's; it only scales the gradient). Each epoch visits the cells
in a new random order and takes one AdaGrad step per cell, with glove.c's bookkeeping (see
``_adagrad_cells``); the word vector is W + W~.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from numba import njit

from nlpcourse._checks import check_array, check_float, check_int
from nlpcourse.evaluate import WordVectors
from nlpcourse.word2vec import (EncodedCorpus, encode_corpus, split_long_sentences,
                                word2vec_vocabulary)

__all__ = [
    "GloVeConfig", "cooccurrence_matrix", "weighting", "glove_loss", "GloVeParameters",
    "init_parameters", "adagrad_epoch", "GloVeModel", "train_glove",
]


@dataclass(frozen=True)
class GloVeConfig:
    """Settings of a GloVe run; defaults follow the paper (x_max 100, alpha 3/4, lr 0.05)."""

    dim: int = 100
    window: int = 10
    min_count: int = 5
    x_max: float = 100.0
    alpha: float = 0.75
    learning_rate: float = 0.05
    epochs: int = 25
    threads: int = 1
    seed: int = 1

    def __post_init__(self) -> None:
        self.checked()

    def checked(self) -> "GloVeConfig":
        """Return self after checking every field (a ValueError/TypeError names the bad one);
        ``__post_init__`` runs it, so a config that exists is valid."""
        check_int("dim", self.dim, minimum=1)
        check_int("window", self.window, minimum=1)
        check_int("min_count", self.min_count, minimum=1)
        check_float("x_max", self.x_max, minimum=0.0, min_inclusive=False)
        check_float("alpha", self.alpha, minimum=0.0)
        check_float("learning_rate", self.learning_rate, minimum=0.0, min_inclusive=False)
        check_int("epochs", self.epochs, minimum=1)
        check_int("threads", self.threads, minimum=1)
        check_int("seed", self.seed, minimum=0)
        return self


def cooccurrence_matrix(corpus: EncodedCorpus, vocab_size: int, window: int = 10) -> sp.csr_matrix:
    """Symmetric co-occurrence counts with 1/distance weighting, within sentences: (V, V)."""
    if not isinstance(corpus, EncodedCorpus):
        raise TypeError("corpus must be an EncodedCorpus (from encode_corpus), got "
                        f"{type(corpus).__name__}")
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    window = check_int("window", window, minimum=1)
    ids = corpus.ids.astype(np.int64)
    # sentence of each token
    sentence = np.repeat(np.arange(len(corpus.starts) - 1), np.diff(corpus.starts))
    if ids.size and ids.max() >= vocab_size:
        raise ValueError(f"corpus holds word id {ids.max()}, outside vocab_size={vocab_size}")
    total = sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    for d in range(1, window + 1):
        same = sentence[:-d] == sentence[d:]  # both words in one sentence
        left, right = ids[:-d][same], ids[d:][same]
        weight = np.full(left.size, 1.0 / d)
        part = sp.coo_matrix((weight, (left, right)), shape=(vocab_size, vocab_size)).tocsr()
        total = total + part + part.T
    total.sum_duplicates()
    total.sort_indices()
    return total


def weighting(x: np.ndarray, x_max: float = 100.0, alpha: float = 0.75) -> np.ndarray:
    """f(x) = (x / x_max) ** alpha below x_max, 1 above: rare pairs count less, frequent ones are
    capped."""
    x = check_array("x", x)
    if np.any(x < 0):
        raise ValueError(f"x must hold co-occurrence counts >= 0, got a minimum of {x.min()}")
    x_max = check_float("x_max", x_max, minimum=0.0, min_inclusive=False)
    alpha = check_float("alpha", alpha, minimum=0.0)
    return np.where(x < x_max, (x / x_max) ** alpha, 1.0)


def glove_loss(W, W_tilde, b, b_tilde, rows, cols, values, x_max: float = 100.0,
               alpha: float = 0.75):
    """The weighted least-squares loss over cells (rows[k], cols[k]) with counts values[k],
    and its gradients: (loss, dW, dW~, db, db~), all float64."""
    W, W_tilde = np.asarray(W, np.float64), np.asarray(W_tilde, np.float64)
    diff = np.einsum("kd,kd->k", W[rows], W_tilde[cols]) + b[rows] + b_tilde[cols] - np.log(values)
    f = weighting(values, x_max, alpha)
    loss = 0.5 * float(np.sum(f * diff**2))
    fdiff = f * diff  # dJ/d(score) for each cell
    dW, dWt = np.zeros_like(W), np.zeros_like(W_tilde)
    np.add.at(dW, rows, fdiff[:, None] * W_tilde[cols])
    np.add.at(dWt, cols, fdiff[:, None] * W[rows])
    db = np.bincount(rows, weights=fdiff, minlength=len(b))
    dbt = np.bincount(cols, weights=fdiff, minlength=len(b_tilde))
    return loss, dW, dWt, db, dbt


@njit(cache=True, nogil=True, fastmath=True)
def _adagrad_cells(order, rows, cols, values, W, Wt, b, bt, GW, GWt, Gb, Gbt, lr, x_max, alpha):
    """One AdaGrad step per cell, in the given order; returns the summed loss before each step.

    As the reference glove.c does it, per parameter: step = lr * g, theta -= step / sqrt(G),
    then G += step^2 (G starts at 1). So G sums squared *steps*, not squared gradients, and the
    step uses G from before it: AdaGrad with learning rate 1 and a starting sum of 1 / lr^2.
    Weights are float32; the per-cell scalars are cast to float32 so the loops vectorise.
    """
    dim = W.shape[1]
    loss = 0.0
    for k in order:
        i, j, x = rows[k], cols[k], values[k]
        dot = np.float32(0.0)
        for d in range(dim):
            dot += W[i, d] * Wt[j, d]
        diff = np.float64(dot) + b[i] + bt[j] - np.log(x)
        f = (x / x_max) ** alpha if x < x_max else 1.0
        fdiff = f * diff
        loss += 0.5 * fdiff * diff
        step = np.float32(lr * fdiff)  # lr * dJ/d(score)
        for d in range(dim):
            si = step * Wt[j, d]
            sj = step * W[i, d]
            W[i, d] -= si / np.sqrt(GW[i, d])
            Wt[j, d] -= sj / np.sqrt(GWt[j, d])
            GW[i, d] += si * si
            GWt[j, d] += sj * sj
        b[i] -= step / np.sqrt(Gb[i])
        bt[j] -= step / np.sqrt(Gbt[j])
        Gb[i] += step * step
        Gbt[j] += step * step
    return loss


@dataclass
class GloVeParameters:
    """GloVe's weights and AdaGrad's running sums of squared steps (initialised to 1, as
    glove.c)."""

    W: np.ndarray
    W_tilde: np.ndarray
    b: np.ndarray
    b_tilde: np.ndarray
    GW: np.ndarray = field(init=False)
    GW_tilde: np.ndarray = field(init=False)
    Gb: np.ndarray = field(init=False)
    Gb_tilde: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.GW, self.GW_tilde = np.ones_like(self.W), np.ones_like(self.W_tilde)
        self.Gb, self.Gb_tilde = np.ones_like(self.b), np.ones_like(self.b_tilde)


def init_parameters(vocab_size: int, dim: int, seed: int = 1) -> GloVeParameters:
    """Weights and biases uniform in +-0.5/dim, as the reference code does; float32."""
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))

    def uniform(*shape):
        return ((rng.random(shape) - 0.5) / dim).astype(np.float32)

    return GloVeParameters(uniform(vocab_size, dim), uniform(vocab_size, dim), uniform(vocab_size),
                           uniform(vocab_size))


def _check_epoch_inputs(params: GloVeParameters, cooc: Any, order: Any) -> tuple[np.ndarray, ...]:
    """Refuse what would make the compiled AdaGrad kernel read or write outside its arrays (a
    crash of the whole Python process); returns the cells' rows, columns, counts and the order."""
    if not isinstance(params, GloVeParameters):
        raise TypeError("params must be GloVeParameters (init_parameters makes them), got "
                        f"{type(params).__name__}")
    vocab_size, dim = params.W.shape if params.W.ndim == 2 else (0, 0)
    for name in ("W", "W_tilde", "GW", "GW_tilde"):
        array = getattr(params, name)
        if not (array.dtype == np.float32 and array.shape == (vocab_size, dim)
                and array.flags.c_contiguous):
            raise ValueError(f"params.{name} must be a C-contiguous float32 ({vocab_size}, {dim}) "
                             f"array like params.W, got {array.dtype} {array.shape}")
    for name in ("b", "b_tilde", "Gb", "Gb_tilde"):
        array = getattr(params, name)
        if not (array.dtype == np.float32 and array.shape == (vocab_size,)):
            raise ValueError(f"params.{name} must be a float32 array of {vocab_size} biases, got "
                             f"{array.dtype} {array.shape}")
    if not sp.issparse(cooc) or cooc.format != "coo":
        raise TypeError("cooc must be a scipy.sparse COO matrix "
                        f"(cooccurrence_matrix(...).tocoo()), got {type(cooc).__name__}")
    if cooc.shape[0] > vocab_size or cooc.shape[1] > vocab_size:
        raise ValueError(f"cooc has shape {cooc.shape} but params hold {vocab_size} words")
    rows, cols, values = (cooc.row.astype(np.int64), cooc.col.astype(np.int64),
                          cooc.data.astype(np.float64))
    if values.size and not (np.all(np.isfinite(values)) and values.min() > 0):
        raise ValueError("cooc must hold positive counts only, all finite (log X is undefined at "
                         "0)")
    order = np.asarray(order)
    if order.ndim != 1 or (order.size and order.dtype.kind not in "iu"):
        raise TypeError(f"order must be a 1-D array of integer cell indices, got {order.dtype} "
                        f"{order.shape}")
    order = order.astype(np.int64)
    if order.size and (order.min() < 0 or order.max() >= values.size):
        raise ValueError(f"order must index the {values.size} cells of cooc (0 to "
                         f"{values.size - 1}), got values in [{order.min()}, {order.max()}]")
    return rows, cols, values, order


def adagrad_epoch(params: GloVeParameters, cooc: sp.coo_matrix, order: np.ndarray,
                  learning_rate: float = 0.05,
                  x_max: float = 100.0, alpha: float = 0.75, threads: int = 1) -> float:
    """Visit the non-zero cells of ``cooc`` in ``order``, one AdaGrad step each; return the summed
    loss.

    With ``threads`` > 1 the order is split in parts that run at once on shared weights (Hogwild).
    """
    rows, cols, values, order = _check_epoch_inputs(params, cooc, order)
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
    x_max = check_float("x_max", x_max, minimum=0.0, min_inclusive=False)
    alpha = check_float("alpha", alpha, minimum=0.0)
    threads = check_int("threads", threads, minimum=1)
    p = params
    parts = np.array_split(order, threads)
    losses = [0.0] * len(parts)

    def work(n: int) -> None:
        losses[n] = _adagrad_cells(parts[n], rows, cols, values, p.W, p.W_tilde, p.b, p.b_tilde,
                                   p.GW,
                                   p.GW_tilde, p.Gb, p.Gb_tilde, learning_rate, x_max, alpha)

    if threads == 1:
        work(0)
    else:
        pool = [threading.Thread(target=work, args=(n,)) for n in range(len(parts))]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return float(sum(losses))


@dataclass
class GloVeModel:
    """A trained GloVe: ``wv`` holds W + W~; ``epoch_losses`` is the mean loss per cell."""

    wv: WordVectors
    params: GloVeParameters
    cooc: sp.csr_matrix
    config: GloVeConfig
    epoch_losses: list[float]
    seconds: float = 0.0


def train_glove(sentences: Sequence[Sequence[str]], config: GloVeConfig | None = None,
                **overrides) -> GloVeModel:
    """Count co-occurrences of the words seen ``min_count`` times, then fit GloVe with AdaGrad."""
    config = replace(config or GloVeConfig(), **overrides)  # replace() checks the fields again
    start = time.perf_counter()
    sentences = split_long_sentences(sentences)
    vocab = word2vec_vocabulary(sentences, config.min_count)
    corpus = encode_corpus(sentences, vocab)
    cooc = cooccurrence_matrix(corpus, len(vocab), config.window)
    if cooc.nnz == 0:
        raise ValueError("no two vocabulary words occur within a window of each other: the corpus "
                         "is too small")
    cells = cooc.tocoo()
    params = init_parameters(len(vocab), config.dim, config.seed)
    rng = np.random.default_rng(config.seed)
    losses = []
    for _epoch in range(config.epochs):
        order = rng.permutation(cells.nnz)
        losses.append(adagrad_epoch(params, cells, order, config.learning_rate, config.x_max,
                                    config.alpha,
                                    config.threads) / cells.nnz)
    vectors = params.W + params.W_tilde
    return GloVeModel(WordVectors(vectors, vocab), params, cooc, config, losses,
                      time.perf_counter() - start)
