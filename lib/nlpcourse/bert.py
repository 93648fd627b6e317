"""BERT (chapter 09b): an encoder-only Transformer pre-trained with a masked language model
(MLM, 掩码语言模型) and next sentence prediction (NSP, 下一句预测).

Pieces, in the order the chapter builds them:

- special tokens ``[PAD] [CLS] [SEP] [MASK] [UNK]`` on chapter 01's ``Vocabulary``
  (``bert_vocabulary``); sentence pairs ``[CLS] a [SEP] b [SEP]`` with segment ids
  (``encode_pair``), where a pair longer than ``max_len`` is an error unless ``truncate=True``
  asks for longest-first cropping from the end (``truncate_pair``; see there how it differs
  from BERT's pre-training script);
- ``mask_tokens``: BERT's masking, per sequence ``max(1, round(0.15 x maskable))`` positions,
  of which 80 % become ``[MASK]``, 10 % a random word and 10 % stay; labels -100 elsewhere;
- ``nsp_pairs``: sentence pairs from the corpus's real order, half true next sentences and half
  a sentence from another document;
- ``Bert``: token + segment + learned position embeddings, LayerNorm, chapter 08's
  ``EncoderLayer`` stack, an MLM head tied to the token embedding and an NSP head on ``[CLS]``;
- ``train_bert``, ``evaluate_bert`` and the baselines, ``layer_states`` (every layer's vectors)
  and ``fill_mask`` (top-k words for a ``[MASK]``).
"""

from __future__ import annotations

import collections
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from nlpcourse import _checkpoints, data, elmo
from nlpcourse._checks import check_float, check_ids, check_instance, check_int
from nlpcourse._tensor_checks import check_id_tensor, check_tensor
from nlpcourse.attention import sinusoidal_positions
from nlpcourse.optim import warmup_cosine
from nlpcourse.text import build_vocabulary, tokenize, Vocabulary
from nlpcourse.tokenize import BytePairTokenizer
from nlpcourse.transformer import EncoderLayer

__all__ = [
    "PAD", "CLS", "SEP", "MASK", "UNK", "SPECIALS", "IGNORE",
    "split_sentences", "corpus_sentences", "bert_tokenize", "bert_vocabulary",
    "EncodedPair", "encode_pair", "truncate_pair", "PairBatch", "encode_pairs",
    "special_tokens_mask",
    "MaskedTokens", "mask_tokens", "nsp_pairs",
    "BertConfig", "Bert", "bert_loss", "train_bert", "BertScores", "evaluate_bert", "mlm_baselines",
    "accuracy_by_kind", "layer_states", "fill_mask", "save_checkpoint", "load_checkpoint",
    "SubwordVocabulary", "subword_vocabulary", "text_windows", "mlm_loss", "train_mlm",
    "MlmScores", "evaluate_mlm", "neighbour_baselines", "encode_texts", "ClsClassifier",
    "fine_tune_cls",
    "cls_accuracy", "source_task", "balanced_sample", "capital_probe_data", "fill_mask_examples",
]

PAD, CLS, SEP, MASK, UNK = "[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"
#: The special tokens, in their vocabulary order: [PAD] = 0, [CLS] = 1, [SEP] = 2, [MASK] = 3, [UNK]
#: = 4.
SPECIALS = (PAD, CLS, SEP, MASK, UNK)
#: The label of positions the MLM loss ignores (torch's ``cross_entropy`` default ``ignore_index``).
IGNORE = -100
#: Kinds of masked position, as stored in ``MaskedTokens.kind``.
KEPT_AS_IS, TO_MASK, TO_RANDOM, TO_SAME = 0, 1, 2, 3


# --------------------------------------------------------------------------- text

# A sentence ends at . ! or ? (maybe closed by a quote) before a capital or a digit; not after
# a title (Mr. Dr.) or a single capital (the "J." of "George W. Bush"). Good enough for news text.
_SENTENCE_END = re.compile(r"(?<!\b[A-Z]\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bMs\.)(?<!\bSt\.)"
                           r"(?<=[.!?])[\"']?\s+"
                           r"(?=[\"'(]?[A-Z0-9])")
_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def split_sentences(document: str) -> list[str]:
    """Split a document's raw text into sentences (a rule-based splitter for news text)."""
    if not isinstance(document, str):
        raise TypeError(f"document must be a str, got {type(document).__name__}")
    return [s.strip() for s in _SENTENCE_END.split(document) if s.strip()]


def bert_tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (chapter 01's ``tokenize``), every Chinese character its own token
    (as BERT's tokenizer puts spaces around CJK characters)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return tokenize(_CJK.sub(r" \1 ", text))


def corpus_sentences(documents: Sequence[str]) -> list[list[list[str]]]:
    """Documents -> sentences -> tokens, keeping the documents apart (NSP needs the real order)."""
    if isinstance(documents, str):
        raise TypeError("documents must be a list of document strings, got a str")
    out = []
    for document in documents:
        sentences = [bert_tokenize(s) for s in split_sentences(document)]
        out.append([s for s in sentences if s])
    return out


def bert_vocabulary(sentences: Sequence[Sequence[str]], min_count: int = 2) -> Vocabulary:
    """Chapter 01's vocabulary with BERT's special tokens first and ``[UNK]`` for rare words."""
    return build_vocabulary(sentences, min_count=min_count, specials=SPECIALS[:4], unk_token=UNK)


# --------------------------------------------------------------------------- sentence pairs

@dataclass(frozen=True)
class EncodedPair:
    """One input sequence: ``[CLS] a [SEP] b [SEP]`` ids and its segment ids (0 for a, 1 for b)."""

    ids: list[int]
    segments: list[int]


def truncate_pair(a: Sequence[str], b: Sequence[str],
                  max_tokens: int) -> tuple[list[str], list[str]]:
    """Longest-first truncation from the end: drop the last token of the longer sentence
    (``a`` on a tie) until both fit in ``max_tokens`` together. Deterministic.

    How it differs from BERT's code: the pre-training data script's ``truncate_seq_pair``
    (``create_pretraining_data.py``) also trims the longer sentence one token at a time, but
    removes the *first or the last* token at random (probability 1/2 each, "to add more
    randomness and avoid biases") and trims ``b`` on a tie. The fine-tuning script's
    ``_truncate_seq_pair`` (``run_classifier.py``) always removes the last token, as here, but
    also trims ``b`` on a tie. Here the front of a sentence is always kept and ``a`` is trimmed
    on a tie.
    """
    a, b = list(a), list(b)
    max_tokens = check_int("max_tokens", max_tokens, minimum=2)
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) >= len(b) else b
        longer.pop()
    return a, b


def encode_pair(a: Sequence[str], b: Sequence[str] | None, vocab: Vocabulary, max_len: int, *,
                truncate: bool = False) -> EncodedPair:
    """``[CLS] a [SEP] b [SEP]`` (or ``[CLS] a [SEP]`` without ``b``) as ids with segment ids.

    A pair longer than ``max_len`` is an error, unless ``truncate=True`` asks for longest-first
    truncation from the end (``truncate_pair``, which says how it differs from BERT's scripts);
    a single sentence (``b=None``) is cut at its end.
    """
    for name, tokens in (("a", a), ("b", b)):
        if isinstance(tokens, str):
            raise TypeError(f"{name} must be a list of tokens, got a str (tokenize it first)")
    if not a:
        raise ValueError("a must hold at least one token, got an empty sentence")
    max_len = check_int("max_len", max_len, minimum=3)
    b = list(b) if b is not None else None
    n_special = 3 if b is not None else 2
    length = len(a) + (len(b) if b is not None else 0) + n_special
    if length > max_len:
        if not truncate:
            raise ValueError(f"the sequence pair is too long: {length} tokens with [CLS]/[SEP] but "
                             f"max_len is {max_len}; pass truncate=True for longest-first "
                             "truncation")
        if b is None:
            a = list(a)[: max_len - 2]
        else:
            a, b = truncate_pair(a, b, max_len - n_special)
    ids = [vocab.index(CLS)] + vocab.encode(a) + [vocab.index(SEP)]
    segments = [0] * len(ids)
    if b is not None:
        ids += vocab.encode(b) + [vocab.index(SEP)]
        segments += [1] * (len(b) + 1)
    return EncodedPair(ids, segments)


@dataclass
class PairBatch:
    """Padded inputs: ``ids`` and ``segments`` (N, T), ``is_next`` (N,) with 1 = b follows a."""

    ids: Tensor
    segments: Tensor
    is_next: Tensor

    def __len__(self) -> int:
        return self.ids.shape[0]

    def __getitem__(self, index) -> "PairBatch":
        ids = self.ids[index]
        # drop all-padding columns
        used = max(int((ids != 0).sum(1).max()), 1) if ids.numel() else 1
        return PairBatch(ids[:, :used], self.segments[index][:, :used], self.is_next[index])


def encode_pairs(pairs: Sequence[tuple[Sequence[str], Sequence[str], int]], vocab: Vocabulary,
                 max_len: int, *,
                 truncate: bool = False) -> PairBatch:
    """(a, b, is_next) triples -> one padded ``PairBatch`` ([PAD] = 0 after each sequence)."""
    if not pairs:
        raise ValueError("pairs must hold at least one (a, b, is_next) triple, got none")
    encoded = [encode_pair(a, b, vocab, max_len, truncate=truncate) for a, b, _ in pairs]
    width = max(len(e.ids) for e in encoded)
    ids = torch.full((len(encoded), width), vocab.index(PAD), dtype=torch.long)
    segments = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        segments[i, : len(e.ids)] = torch.tensor(e.segments)
    is_next = torch.tensor([int(n) for _a, _b, n in pairs], dtype=torch.long)
    return PairBatch(ids, segments, is_next)


def special_tokens_mask(ids: Tensor, n_special: int = len(SPECIALS)) -> Tensor:
    """True where ``ids`` holds a special token or padding (ids below ``n_special``): never masked.

    ``[UNK]`` counts as special: predicting "some rare word" teaches the model nothing.
    """
    if not isinstance(ids, Tensor):
        raise TypeError(f"ids must be a torch.Tensor, got {type(ids).__name__}")
    return ids < n_special


def nsp_pairs(documents: Sequence[Sequence[Sequence[str]]], generator: torch.Generator
              ) -> list[tuple[list[str], list[str], int]]:
    """Next-sentence-prediction pairs (a, b, is_next) from the corpus's real sentence order.

    Every sentence that has a next sentence in its document gives one pair. Exactly half of
    them (rounded up), chosen at random, keep the true next sentence (is_next = 1); the others
    get a random sentence from a *different* random document (is_next = 0), as BERT's data
    script does.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    documents = [list(d) for d in documents]
    if len(documents) < 2:
        raise ValueError("documents must hold at least 2 documents (negatives come from another "
                         f"one), got {len(documents)}")
    anchors = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc) - 1)]
    if not anchors:
        raise ValueError("no document has two sentences: there is no next sentence to predict")
    if sum(1 for doc in documents if doc) < 2:
        raise ValueError("documents must hold at least 2 non-empty documents: a negative pair "
                         "takes its sentence from a document other than the anchor's, and the "
                         "others are empty")
    n = len(anchors)
    labels = torch.zeros(n, dtype=torch.long)
    labels[torch.randperm(n, generator=generator)[: (n + 1) // 2]] = 1
    pairs = []
    for (d, i), label in zip(anchors, labels.tolist()):
        if label:
            pairs.append((list(documents[d][i]), list(documents[d][i + 1]), 1))
            continue
        other = int(torch.randint(len(documents) - 1, (1,), generator=generator))
        other += other >= d  # any document but d
        while not documents[other]:
            # terminates: the check above found another non-empty one
            # an empty document has no sentence to give
            other = int(torch.randint(len(documents), (1,), generator=generator))
            other = other if other != d else (other + 1) % len(documents)
        j = int(torch.randint(len(documents[other]), (1,), generator=generator))
        pairs.append((list(documents[d][i]), list(documents[other][j]), 0))
    return pairs


# --------------------------------------------------------------------------- masking

@dataclass
class MaskedTokens:
    """What ``mask_tokens`` returns: the model's ``inputs``, the MLM ``labels`` (original id at
    chosen positions, -100 elsewhere) and ``kind`` (0 not chosen, 1 [MASK], 2 random, 3 kept)."""

    inputs: Tensor
    labels: Tensor
    kind: Tensor

    @property
    def chosen(self) -> Tensor:
        return self.kind != KEPT_AS_IS


def _check_split(split) -> tuple[float, float, float]:
    if isinstance(split, (str, bytes)) or not hasattr(split, "__len__") or len(split) != 3:
        raise TypeError("split must be three shares ([MASK], random, kept) such as (0.8, 0.1, "
                        f"0.1), got {split!r}")
    shares = tuple(check_float(f"split[{i}]", s, minimum=0.0, maximum=1.0)
                   for i, s in enumerate(split))
    if abs(sum(shares) - 1.0) > 1e-9:
        raise ValueError(f"split must sum to 1 ([MASK], random, kept shares), got {split!r} "
                         f"summing to {sum(shares):g}")
    return shares


def mask_tokens(ids: Tensor, special_mask: Tensor, *, mask_id: int, vocab_size: int,
                mask_prob: float = 0.15,
                split: Sequence[float] = (0.8, 0.1, 0.1), generator: torch.Generator,
                first_word_id: int = len(SPECIALS)) -> MaskedTokens:
    """BERT's masked-LM corruption of a batch ``ids`` (B, T).

    Per sequence exactly ``max(1, round(mask_prob * maskable))`` positions are chosen at random
    among the maskable ones (not ``special_mask``; never more than there are); a sequence with
    nothing maskable gets none. Each chosen position independently becomes ``[MASK]`` with
    probability ``split[0]``, a random word (uniform over ids ``first_word_id .. vocab_size-1``)
    with ``split[1]``, or stays with ``split[2]``. ``round`` is Python's (halves to even), as in
    BERT's ``create_pretraining_data.py``.
    """
    if not isinstance(ids, Tensor) or ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"ids must be an integer torch.Tensor, got "
                        f"{ids.dtype if isinstance(ids, Tensor) else type(ids).__name__}")
    if not isinstance(special_mask, Tensor) or special_mask.dtype != torch.bool:
        got = (special_mask.dtype if isinstance(special_mask, Tensor)
               else type(special_mask).__name__)
        raise TypeError("special_mask must be a boolean torch.Tensor (True = never mask), got "
                        f"{got}")
    if ids.dim() != 2 or special_mask.shape != ids.shape:
        raise ValueError("ids must have shape (B, T) and special_mask the same shape, got "
                         f"{tuple(ids.shape)} and {tuple(special_mask.shape)}")
    mask_prob = check_float("mask_prob", mask_prob, minimum=0.0, maximum=1.0, min_inclusive=False,
                            max_inclusive=False)
    p_mask, p_random, _p_keep = _check_split(split)
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    check_ids("ids", ids, vocab_size)
    mask_id = check_int("mask_id", mask_id, minimum=0, maximum=vocab_size - 1)
    first_word_id = check_int("first_word_id", first_word_id, minimum=0, maximum=vocab_size - 1)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")

    maskable = ~special_mask
    n_maskable = maskable.sum(1).tolist()
    # (B,)
    n_chosen = torch.tensor([min(m, max(1, round(mask_prob * m))) if m else 0 for m in n_maskable])
    # specials sort last
    scores = torch.rand(ids.shape, generator=generator).masked_fill(special_mask, 2.0)
    rank = scores.argsort(dim=1).argsort(dim=1)  # (B, T): 0 for the lowest score of the row
    chosen = rank < n_chosen[:, None]
    u = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (u < p_mask)
    to_random = chosen & (u >= p_mask) & (u < p_mask + p_random)
    random_words = torch.randint(first_word_id, vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[to_mask] = mask_id
    inputs[to_random] = random_words[to_random].to(ids.dtype)
    labels = torch.where(chosen, ids.long(), torch.full_like(ids, IGNORE, dtype=torch.long))
    kind = torch.zeros(ids.shape, dtype=torch.int8)
    kind[chosen] = TO_SAME
    kind[to_mask] = TO_MASK
    kind[to_random] = TO_RANDOM
    return MaskedTokens(inputs, labels, kind)


# --------------------------------------------------------------------------- the model

@dataclass
class BertConfig:
    """Sizes of a small BERT; the defaults train on the Lee corpus in minutes on a CPU."""

    vocab_size: int
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 256
    n_layers: int = 4
    max_len: int = 64
    dropout: float = 0.1
    n_segments: int = 2
    pad_id: int = 0
    # pre-LN layers and a final LayerNorm (the checkpoint's recipe); False = BERT's post-LN
    norm_first: bool = False
    # "learned" (BERT) or "sinusoidal": chapter 08's fixed table, scaled to the tokens' size
    positions: str = "learned"

    def __post_init__(self) -> None:
        """Every size checked here, once: a bad value is refused when the config is made."""
        check_int("vocab_size", self.vocab_size, minimum=len(SPECIALS) + 1)
        for name in ("d_model", "n_heads", "d_ff", "n_layers"):
            check_int(name, getattr(self, name), minimum=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads: got d_model={self.d_model}, "
                             f"n_heads={self.n_heads}")
        check_int("max_len", self.max_len, minimum=3)  # [CLS] a [SEP]
        check_float("dropout", self.dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
        check_int("n_segments", self.n_segments, minimum=2)  # sentence A and sentence B
        check_int("pad_id", self.pad_id, minimum=0, maximum=self.vocab_size - 1)


class Bert(nn.Module):
    """Encoder-only Transformer: (token + segment + position) embeddings -> LayerNorm -> N post-LN
    ``EncoderLayer`` s (GELU, as BERT) -> an MLM head tied to the token embedding and an NSP
    head (pooler: tanh(W h_[CLS]), then two logits: 0 = random, 1 = is next)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, got {type(config).__name__}")
        c = replace(config)  # a checked copy: fields changed after construction are checked again
        self.config = c
        self.token_embed = nn.Embedding(c.vocab_size, c.d_model)
        self.segment_embed = nn.Embedding(c.n_segments, c.d_model)
        self.position_embed = nn.Embedding(c.max_len, c.d_model)
        self.embed_norm = nn.LayerNorm(c.d_model)
        self.embed_dropout = nn.Dropout(c.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout,
                                                  activation="gelu",
                                                  norm_first=bool(c.norm_first))
                                     for _ in range(c.n_layers))
        # pre-LN needs one at the top
        self.final_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.mlm_transform = nn.Sequential(nn.Linear(c.d_model, c.d_model), nn.GELU(),
                                           nn.LayerNorm(c.d_model))
        # the decoder's weight is token_embed's
        self.mlm_bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.pooler = nn.Linear(c.d_model, c.d_model)
        self.nsp_head = nn.Linear(c.d_model, 2)
        for embedding in (self.token_embed, self.segment_embed, self.position_embed):
            nn.init.normal_(embedding.weight, std=0.02)  # BERT's initializer range
        if c.positions == "sinusoidal":
            # fixed, not learned; per-dimension size about the tokens' at the start
            with torch.no_grad():
                self.position_embed.weight.copy_(0.05 * sinusoidal_positions(c.max_len, c.d_model))
            self.position_embed.weight.requires_grad_(False)
        elif c.positions != "learned":
            raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {c.positions!r}")

    def _check_inputs(self, ids: Tensor, segments: Tensor) -> None:
        if (not isinstance(ids, Tensor) or ids.dtype not in (torch.int64, torch.int32)
            or ids.dim() != 2):
            got = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
            raise TypeError(f"ids must be an integer tensor of shape (B, T), got {got}")
        if ids.shape[1] == 0:
            raise ValueError(f"ids must hold at least one token, got shape {tuple(ids.shape)}")
        if not isinstance(segments, Tensor) or segments.shape != ids.shape:
            got = tuple(segments.shape) if isinstance(segments, Tensor) else type(segments).__name__
            raise ValueError(f"segments must be a tensor of the ids' shape {tuple(ids.shape)}, got "
                             f"{got}")
        check_id_tensor("segments", segments, self.config.n_segments,
                        what="segment ids (0 = sentence A, 1 = B)")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"ids has length {ids.shape[1]} but the model's max_len is "
                             f"{self.config.max_len}; encode the pair with truncate=True to crop "
                             "it")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.config.vocab_size}), got "
                             f"[{int(ids.min())}, {int(ids.max())}]")

    def embed(self, ids: Tensor, segments: Tensor, positions: Tensor | None = None) -> Tensor:
        """Token + segment + position embeddings, normalised: (B, T) -> (B, T, d). ``positions``
        (T,) are the position ids, 0, 1, ..., T-1 unless given (an experiment may give others)."""
        self._check_inputs(ids, segments)
        if positions is None:
            positions = torch.arange(ids.shape[1])
        else:
            check_tensor("positions", positions, shape=(ids.shape[1],))
            check_id_tensor("positions", positions, self.config.max_len, what="position ids")
        x = (self.token_embed(ids) + self.segment_embed(segments)
             + self.position_embed(positions)[None])
        return self.embed_dropout(self.embed_norm(x))

    def forward(self, ids: Tensor, segments: Tensor, *, all_layers: bool = False,
                positions: Tensor | None = None) -> Tensor | list[Tensor]:
        """Hidden states (B, T, d) of the last layer, or of every layer (embeddings first)."""
        x = self.embed(ids, segments, positions)
        mask = (ids != self.config.pad_id)[:, None, None, :]  # (B, 1, 1, T): the padding mask
        states = [x]
        for k, layer in enumerate(self.encoder):
            x = layer(x, mask)
            states.append(self.final_norm(x) if k == len(self.encoder) - 1 else x)
        return states if all_layers else states[-1]

    def mlm_logits(self, hidden: Tensor) -> Tensor:
        """Word logits (..., V) of hidden vectors (..., d); the output matrix is the token
        embedding."""
        return self.mlm_transform(hidden) @ self.token_embed.weight.T + self.mlm_bias

    def nsp_logits(self, hidden: Tensor) -> Tensor:
        """(B, 2) logits [random, is next] from the [CLS] position of hidden states (B, T, d)."""
        return self.nsp_head(torch.tanh(self.pooler(hidden[:, 0])))


def bert_loss(model: Bert, inputs: Tensor, segments: Tensor, labels: Tensor, is_next: Tensor
              ) -> tuple[Tensor, Tensor, Tensor]:
    """(MLM + NSP, MLM, NSP) cross-entropies; MLM is the mean over chosen positions only."""
    hidden = model(inputs, segments)  # (B, T, d)
    chosen = labels != IGNORE
    if not bool(chosen.any()):
        raise ValueError("labels choose no position: the MLM loss has nothing to count")
    # logits only where needed
    mlm = nn.functional.cross_entropy(model.mlm_logits(hidden[chosen]), labels[chosen])
    nsp = nn.functional.cross_entropy(model.nsp_logits(hidden), is_next)
    return mlm + nsp, mlm, nsp


def _mask_batch(batch: PairBatch, vocab_size: int, generator: torch.Generator, mask_prob: float,
                split: Sequence[float]) -> MaskedTokens:
    return mask_tokens(batch.ids, special_tokens_mask(batch.ids), mask_id=SPECIALS.index(MASK),
                       vocab_size=vocab_size,
                       mask_prob=mask_prob, split=split, generator=generator)


def train_bert(model: Bert, documents: Sequence[Sequence[Sequence[str]]], vocab: Vocabulary, *,
               epochs: int = 1,
               batch_size: int = 32, lr: float = 1e-3, warmup_steps: int = 100,
               weight_decay: float = 0.01,
               mask_prob: float = 0.15, split: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
               nsp: bool = True, progress: bool = False) -> dict[str, list[float]]:
    """Pre-train on MLM + NSP (MLM alone if ``nsp`` is False, RoBERTa's choice; the NSP loss is
    still measured) with AdamW and linear warm-up; new NSP pairs and new masks every epoch
    (dynamic masking). Returns the mean MLM and NSP loss per epoch."""
    if not isinstance(nsp, bool):
        raise TypeError(f"nsp must be True (MLM + NSP) or False (MLM alone), got {nsp!r}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                 lambda step: min(1.0, (step + 1)
                                                                  / (warmup_steps + 1)))
    history: dict[str, list[float]] = {"mlm": [], "nsp": []}
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc="epochs")
    model.train()
    for _ in epoch_iter:
        data = encode_pairs(nsp_pairs(documents, generator), vocab, model.config.max_len,
                            truncate=True)
        order = torch.randperm(len(data), generator=generator)
        sums, batches = [0.0, 0.0], 0
        for start in range(0, len(data), batch_size):
            batch = data[order[start: start + batch_size]]
            masked = _mask_batch(batch, model.config.vocab_size, generator, mask_prob, split)
            loss, mlm_part, nsp_part = bert_loss(model, masked.inputs, batch.segments,
                                                 masked.labels, batch.is_next)
            optimizer.zero_grad()
            (loss if nsp else mlm_part).backward()
            optimizer.step()
            schedule.step()
            sums[0], sums[1], batches = (sums[0] + mlm_part.item(), sums[1] + nsp_part.item(),
                                         batches + 1)
        history["mlm"].append(sums[0] / batches)
        history["nsp"].append(sums[1] / batches)
    model.eval()
    return history


@dataclass
class BertScores:
    """Held-out scores: MLM loss (nats per chosen position) and accuracy, NSP loss and accuracy."""

    mlm_loss: float
    mlm_accuracy: float
    nsp_loss: float
    nsp_accuracy: float
    n_masked: int
    n_pairs: int
    # the masked words' ids, for baselines
    labels: list[int] = field(repr=False, default_factory=list)


@torch.no_grad()
def evaluate_bert(model: Bert, documents: Sequence[Sequence[Sequence[str]]], vocab: Vocabulary, *,
                  seed: int = 0,
                  repeats: int = 5, batch_size: int = 256, mask_prob: float = 0.15,
                  split: Sequence[float] = (0.8, 0.1, 0.1)) -> BertScores:
    """Scores on held-out documents over ``repeats`` fixed draws of NSP pairs and masks (the same
    ``seed`` gives the same draws, so two models are compared on the same questions)."""
    repeats = check_int("repeats", repeats, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    was_training = model.training
    model.eval()
    mlm_sum = nsp_sum = 0.0
    mlm_hits = nsp_hits = n_masked = n_pairs = 0
    labels_seen: list[int] = []
    for _ in range(repeats):
        data = encode_pairs(nsp_pairs(documents, generator), vocab, model.config.max_len,
                            truncate=True)
        for start in range(0, len(data), batch_size):
            batch = data[start: start + batch_size]
            masked = _mask_batch(batch, model.config.vocab_size, generator, mask_prob, split)
            hidden = model(masked.inputs, batch.segments)
            chosen = masked.labels != IGNORE
            logits, target = model.mlm_logits(hidden[chosen]), masked.labels[chosen]
            mlm_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
            mlm_hits += int((logits.argmax(-1) == target).sum())
            n_masked += int(target.numel())
            labels_seen += target.tolist()
            nsp = model.nsp_logits(hidden)
            nsp_sum += nn.functional.cross_entropy(nsp, batch.is_next, reduction="sum").item()
            nsp_hits += int((nsp.argmax(-1) == batch.is_next).sum())
            n_pairs += len(batch)
    model.train(was_training)
    return BertScores(mlm_sum / n_masked, mlm_hits / n_masked, nsp_sum / n_pairs,
                      nsp_hits / n_pairs,
                      n_masked, n_pairs, labels_seen)


def mlm_baselines(train_sentences: Sequence[Sequence[str]], vocab: Vocabulary, labels: Sequence[int]
                  ) -> dict[str, float]:
    """What a model without context scores on the same masked words (ids ``labels``):
    ``most_frequent_accuracy`` (always guess the commonest training word), ``unigram_loss``
    (cross-entropy of add-one unigram probabilities, nats) and ``unigram_sample_accuracy``
    (expected accuracy of guessing a word drawn from those probabilities)."""
    labels = check_ids("labels", labels, len(vocab), ndim=1)
    if labels.size == 0:
        raise ValueError("labels is empty: give the ids of the masked words to score")
    # add-one: no held-out word gets probability 0
    counts = torch.ones(len(vocab), dtype=torch.float64)
    counts[: len(SPECIALS)] = 0.0  # never a label
    for sentence in train_sentences:
        for i in vocab.encode(sentence):
            if i >= len(SPECIALS):
                counts[i] += 1
    probs = counts / counts.sum()
    target = torch.from_numpy(labels)
    top = int(probs.argmax())
    return {"most_frequent_word": vocab.tokens[top],
            "most_frequent_accuracy": float((target == top).double().mean()),
            "unigram_loss": float(-probs[target].log().mean()),
            "unigram_sample_accuracy": float(probs[target].mean())}


# --------------------------------------------------------------------------- reading the model

def _sentence_ids(sentence: str | Sequence[str], vocab: Vocabulary,
                  max_len: int) -> tuple[list[str], Tensor]:
    """Tokens of a sentence that may hold ``[MASK]``, and the ids (1, T) of ``[CLS] tokens
    [SEP]``."""
    if isinstance(sentence, str) and isinstance(vocab, SubwordVocabulary):
        tokens = vocab.tokenize(sentence)
    elif isinstance(sentence, str):
        tokens = []
        for i, piece in enumerate(sentence.split(MASK)):
            if i:
                tokens.append(MASK)
            tokens += bert_tokenize(piece)
    else:
        tokens = list(sentence)
    if not tokens:
        raise ValueError("sentence holds no tokens")
    pair = encode_pair(tokens, None, vocab, max_len)
    return tokens, torch.tensor([pair.ids])


@torch.no_grad()
def layer_states(model: Bert, vocab: Vocabulary, sentence: str | Sequence[str],
                 layer: int | None = None
                 ) -> tuple[list[str], Tensor]:
    """Tokens of ``sentence`` and their vectors at every layer (L+1, T, d), or at one ``layer``
    (T, d); layer 0 is the embedding output, layer L the last encoder layer. [CLS] and [SEP]
    are left out."""
    n = model.config.n_layers
    if layer is not None:
        layer = check_int("layer", layer)
        if not 0 <= layer <= n:
            raise ValueError(f"layer must be between 0 (embeddings) and {n} (the last encoder "
                             f"layer), got {layer}")
    tokens, ids = _sentence_ids(sentence, vocab, model.config.max_len)
    was_training = model.training
    model.eval()
    # (L+1, T, d)
    states = torch.stack(model(ids, torch.zeros_like(ids), all_layers=True))[:, 0, 1:-1]
    model.train(was_training)
    return tokens, states if layer is None else states[layer]


@torch.no_grad()
def fill_mask(model: Bert, vocab: Vocabulary, sentence: str | Sequence[str],
              k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable words (with probabilities) for the first ``[MASK]`` of ``sentence``;
    special tokens are never proposed."""
    k = check_int("k", k, minimum=1)
    tokens, ids = _sentence_ids(sentence, vocab, model.config.max_len)
    if MASK not in tokens:
        shown = vocab.text(tokens) if isinstance(vocab, SubwordVocabulary) else " ".join(tokens)
        raise ValueError(f"sentence must contain {MASK} (the word to predict), got {shown!r}")
    was_training = model.training
    model.eval()
    hidden = model(ids, torch.zeros_like(ids))
    model.train(was_training)
    position = tokens.index(MASK) + 1  # after [CLS]
    probs = torch.softmax(model.mlm_logits(hidden[0, position]), -1)
    probs[: len(SPECIALS)] = 0.0
    top = probs.topk(min(k, len(vocab) - len(SPECIALS)))
    return [(vocab.tokens[i], float(p)) for p, i in zip(top.values.tolist(), top.indices.tolist())]


def fill_mask_examples(vocab: SubwordVocabulary, documents: Sequence[str], *, min_words: int = 8,
                       max_words: int = 30, seed: int = 0,
                       max_tokens: int = 62) -> list[tuple[str, str]]:
    """(sentence with ``[MASK]``, the hidden word) for each document, chosen by a rule, not by
    success: the document's first sentence of ``min_words``..``max_words`` words that fits in
    ``max_tokens`` tokens; in it one word drawn uniformly (``seed``) among the words that follow a
    space (or start the sentence), are letters only and are a single token."""
    if not isinstance(vocab, SubwordVocabulary):
        raise TypeError(f"vocab must be a SubwordVocabulary, got {type(vocab).__name__}")
    if isinstance(documents, str):
        raise TypeError("documents must be a list of document strings, got a str")
    min_words = check_int("min_words", min_words, minimum=1)
    max_words = check_int("max_words", max_words, minimum=min_words)
    max_tokens = check_int("max_tokens", max_tokens, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    out = []
    for document in documents:
        for sentence in split_sentences(" ".join(document.split())):
            if (not min_words <= len(sentence.split()) <= max_words
                or len(vocab.tokenize(sentence)) > max_tokens):
                continue
            spans = [m.span() for m in re.finditer(r"(?:(?<=\s)|^)[A-Za-z]+\b", sentence)
                     if len(vocab.tokenize(m.group())) == 1]
            if not spans:
                continue
            a, b = spans[int(torch.randint(len(spans), (1,), generator=generator))]
            out.append((sentence[:a] + MASK + sentence[b:], sentence[a:b].lower()))
            break
    return out


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str | Path, model: Bert, vocab: Vocabulary,
                    metadata: dict | None = None) -> None:
    """Save the weights as float16 (half the size), the config, the vocabulary and ``metadata``."""
    if isinstance(vocab, SubwordVocabulary):  # the BPE merges rebuild the tokenizer and the names
        merges = torch.tensor(vocab.tokenizer.merges, dtype=torch.int32).reshape(-1, 2)
        words = {"bpe_merges": merges, "bpe_pattern": vocab.tokenizer.pattern}
    else:
        words = {"tokens": list(vocab.tokens), "counts": list(vocab.counts)}
    _checkpoints.save(path, model, **words, metadata=dict(metadata or {}))


def load_checkpoint(path: str | Path) -> tuple[Bert, Vocabulary, dict]:
    """The model (float32, eval mode), its vocabulary and the metadata saved with it."""
    saved, state = _checkpoints.load(path, "scripts/make_checkpoint_09b.py")
    model = Bert(BertConfig(**saved["config"]))
    model.load_state_dict(state)
    if "bpe_merges" in saved:
        merges = tuple(tuple(pair) for pair in saved["bpe_merges"].tolist())
        vocab = subword_vocabulary(BytePairTokenizer(merges=merges, pattern=saved["bpe_pattern"]))
    else:
        vocab = Vocabulary(tuple(saved["tokens"]), tuple(saved["counts"]), unk_token=UNK)
    return model.eval(), vocab, saved["metadata"]


@torch.no_grad()
def accuracy_by_kind(model: Bert, documents: Sequence[Sequence[Sequence[str]]], vocab: Vocabulary,
                     *, seed: int = 0,
                     repeats: int = 5, batch_size: int = 256) -> dict[str, tuple[int, float]]:
    """Held-out MLM accuracy split by what the model was shown at the chosen position:
    ``{"[MASK]": (count, accuracy), "random": ..., "kept": ...}`` (the draws of
    ``evaluate_bert``)."""
    repeats = check_int("repeats", repeats, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    was_training = model.training
    model.eval()
    hits, counts = collections.Counter(), collections.Counter()
    for _ in range(repeats):
        data = encode_pairs(nsp_pairs(documents, generator), vocab, model.config.max_len,
                            truncate=True)
        for start in range(0, len(data), batch_size):
            batch = data[start: start + batch_size]
            masked = _mask_batch(batch, model.config.vocab_size, generator, 0.15, (0.8, 0.1, 0.1))
            hidden = model(masked.inputs, batch.segments)
            chosen = masked.chosen
            right = model.mlm_logits(hidden[chosen]).argmax(-1) == masked.labels[chosen]
            kinds = masked.kind[chosen]
            for kind in (TO_MASK, TO_RANDOM, TO_SAME):
                counts[kind] += int((kinds == kind).sum())
                hits[kind] += int(right[kinds == kind].sum())
    model.train(was_training)
    names = {TO_MASK: MASK, TO_RANDOM: "random", TO_SAME: "kept"}
    return {names[k]: (counts[k], hits[k] / max(counts[k], 1))
            for k in (TO_MASK, TO_RANDOM, TO_SAME)}


# ----------------------------------------------------- the checkpoint's recipe: sub-words, MLM only
# RoBERTa's lessons at small scale (Liu et al. 2019): a sub-word vocabulary (no [UNK]), full
# windows of running text instead of sentence pairs, MLM only (no NSP), dynamic masking, larger
# batches, AdamW with warm-up and a cosine decay.

@dataclass(frozen=True)
class SubwordVocabulary(Vocabulary):
    """A ``Vocabulary`` over byte-level BPE tokens (chapter 09c's ``BytePairTokenizer``):
    id = 5 + BPE id after the five special tokens, so every text encodes without ``[UNK]``.

    ``tokenize(text)`` lower-cases, joins white space and gives every word its leading space
    (" the", as in the middle of a document). Token names are the tokens' text; a byte that is
    not valid UTF-8 alone is named ``<0xNN>``."""

    tokenizer: object = field(default=None, compare=False, repr=False)

    def tokenize(self, text: str) -> list[str]:
        """Sub-word tokens of ``text`` (may hold ``[MASK]``, kept as one token)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        tokens: list[str] = []
        for i, piece in enumerate(text.split(MASK)):
            if i:
                tokens.append(MASK)
            piece = " ".join(piece.lower().split())
            if piece:
                tokens += [self.tokens[len(SPECIALS) + j]
                           for j in self.tokenizer.encode(" " + piece)]
        return tokens

    def text(self, tokens: Sequence[str]) -> str:
        """Tokens back to text (special tokens as they are), without the leading space."""
        out, ids = [], []
        for token in tokens:
            i = self.index(token)
            if i < len(SPECIALS):
                out.append(self.tokenizer.decode(ids) + token)
                ids = []
            else:
                ids.append(i - len(SPECIALS))
        return ("".join(out) + self.tokenizer.decode(ids)).strip()


def subword_vocabulary(tokenizer) -> SubwordVocabulary:
    """The five special tokens, then one entry per BPE id of ``tokenizer`` (counts all 0)."""
    if not isinstance(tokenizer, BytePairTokenizer):
        raise TypeError(f"tokenizer must be a BytePairTokenizer, got {type(tokenizer).__name__}")
    names: list[str] = list(SPECIALS)
    seen = set(names)
    for i in range(tokenizer.vocab_size):
        raw = tokenizer.token_bytes(i)
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = "<0x" + raw.hex() + ">"
        while name in seen:  # never in practice; keeps the names distinct
            name = name + "\u2060"
        seen.add(name)
        names.append(name)
    return SubwordVocabulary(tuple(names), (0,) * len(names), unk_token=UNK, tokenizer=tokenizer)


def text_windows(documents: Sequence[str], vocab: SubwordVocabulary, max_len: int = 64,
                 min_tokens: int = 8
                 ) -> PairBatch:
    """RoBERTa's "full sentences" input at small scale: each document's sub-word tokens cut into
    consecutive windows of ``max_len - 2`` tokens, each as ``[CLS] window [SEP]`` (segment 0;
    a document's last window is kept if it has at least ``min_tokens`` tokens)."""
    if isinstance(documents, str):
        raise TypeError("documents must be a list of document strings, got a str")
    if not isinstance(vocab, SubwordVocabulary):
        raise TypeError(f"vocab must be a SubwordVocabulary, got {type(vocab).__name__}")
    max_len = check_int("max_len", max_len, minimum=3)
    min_tokens = check_int("min_tokens", min_tokens, minimum=1)
    width = max_len - 2
    rows = []
    for document in documents:
        ids = vocab.encode(vocab.tokenize(document))
        for start in range(0, len(ids), width):
            piece = ids[start: start + width]
            if len(piece) >= min_tokens:
                rows.append([SPECIALS.index(CLS)] + piece + [SPECIALS.index(SEP)])
    if not rows:
        raise ValueError("no document gives a window of min_tokens tokens")
    out = torch.zeros((len(rows), max(len(r) for r in rows)), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return PairBatch(out, torch.zeros_like(out), torch.zeros(len(rows), dtype=torch.long))


def mlm_loss(model: Bert, inputs: Tensor, segments: Tensor, labels: Tensor) -> Tensor:
    """The MLM cross-entropy alone (mean over chosen positions)."""
    hidden = model(inputs, segments)
    chosen = labels != IGNORE
    if not bool(chosen.any()):
        raise ValueError("labels choose no position: the MLM loss has nothing to count")
    return nn.functional.cross_entropy(model.mlm_logits(hidden[chosen]), labels[chosen])


def train_mlm(model: Bert, windows: PairBatch, *, steps: int, batch_size: int = 128,
              lr: float = 1e-3,
              warmup_steps: int = 200, weight_decay: float = 0.01, clip: float = 1.0, seed: int = 0,
              log_every: int = 50, log=None) -> list[float]:
    """Pre-train on MLM alone for ``steps`` AdamW steps (warm-up then cosine decay to 0,
    ``nlpcourse.optim.warmup_cosine``), batches drawn from a new shuffle of ``windows`` each
    pass and masked anew every time (dynamic masking). Returns the mean training loss of each
    ``log_every`` steps; ``log(step, loss, lr)`` is called after each of them if given."""
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    log_every = check_int("log_every", log_every, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                 lambda s: warmup_cosine(s, warmup_steps, steps))
    history, running, order, at = [], 0.0, torch.empty(0, dtype=torch.long), 0
    model.train()
    for step in range(steps):
        if at + batch_size > len(order):
            order, at = torch.randperm(len(windows), generator=generator), 0
        batch = windows[order[at: at + batch_size]]
        at += batch_size
        masked = _mask_batch(batch, model.config.vocab_size, generator, 0.15, (0.8, 0.1, 0.1))
        loss = mlm_loss(model, masked.inputs, batch.segments, masked.labels)
        optimizer.zero_grad()
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        schedule.step()
        running += loss.item()
        if (step + 1) % log_every == 0:
            history.append(running / log_every)
            if log is not None:
                log(step + 1, history[-1], schedule.get_last_lr()[0])
            running = 0.0
    model.eval()
    return history


@dataclass
class MlmScores:
    """Held-out masked-LM scores over fixed draws of masks: ``loss`` (nats per chosen position),
    ``accuracy`` (all chosen positions), ``mask_accuracy`` and ``mask_top5`` (the positions shown
    as ``[MASK]``, 80 % of them), with their counts. ``contexts`` (N, 3) holds each chosen
    position's original (left, word, right) ids and ``kinds`` (N,) what the model was shown, so a
    baseline can be scored on the same positions."""

    loss: float
    accuracy: float
    mask_accuracy: float
    mask_top5: float
    n_chosen: int
    n_mask: int
    contexts: Tensor = field(repr=False, default=None)
    kinds: Tensor = field(repr=False, default=None)
    correct: Tensor = field(repr=False, default=None)  # (N,) bool: the top guess is the word

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("contexts", "kinds", "correct")}


@torch.no_grad()
def evaluate_mlm(model: Bert, windows: PairBatch, *, seed: int = 0, repeats: int = 3,
                 batch_size: int = 256
                 ) -> MlmScores:
    """Masked-LM scores of ``model`` on ``windows`` over ``repeats`` draws of BERT's masks (the
    same ``seed`` and ``batch_size`` give the same masks, so models and baselines answer the same
    questions)."""
    repeats = check_int("repeats", repeats, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    was_training = model.training
    model.eval()
    loss_sum, hits, contexts, kinds, top5 = 0.0, [], [], [], []
    for _ in range(repeats):
        for start in range(0, len(windows), batch_size):
            batch = windows[start: start + batch_size]
            masked = _mask_batch(batch, model.config.vocab_size, generator, 0.15, (0.8, 0.1, 0.1))
            chosen = masked.chosen
            logits = model.mlm_logits(model(masked.inputs, batch.segments)[chosen])
            logits[:, : len(SPECIALS)] = -torch.inf  # a special token is never the answer
            target = masked.labels[chosen]
            loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
            hits.append(logits.argmax(-1) == target)
            top5.append((logits.topk(5, -1).indices == target[:, None]).any(-1))
            padded = nn.functional.pad(batch.ids, (1, 1))  # position j of ids is j + 1 here
            rows, cols = chosen.nonzero(as_tuple=True)
            contexts.append(torch.stack([padded[rows, cols], padded[rows, cols + 1],
                                         padded[rows, cols + 2]], 1))
            kinds.append(masked.kind[chosen])
    model.train(was_training)
    hits, top5, kinds = torch.cat(hits), torch.cat(top5), torch.cat(kinds)
    at_mask = kinds == TO_MASK
    return MlmScores(loss_sum / len(hits), float(hits.float().mean()),
                     float(hits[at_mask].float().mean()),
                     float(top5[at_mask].float().mean()), int(len(hits)), int(at_mask.sum()),
                     torch.cat(contexts), kinds, hits)


def neighbour_baselines(train_windows: PairBatch, scores: MlmScores,
                        only_mask: bool = True) -> dict[str, float]:
    """Count-based guesses scored on the positions of ``scores`` (the ``[MASK]`` ones if
    ``only_mask``), from counts over ``train_windows``:

    - ``constant``: always the commonest training token;
    - ``left_neighbour``: the commonest token after the left neighbour (a bigram);
    - ``two_neighbours``: the commonest token between the two original neighbours in the training
      text, falling back to ``left_neighbour`` and then ``constant`` for an unseen pair.

    The neighbours are the original tokens even where the model saw them masked (generous to
    the baselines)."""
    if not isinstance(train_windows, PairBatch) or not isinstance(scores, MlmScores):
        raise TypeError("train_windows must be a PairBatch and scores an MlmScores (from "
                        "evaluate_mlm)")
    ids = train_windows.ids
    v = int(max(int(ids.max()), int(scores.contexts.max()))) + 1
    left, mid, right = ids[:, :-2].reshape(-1), ids[:, 1:-1].reshape(-1), ids[:, 2:].reshape(-1)
    word = mid >= len(SPECIALS)
    left, mid, right = left[word], mid[word], right[word]
    constant = int(torch.bincount(mid, minlength=v).argmax())

    def best_by(key: Tensor) -> dict[int, int]:
        pairs, counts = torch.unique(key * v + mid, return_counts=True)
        keys, words = (pairs // v).tolist(), (pairs % v).tolist()
        best: dict[int, tuple[int, int]] = {}
        for k, w, c in zip(keys, words, counts.tolist()):
            if k not in best or c > best[k][1]:
                best[k] = (w, c)
        return {k: w for k, (w, _c) in best.items()}

    after_left = best_by(left)
    between = best_by(left * v + right)
    ctx = scores.contexts[scores.kinds == TO_MASK] if only_mask else scores.contexts
    l, target, r = ctx[:, 0].tolist(), ctx[:, 1].tolist(), ctx[:, 2].tolist()
    guess_left = [after_left.get(a, constant) for a in l]
    guess_two = [between.get(a * v + b, g) for a, b, g in zip(l, r, guess_left)]
    n = len(target)
    return {"constant_token": constant,
            "constant": sum(t == constant for t in target) / n,
            "left_neighbour": sum(t == g for t, g in zip(target, guess_left)) / n,
            "two_neighbours": sum(t == g for t, g in zip(target, guess_two)) / n,
            "n": n}


# --------------------------------------------------------------------- fine-tuning the [CLS] vector

def encode_texts(texts: Sequence[str], vocab: SubwordVocabulary, max_len: int) -> PairBatch:
    """Single texts as ``[CLS] tokens [SEP]`` (cut at ``max_len``), padded into one batch."""
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of strings")
    return encode_pairs([(vocab.tokenize(t), None, 0) for t in texts], vocab, max_len,
                        truncate=True)


class ClsClassifier(nn.Module):
    """A BERT encoder with a linear layer on its last-layer ``[CLS]`` vector (dropout before it)."""

    def __init__(self, encoder: Bert, n_classes: int, dropout: float = 0.1):
        super().__init__()
        if not isinstance(encoder, Bert):
            raise TypeError(f"encoder must be a Bert, got {type(encoder).__name__}")
        n_classes = check_int("n_classes", n_classes, minimum=2)
        self.encoder = encoder
        self.dropout = nn.Dropout(check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                                              max_inclusive=False))
        self.head = nn.Linear(encoder.config.d_model, n_classes)

    def forward(self, ids: Tensor, segments: Tensor) -> Tensor:
        return self.head(self.dropout(self.encoder(ids, segments)[:, 0]))


def fine_tune_cls(encoder: Bert, inputs: PairBatch, labels: Sequence[int], *, n_classes: int = 2,
                  steps: int = 60,
                  batch_size: int = 16, lr: float = 5e-4, warmup_steps: int = 6,
                  seed: int = 0) -> ClsClassifier:
    """Fine-tune a copy of ``encoder`` with a new [CLS] head on (``inputs``, ``labels``):
    ``steps`` AdamW steps of ``batch_size`` examples (a new shuffle each pass), warm-up then
    cosine decay. ``encoder`` itself is left unchanged."""
    import copy

    labels = torch.as_tensor(check_ids("labels", labels, n_classes, ndim=1), dtype=torch.long)
    if len(labels) != len(inputs):
        raise ValueError(f"labels must hold one label per input: {len(inputs)} inputs, "
                         f"{len(labels)} labels")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    torch.manual_seed(seed)  # the head's initial weights and dropout
    model = ClsClassifier(copy.deepcopy(encoder), n_classes)
    optimizer = torch.optim.AdamW(model.parameters(),
                                  lr=check_float("lr", lr, minimum=0.0, min_inclusive=False),
                                  weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                 lambda s: warmup_cosine(s, warmup_steps, steps))
    order, at = torch.empty(0, dtype=torch.long), 0
    model.train()
    for _ in range(steps):
        if at >= len(order):
            order, at = torch.randperm(len(inputs), generator=generator), 0
        index = order[at: at + batch_size]
        at += batch_size
        batch = inputs[index]
        loss = nn.functional.cross_entropy(model(batch.ids, batch.segments), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    return model


@torch.no_grad()
def cls_accuracy(model: ClsClassifier, inputs: PairBatch, labels: Sequence[int],
                 batch_size: int = 256) -> float:
    """Share of ``inputs`` whose predicted class is the label."""
    labels = torch.as_tensor(list(labels), dtype=torch.long)
    was_training = model.training
    model.eval()
    hits = 0
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start: start + batch_size]
        hits += int((model(batch.ids, batch.segments).argmax(-1)
                     == labels[start: start + batch_size]).sum())
    model.train(was_training)
    return hits / len(inputs)


def source_task(min_words: int = 8, max_words: int = 40) -> dict[str, tuple[list[str], list[int]]]:
    """A small labelled task from shipped text: is a sentence from a news story (label 0, the
    Lee stories) or from Wikipedia (label 1)? Sentences of ``min_words``..``max_words`` words
    from ``data.english_lm_split``'s documents: ``"train"`` holds every one from the training
    documents except those that are also test sentences (draw the labelled examples from it),
    ``"test"`` every news sentence of the held-out documents and as many Wikipedia ones drawn at
    random (fixed seed 0), so chance is 1/2. Independent of any notebook seed."""
    min_words = check_int("min_words", min_words, minimum=1)
    max_words = check_int("max_words", max_words, minimum=min_words)
    n_news = len(data.lee_documents("background"))
    every = 20  # english_lm_split's default
    pools: dict[str, list[list[str]]] = {"train": [[], []], "test": [[], []]}
    for i, document in enumerate(data.english_documents()):
        split = "test" if i % every == 0 else "train"
        for sentence in split_sentences(" ".join(document.split())):
            if min_words <= len(sentence.split()) <= max_words:
                pools[split][int(i >= n_news)].append(sentence)
    news, wiki = pools["test"]
    pick = torch.randperm(len(wiki),
                          generator=torch.Generator().manual_seed(0))[: len(news)].sort().values
    test = news + [wiki[j] for j in pick.tolist()]
    # the Lee stories repeat some sentences word for word: none of them is trained on
    seen = set(test)
    train_news, train_wiki = ([t for t in pool if t not in seen] for pool in pools["train"])
    return {"train": (train_news + train_wiki, [0] * len(train_news) + [1] * len(train_wiki)),
            "test": (test, [0] * len(news) + [1] * len(news))}


def balanced_sample(labels: Sequence[int], n: int, seed: int) -> list[int]:
    """Indices of ``n`` examples, ``n // n_classes`` from each class, drawn at random with
    ``seed``."""
    labels = torch.as_tensor(list(labels), dtype=torch.long)
    n_classes = int(labels.max()) + 1
    n = check_int("n", n, minimum=n_classes)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    picked = []
    for c in range(n_classes):
        members = (labels == c).nonzero(as_tuple=True)[0]
        picked += members[torch.randperm(len(members),
                                         generator=generator)[: n // n_classes]].tolist()
    return sorted(picked)


# --------------------------------------------------------------------------- probing the layers

@torch.no_grad()
def capital_probe_data(model: Bert, vocab: SubwordVocabulary,
                       cased_sentences: Sequence[Sequence[str]],
                       batch_size: int = 128) -> "elmo.ProbeData":
    """Chapter 09a's probing task for a sub-word BERT: every word but a sentence's first, its
    label 1 if written with a capital letter in the original text, its vectors at every layer
    (embeddings first) taken at the word's first sub-word token. The model reads the text
    lower-cased, so a capital is something it can only infer from the word and its context.
    Sentences longer than the model's ``max_len`` are cut."""
    check_instance("model", model, Bert, "a Bert")
    if not isinstance(vocab, SubwordVocabulary):
        raise TypeError(f"vocab must be a SubwordVocabulary, got {type(vocab).__name__}")
    labels = elmo.capital_labels(cased_sentences)  # checks cased_sentences
    batch_size = check_int("batch_size", batch_size, minimum=1)
    rows, firsts = [], []
    for sentence in cased_sentences:
        ids, starts = [], []
        for word in sentence:
            starts.append(len(ids))
            ids += vocab.encode(vocab.tokenize(word))
        width = model.config.max_len - 2
        rows.append([SPECIALS.index(CLS)] + ids[:width] + [SPECIALS.index(SEP)])
        firsts.append([p + 1 if p < width else -1 for p in starts])  # +1: after [CLS]; -1: cut off
    vectors, ys, words = [], [], []
    was_training = model.training
    model.eval()
    for start in range(0, len(rows), batch_size):
        chunk = range(start, min(start + batch_size, len(rows)))
        ids = torch.zeros((len(chunk), max(len(rows[i]) for i in chunk)), dtype=torch.long)
        for b, i in enumerate(chunk):
            ids[b, : len(rows[i])] = torch.tensor(rows[i])
        layers = torch.stack(model(ids, torch.zeros_like(ids), all_layers=True))  # (L+1, B, T, d)
        for b, i in enumerate(chunk):
            keep = [(p, y) for p, y in zip(firsts[i], labels[i]) if y >= 0 and p >= 0]
            vectors.append(layers[:, b, [p for p, _y in keep]])
            ys.extend(y for _p, y in keep)
            words.extend(cased_sentences[i][k].lower()
                         for k, (p, y) in enumerate(zip(firsts[i], labels[i]))
                         if y >= 0 and p >= 0)
    model.train(was_training)
    if not ys:
        raise ValueError("cased_sentences hold no word after a sentence's first: nothing to probe")
    return elmo.ProbeData(torch.cat(vectors, dim=1), torch.tensor(ys, dtype=torch.long), words)
