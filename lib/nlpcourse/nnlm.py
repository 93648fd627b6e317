"""The neural network language model of Bengio et al. (2003), chapter 02.

The previous ``n`` words are looked up in a shared embedding table C, concatenated into x,
passed through a tanh hidden layer and a softmax over the whole vocabulary:

    y = b + W x + U tanh(d + H x),      P(w_t | w_{t-n} .. w_{t-1}) = softmax(y)[w_t]

``W x`` is the paper's optional "direct connection" from the embeddings to the output.
The model is trained to predict the next word (a supervised task whose labels come free with
the text); the embedding table C is a by-product of that training.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from nlpcourse._checks import check_float, check_int
from nlpcourse._training import checked_adam, shuffled_epoch
from nlpcourse.text import Vocabulary

__all__ = [
    "BOUNDARY", "NNLMConfig", "NNLM", "check_context_ids", "ngram_examples", "cross_entropy",
    "perplexity", "unigram_cross_entropy", "true_word_ranks", "encode_prompt",
    "next_word_probabilities", "top_next_words", "TrainingHistory", "train_nnlm", "nearest_words",
]

#: The token that pads the left of a document (and of a short prompt): "start of text".
BOUNDARY = "<s>"


@dataclass(frozen=True)
class NNLMConfig:
    """Sizes of an NNLM: vocabulary, how many previous words it reads, embedding and hidden
    widths."""

    vocab_size: int
    context: int = 3  # n - 1 in the paper: the number of previous words
    embedding_dim: int = 32  # m
    hidden_dim: int = 64  # h
    direct: bool = False  # the optional direct connections W x
    embedding_init_std: float = 0.1  # spread of the random starting embeddings

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, minimum=2)
        check_int("context", self.context, minimum=1)
        check_int("embedding_dim", self.embedding_dim, minimum=1)
        check_int("hidden_dim", self.hidden_dim, minimum=1)
        check_float("embedding_init_std", self.embedding_init_std, minimum=0.0, min_inclusive=False)
        if not isinstance(self.direct, bool):
            raise TypeError(f"direct must be a bool, got {type(self.direct).__name__} "
                            f"{self.direct!r}")


class NNLM(nn.Module):
    """Bengio et al.'s NNLM: context word ids (B, n) -> next-word logits (B, V)."""

    def __init__(self, config: NNLMConfig, seed: int | None = 0):
        super().__init__()
        if not isinstance(config, NNLMConfig):
            raise TypeError(f"config must be an NNLMConfig, got {type(config).__name__}")
        self.config = config
        with torch.random.fork_rng(devices=[]):
            # a fixed initialisation that leaves the global RNG alone
            if seed is not None:
                torch.manual_seed(check_int("seed", seed, minimum=0))
            n, m, h, v = config.context, config.embedding_dim, config.hidden_dim, config.vocab_size
            self.embedding = nn.Embedding(v, m)  # C
            # small random vectors (the paper's choice), so what training writes into C
            # dominates the cosines rather than the N(0, 1) noise torch starts from
            nn.init.normal_(self.embedding.weight, std=config.embedding_init_std)
            self.hidden = nn.Linear(n * m, h)  # H, d
            self.output = nn.Linear(h, v)  # U, b
            self.direct = nn.Linear(n * m, v, bias=False) if config.direct else None  # W

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Unnormalised next-word scores y for each row of previous-word ids."""
        check_context_ids("context", context, self.config)
        x = self.embedding(context).flatten(1)  # (B, n*m): the n embeddings side by side
        logits = self.output(torch.tanh(self.hidden(x)))  # (B, V)
        if self.direct is not None:
            logits = logits + self.direct(x)
        return logits


def check_context_ids(name: str, context, config: NNLMConfig) -> None:
    """Raise unless ``context`` is an integer tensor (B, config.context) of valid word ids."""
    if not isinstance(context, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor of word ids, got {type(context).__name__}")
    if context.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{name} must hold integer word ids (int64), got dtype {context.dtype}")
    if context.ndim != 2 or context.shape[1] != config.context:
        raise ValueError(f"{name} must have shape (batch, {config.context}), got "
                         f"{tuple(context.shape)}")
    if context.numel() and (int(context.min()) < 0 or int(context.max()) >= config.vocab_size):
        raise ValueError(
            f"{name} ids must lie in [0, {config.vocab_size - 1}], got range "
            f"[{int(context.min())}, {int(context.max())}]"
        )


def ngram_examples(documents: Sequence[Sequence[int]], context: int,
                   boundary_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(previous ``context`` ids, next id) for every word of every document.

    Each document is padded on the left with ``boundary_id`` so its first word is predicted
    too (from "start of text"); windows never cross from one document into the next.
    Returns ``contexts`` (N, context) and ``targets`` (N,), both int64.
    """
    context = check_int("context", context, minimum=1)
    boundary_id = check_int("boundary_id", boundary_id, minimum=0)
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a sequence of id lists, got {type(documents).__name__}")
    rows, targets = [], []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            raise TypeError(f"documents[{i}] must be a list of word ids, got a str (encode it "
                            "first)")
        ids = [check_int(f"documents[{i}][...]", t, minimum=0) for t in doc]
        padded = [boundary_id] * context + ids
        for t in range(len(ids)):
            rows.append(padded[t : t + context])
            targets.append(ids[t])
    if not targets:
        raise ValueError("documents hold no words: give at least one non-empty document")
    return torch.tensor(rows, dtype=torch.int64), torch.tensor(targets, dtype=torch.int64)


def _check_examples(name: str, examples, config: NNLMConfig) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(examples, tuple) and len(examples) == 2):
        raise TypeError(f"{name} must be a (contexts, targets) pair from ngram_examples, got "
                        f"{type(examples).__name__}")
    contexts, targets = examples
    check_context_ids(f"{name} contexts", contexts, config)
    if not isinstance(targets, torch.Tensor) or targets.dtype != torch.int64 or targets.ndim != 1:
        raise TypeError(f"{name} targets must be a 1-D int64 tensor")
    if targets.shape[0] != contexts.shape[0]:
        raise ValueError(f"{name} contexts and targets must have the same length, got "
                         f"{contexts.shape[0]} and {targets.shape[0]}")
    if targets.shape[0] == 0:
        raise ValueError(f"{name} is empty: give at least one example")
    if int(targets.min()) < 0 or int(targets.max()) >= config.vocab_size:
        raise ValueError(f"{name} targets must lie in [0, {config.vocab_size - 1}]")
    return contexts, targets


@torch.no_grad()
def cross_entropy(model: NNLM, examples: tuple[torch.Tensor, torch.Tensor],
                  batch_size: int = 4096) -> float:
    """Mean negative log-likelihood (nats per word) of the true next words."""
    contexts, targets = _check_examples("examples", examples, model.config)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(targets), batch_size):
        logits = model(contexts[start : start + batch_size])
        total += float(nn.functional.cross_entropy(logits.double(),
                                                   targets[start : start + batch_size],
                                                   reduction="sum"))
    model.train(was_training)
    return total / len(targets)


def perplexity(loss: float) -> float:
    """exp(cross-entropy in nats): the model is as unsure as a uniform choice among this many
    words."""
    loss = check_float("loss", loss, minimum=0.0)
    return math.exp(loss) if loss < 709.78 else math.inf  # beyond that exp overflows a float


def unigram_cross_entropy(train_targets, eval_targets, vocab_size: int,
                          smoothing: float = 1.0) -> float:
    """The baseline that ignores the context: add-``smoothing`` unigram frequencies from the
    training targets, scored as mean nats per word on ``eval_targets``."""
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    smoothing = check_float("smoothing", smoothing, minimum=0.0)
    train = _id_array("train_targets", train_targets, vocab_size)
    evaluate = _id_array("eval_targets", eval_targets, vocab_size)
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64) + smoothing
    probs = counts / counts.sum()
    if np.any(probs[evaluate] == 0):
        raise ValueError("eval_targets hold a word never seen in train_targets; use smoothing > 0")
    return float(-np.log(probs[evaluate]).mean())


def _id_array(name: str, ids, vocab_size: int) -> np.ndarray:
    array = ids.numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a non-empty 1-D array of integer word ids, got shape "
                         f"{array.shape}, dtype {array.dtype}")
    if array.min() < 0 or array.max() >= vocab_size:
        raise ValueError(f"{name} ids must lie in [0, {vocab_size - 1}], got range [{array.min()}, "
                         f"{array.max()}]")
    return array.astype(np.int64)


@torch.no_grad()
def true_word_ranks(model: NNLM, examples: tuple[torch.Tensor, torch.Tensor],
                    batch_size: int = 4096) -> np.ndarray:
    """Rank of the true next word among all words (1 = the model's first guess), per example.

    Ties count in the word's favour: the rank is 1 + the number of words scored strictly higher.
    """
    contexts, targets = _check_examples("examples", examples, model.config)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    was_training = model.training
    model.eval()
    ranks = []
    for start in range(0, len(targets), batch_size):
        logits = model(contexts[start : start + batch_size])  # (B, V)
        true = logits.gather(1, targets[start : start + batch_size, None])  # (B, 1)
        ranks.append((logits > true).sum(1) + 1)
    model.train(was_training)
    return torch.cat(ranks).numpy()


def encode_prompt(prompt: Sequence[str], vocab: Vocabulary, context: int,
                  boundary: str = BOUNDARY) -> torch.Tensor:
    """The last ``context`` words of a tokenised prompt as ids (1, context), left-padded with
    ``boundary``."""
    if isinstance(prompt, str):
        raise TypeError("prompt must be a list of tokens, got a str (tokenize it first)")
    context = check_int("context", context, minimum=1)
    if boundary not in vocab:
        raise ValueError(f"boundary token {boundary!r} is not in the vocabulary; build it with "
                         f"specials=({boundary!r},)")
    words = [boundary] * context + list(prompt)
    return torch.tensor([vocab.encode(words[-context:])], dtype=torch.int64)


@torch.no_grad()
def next_word_probabilities(model: NNLM, vocab: Vocabulary, prompt: Sequence[str],
                            boundary: str = BOUNDARY) -> np.ndarray:
    """P(next word | prompt) over the whole vocabulary, as a float64 vector that sums to 1."""
    if len(vocab) != model.config.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} words but the model was built for "
                         f"{model.config.vocab_size}")
    was_training = model.training
    model.eval()
    logits = model(encode_prompt(prompt, vocab, model.config.context, boundary))[0]
    model.train(was_training)
    return torch.softmax(logits.double(), dim=0).numpy()


def top_next_words(model: NNLM, vocab: Vocabulary, prompt: Sequence[str], k: int = 5,
                   exclude: Sequence[str] = (),
                   boundary: str = BOUNDARY) -> list[tuple[str, float]]:
    """The ``k`` most probable next words and their probabilities, skipping the ``exclude`` tokens
    (e.g. the unknown and boundary tokens); probabilities are the model's, not renormalised."""
    k = check_int("k", k, minimum=1)
    probs = next_word_probabilities(model, vocab, prompt, boundary)
    skip = {vocab.index(t) for t in exclude if t in vocab}
    order = np.lexsort((np.arange(probs.size), -probs))  # most probable first, ties by id
    return [(vocab.tokens[i], float(probs[i])) for i in order if i not in skip][:k]


@dataclass
class TrainingHistory:
    """What ``train_nnlm`` reached: per-epoch losses and the weights after every epoch.

    ``train_loss[0]`` and ``valid_loss[0]`` are measured before training; entry ``e`` after
    epoch ``e`` (train: the mean over that epoch's batches). ``states[e]`` are the weights
    after epoch ``e``, so ``model_at(e)`` rebuilds any checkpoint.
    """

    config: NNLMConfig
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    states: list[dict[str, torch.Tensor]] = field(default_factory=list, repr=False)

    @property
    def epochs(self) -> int:
        return len(self.valid_loss) - 1

    def model_at(self, epoch: int) -> NNLM:
        """A fresh NNLM holding the weights saved after ``epoch`` (0 = untrained)."""
        if not self.states:
            raise ValueError("this history kept no weights; train with keep_states=True")
        epoch = check_int("epoch", epoch, minimum=0, maximum=len(self.states) - 1)
        model = NNLM(self.config, seed=None)
        model.load_state_dict(self.states[epoch])
        return model.eval()


def train_nnlm(model: NNLM, train: tuple[torch.Tensor, torch.Tensor],
               valid: tuple[torch.Tensor, torch.Tensor], *,
               epochs: int = 5, batch_size: int = 256, lr: float = 3e-3, weight_decay: float = 0.0,
               seed: int = 0, keep_states: bool = True, progress: bool = False) -> TrainingHistory:
    """Train ``model`` in place with Adam on shuffled mini-batches; return its history.

    The shuffling order comes from ``seed`` alone, so the same model, data and seed give the
    same history. ``progress=True`` shows a tqdm bar over the epochs.
    """
    if not isinstance(model, NNLM):
        raise TypeError(f"model must be an NNLM, got {type(model).__name__}")
    contexts, targets = _check_examples("train", train, model.config)
    _check_examples("valid", valid, model.config)
    epochs, batch_size, generator, optimizer = checked_adam(
        model, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed)

    history = TrainingHistory(model.config)
    history.train_loss.append(cross_entropy(model, train))
    history.valid_loss.append(cross_entropy(model, valid))
    if keep_states:
        history.states.append(copy.deepcopy(model.state_dict()))
    epoch_range = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc="NNLM epochs")
    for _epoch in epoch_range:
        model.train()
        history.train_loss.append(shuffled_epoch(model, contexts, targets,
                                                 nn.functional.cross_entropy,
                                                 optimizer, batch_size, generator))
        history.valid_loss.append(cross_entropy(model, valid))
        if keep_states:
            history.states.append(copy.deepcopy(model.state_dict()))
    model.eval()
    return history


def nearest_words(vectors, vocab: Vocabulary, word: str, k: int = 5,
                  min_count: int = 1) -> list[tuple[str, float]]:
    """The ``k`` words whose rows of ``vectors`` have the highest cosine with ``word``'s row,
    among the words counted at least ``min_count`` times (rare words' vectors are mostly noise)."""
    k = check_int("k", k, minimum=1)
    min_count = check_int("min_count", min_count, minimum=0)
    matrix = (vectors.detach().double().numpy() if isinstance(vectors, torch.Tensor)
              else np.asarray(vectors, dtype=np.float64))
    if matrix.ndim != 2 or matrix.shape[0] != len(vocab):
        raise ValueError(f"vectors must have one row per vocabulary word ({len(vocab)}), got shape "
                         f"{matrix.shape}")
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    if word not in vocab or word == vocab.unk_token:
        raise ValueError(f"word {word!r} is not in the vocabulary")
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    unit = matrix / norms[:, None]
    i = vocab.index(word)
    sims = unit @ unit[i]
    order = np.lexsort((np.arange(sims.size), -sims))
    counts = vocab.counts
    return [(vocab.tokens[j], float(sims[j])) for j in order
            if j != i and counts[j] >= min_count][:k]
