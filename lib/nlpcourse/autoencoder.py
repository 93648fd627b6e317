"""Auto-encoders: a network trained to reproduce its own input through a narrow code (chapter 02;
chapter 12 extends it to linear and non-linear auto-encoders on other data).

No labels are used: the target is the input itself. ``MLPAutoencoder`` takes its layer sizes
and activation as arguments; with ``activation="identity"`` and the square-error loss it is a
linear auto-encoder, whose best code spans the same subspace as PCA's leading components.

For text, a document's bag-of-words row goes in; the first layer multiplies it by a
(vocabulary x width) matrix, i.e. sums one learned vector per word (an embedding); hidden
layers squeeze it to a small code; the decoder mirrors the encoder and reconstructs the
document's word distribution (text -> embedding -> hidden -> code -> decoder -> text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from nlpcourse._checks import check_choice, check_int
from nlpcourse._tensor_checks import check_tensor
from nlpcourse._training import checked_adam, shuffled_epoch
from nlpcourse.text import Vocabulary, bag_of_words

__all__ = [
    "ACTIVATIONS", "LOSSES", "MLPAutoencoder", "reconstruction_loss", "AutoencoderHistory",
    "train_autoencoder", "bow_inputs", "BowAutoencoder", "train_bow_autoencoder", "keyword_topics",
]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "identity": nn.Identity}
LOSSES = ("mse", "multinomial")


def _mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    """Linear layers between consecutive ``sizes``, ``activation`` after all but the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """Encoder ``sizes[0] -> ... -> sizes[-1]`` (the code), decoder the mirror image.

    Hidden layers use ``activation``; the code and the reconstruction are linear (the loss
    decides how the reconstruction is read: as values for ``"mse"``, as logits of a word
    distribution for ``"multinomial"``).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", seed: int | None = 0):
        super().__init__()
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a sequence of layer widths, got {type(sizes).__name__}")
        if len(sizes) < 2:
            raise ValueError("sizes must give at least an input and a code width, got "
                             f"{list(sizes)}")
        self.sizes = tuple(check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        with torch.random.fork_rng(devices=[]):
            # a fixed initialisation that leaves the global RNG alone
            if seed is not None:
                torch.manual_seed(check_int("seed", seed, minimum=0))
            self.encoder = _mlp(self.sizes, activation)
            self.decoder = _mlp(self.sizes[::-1], activation)

    def _check_input(self, name: str, x, width: int) -> None:
        check_tensor(name, x, shape=("batch", width), floating=True)
        check_tensor(name, x, dtype=self.encoder[0].weight.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (B, sizes[-1]) of inputs (B, sizes[0])."""
        self._check_input("x", x, self.sizes[0])
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Reconstructions (B, sizes[0]) of codes (B, sizes[-1])."""
        self._check_input("code", code, self.sizes[-1])
        return self.decoder(code)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor,
                        kind: str = "mse") -> torch.Tensor:
    """Mean over rows of the reconstruction error.

    - ``mse``: squared error summed over the features of a row
    - ``multinomial``: cross-entropy -sum_w target_w log softmax(output)_w, for targets that are
      word distributions (rows summing to 1)
    """
    check_choice("kind", kind, LOSSES)
    check_tensor("output", output, floating=True)
    check_tensor("target", target, floating=True)
    if output.dtype != target.dtype:
        raise TypeError(f"output and target must share one dtype, got output {output.dtype} and "
                        f"target {target.dtype}")
    if output.shape != target.shape:
        raise ValueError(f"output and target must have the same shape, got {tuple(output.shape)} "
                         f"and {tuple(target.shape)}")
    if kind == "mse":
        return ((output - target) ** 2).sum(1).mean()
    return -(target * torch.log_softmax(output, dim=1)).sum(1).mean()


@dataclass
class AutoencoderHistory:
    """Reconstruction loss on the whole data set before training (entry 0) and after every epoch."""

    loss: list[float] = field(default_factory=list)


def train_autoencoder(model: MLPAutoencoder, inputs: torch.Tensor,
                      targets: torch.Tensor | None = None, *,
                      loss: str = "mse", epochs: int = 100, batch_size: int = 32, lr: float = 1e-2,
                      weight_decay: float = 0.0, seed: int = 0) -> AutoencoderHistory:
    """Train ``model`` in place with Adam to map ``inputs`` to ``targets`` (the inputs themselves
    by default: no labels); the same model, data and seed give the same history."""
    if not isinstance(model, MLPAutoencoder):
        raise TypeError(f"model must be an MLPAutoencoder, got {type(model).__name__}")
    model._check_input("inputs", inputs, model.sizes[0])
    targets = inputs if targets is None else targets
    model._check_input("targets", targets, model.sizes[0])
    if targets.shape[0] != inputs.shape[0]:
        raise ValueError(f"inputs and targets must have the same length, got {inputs.shape[0]} and "
                         f"{targets.shape[0]}")
    if inputs.shape[0] == 0:
        raise ValueError("inputs is empty: give at least one row")
    check_choice("loss", loss, LOSSES)
    if not (torch.isfinite(inputs).all() and torch.isfinite(targets).all()):
        raise ValueError("inputs and targets must not contain NaN or inf")
    epochs, batch_size, generator, optimizer = checked_adam(
        model, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed)

    def full_loss() -> float:
        with torch.no_grad():
            return float(reconstruction_loss(model(inputs), targets, loss))

    history = AutoencoderHistory([full_loss()])
    for _epoch in range(epochs):
        shuffled_epoch(model, inputs, targets,
                       lambda output, target: reconstruction_loss(output, target, loss),
                       optimizer, batch_size, generator)
        history.loss.append(full_loss())
    return history


def bow_inputs(counts) -> tuple[torch.Tensor, torch.Tensor]:
    """From a (documents x words) count matrix: inputs log(1 + count) with unit-length rows, and
    targets the documents' word distributions (counts / document length), both float32."""
    if not (sp.issparse(counts) or isinstance(counts, np.ndarray)):
        raise TypeError("counts must be a scipy sparse matrix or numpy array, got "
                        f"{type(counts).__name__}")
    dense = counts.toarray() if sp.issparse(counts) else np.asarray(counts)
    dense = dense.astype(np.float64)
    if dense.ndim != 2 or dense.shape[0] == 0:
        raise ValueError("counts must be a non-empty 2-D (documents x words) matrix, got shape "
                         f"{dense.shape}")
    if not np.all(np.isfinite(dense)) or dense.min() < 0:
        raise ValueError("counts must be finite and non-negative")
    lengths = dense.sum(1)
    if np.any(lengths == 0):
        raise ValueError("counts has empty documents (rows "
                         f"{np.flatnonzero(lengths == 0)[:5].tolist()}): drop them first")
    logs = np.log1p(dense)
    inputs = logs / np.linalg.norm(logs, axis=1, keepdims=True)
    targets = dense / lengths[:, None]
    return torch.tensor(inputs, dtype=torch.float32), torch.tensor(targets, dtype=torch.float32)


@dataclass
class BowAutoencoder:
    """A trained text auto-encoder: the model, its vocabulary, the documents' codes and the
    losses."""

    model: MLPAutoencoder
    vocab: Vocabulary
    codes: np.ndarray  # (documents, code width)
    history: AutoencoderHistory
    ignored: tuple[str, ...]


def train_bow_autoencoder(documents: Sequence[Sequence[str]], vocab: Vocabulary, *,
                          hidden: Sequence[int] = (64, 32),
                          code_dim: int = 2, activation: str = "tanh", epochs: int = 60,
                          batch_size: int = 32,
                          lr: float = 3e-3, weight_decay: float = 0.0, seed: int = 0,
                          ignore: Sequence[str] = ()) -> BowAutoencoder:
    """Encode tokenised documents as bag-of-words rows over ``vocab`` (dropping the ``ignore``
    columns, e.g. the unknown token) and train an auto-encoder to reconstruct each document's
    word distribution through a ``code_dim``-wide code. No labels are used."""
    code_dim = check_int("code_dim", code_dim, minimum=1)
    counts = bag_of_words(documents, vocab)
    ignored = tuple(t for t in ignore if t in vocab)
    keep = np.setdiff1d(np.arange(len(vocab)), [vocab.index(t) for t in ignored])
    inputs, targets = bow_inputs(counts[:, keep])
    model = MLPAutoencoder([len(keep), *hidden, code_dim], activation=activation, seed=seed)
    history = train_autoencoder(model, inputs, targets, loss="multinomial", epochs=epochs,
                                batch_size=batch_size,
                                lr=lr, weight_decay=weight_decay, seed=seed)
    with torch.no_grad():
        codes = model.encode(inputs).double().numpy()
    return BowAutoencoder(model, vocab, codes, history, ignored)


def keyword_topics(documents: Sequence[Sequence[str]], topics: dict[str, Sequence[str]],
                   other: str = "other") -> list[str]:
    """A label per document read off its words (for colouring a plot, never for training):
    the topic whose keywords occur most often in it, ties to the topic listed first,
    ``other`` when no keyword occurs."""
    if not isinstance(topics, dict) or not topics:
        raise ValueError("topics must be a non-empty dict of topic name -> keywords")
    for name, words in topics.items():
        if isinstance(words, str) or not all(isinstance(w, str) for w in words) or not words:
            raise TypeError(f"topics[{name!r}] must be a non-empty list of str keywords")
    labels = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            raise TypeError(f"documents[{i}] must be a list of tokens, got a str (tokenize it "
                            "first)")
        tokens = list(doc)
        scores = [sum(tokens.count(w) for w in words) for words in topics.values()]
        best = int(np.argmax(scores))
        labels.append(list(topics)[best] if scores[best] > 0 else other)
    return labels
