"""The Transformer (chapter 08): feed-forward, encoder and decoder layers, the encoder-decoder
model, greedy decoding and a small training loop.

Layers come in the paper's post-LN form (``x = LN(x + sublayer(x))``) and the pre-LN form
(``x = x + sublayer(LN(x))``, ``norm_first=True``). Parameter names follow
``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer`` except that the two
feed-forward linears live in ``feed_forward`` and the decoder's cross-attention is called
``cross_attn``; ``load_torch_layer`` copies a torch layer's weights into ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch
from torch import Tensor, nn

from nlpcourse import _checkpoints
from nlpcourse._checks import check_choice, check_float, check_instance, check_int
from nlpcourse._tensor_checks import check_tensor
from nlpcourse.attention import (LearnedPositionalEncoding, MultiHeadAttention,
                                 SinusoidalPositionalEncoding,
                                 causal_mask, combine_masks, recorded_weights)
from nlpcourse.optim import warmup_cosine
from nlpcourse.text import build_vocabulary, check_token_pairs

__all__ = [
    "PositionwiseFeedForward",
    "EncoderLayer",
    "DecoderLayer",
    "load_torch_layer",
    "TransformerConfig",
    "Transformer",
    "greedy_decode",
    "TranslationData",
    "encode_pairs",
    "train_transformer",
    "exact_match_accuracy",
    "attention_maps",
]


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = W2 relu(W1 x + b1) + b2, applied to every position alone: (B, T, d) -> (B, T, d)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"):
        super().__init__()
        d_model = check_int("d_model", d_model, minimum=1)
        d_ff = check_int("d_ff", d_ff, minimum=1)
        check_choice("activation", activation, ("relu", "gelu"))
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(check_float("dropout", dropout, minimum=0.0, maximum=1.0,
                                              max_inclusive=False))
        self.activation = nn.functional.relu if activation == "relu" else nn.functional.gelu

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def _check_states(name: str, x: Tensor, norm: nn.LayerNorm) -> Tensor:
    """A layer reads (B, T, d_model) vectors in its weights' dtype."""
    return check_tensor(name, x, shape=("B", "T", norm.normalized_shape[0]),
                        dtype=norm.weight.dtype)


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each wrapped in a residual connection and LayerNorm."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1,
                 norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, fused: bool = False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, fused=fused)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout, activation)
        layer_norm_eps = check_float("layer_norm_eps", layer_norm_eps, minimum=0.0,
                                     min_inclusive=False)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm_first = bool(norm_first)

    def _sa(self, x: Tensor, mask: Tensor | None, is_causal: bool = False) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask, is_causal=is_causal)[0])

    def forward(self, x: Tensor, mask: Tensor | None = None, *, is_causal: bool = False) -> Tensor:
        """x (B, T, d); mask boolean, broadcastable to (B, H, T, T), True = may attend;
        ``is_causal=True`` adds the causal mask (a decoder-only model such as GPT)."""
        _check_states("x", x, self.norm1)
        if self.norm_first:  # pre-LN
            x = x + self._sa(self.norm1(x), mask, is_causal)
            return x + self.dropout2(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self._sa(x, mask, is_causal))  # post-LN, as in the paper
        return self.norm2(x + self.dropout2(self.feed_forward(x)))


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention to the encoder's memory, feed-forward; each with
    a residual connection and LayerNorm (post-LN, or pre-LN with ``norm_first``)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1,
                 norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, fused: bool = False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, fused=fused)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, fused=fused)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout, activation)
        layer_norm_eps = check_float("layer_norm_eps", layer_norm_eps, minimum=0.0,
                                     min_inclusive=False)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.norm_first = bool(norm_first)

    def forward(self, y: Tensor, memory: Tensor, self_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, *, is_causal: bool = False) -> Tensor:
        """y (B, T_y, d) decoder input, memory (B, T_x, d); self_mask usually padding & causal
        (or padding only with ``is_causal=True``, which adds the causal mask to the
        self-attention)."""
        _check_states("y", y, self.norm1)
        _check_states("memory", memory, self.norm1)
        if memory.shape[0] != y.shape[0]:
            raise ValueError(f"memory must have y's batch size {y.shape[0]}, got shape "
                             f"{tuple(memory.shape)}")
        def sa(h: Tensor) -> Tensor:
            return self.dropout1(self.self_attn(h, h, h, self_mask, is_causal=is_causal)[0])

        def ca(h: Tensor) -> Tensor:
            return self.dropout2(self.cross_attn(h, memory, memory, memory_mask)[0])

        if self.norm_first:
            y = y + sa(self.norm1(y))
            y = y + ca(self.norm2(y))
            return y + self.dropout3(self.feed_forward(self.norm3(y)))
        y = self.norm1(y + sa(y))
        y = self.norm2(y + ca(y))
        return self.norm3(y + self.dropout3(self.feed_forward(y)))


_TORCH_NAMES = {"linear1.": "feed_forward.linear1.", "linear2.": "feed_forward.linear2.",
                "multihead_attn.": "cross_attn."}


def load_torch_layer(layer: EncoderLayer | DecoderLayer, torch_layer: nn.Module) -> None:
    """Copy the weights of a ``torch.nn.TransformerEncoderLayer``/``DecoderLayer`` into ours."""
    if not isinstance(layer, (EncoderLayer, DecoderLayer)):
        raise TypeError("layer must be an EncoderLayer or DecoderLayer, got "
                        f"{type(layer).__name__}")
    state = {}
    for name, value in torch_layer.state_dict().items():
        for old, new in _TORCH_NAMES.items():
            if name.startswith(old):
                name = new + name[len(old):]
        state[name] = value
    layer.load_state_dict(state)  # strict: any name or shape mismatch is an error


# --------------------------------------------------------------------------- the model

@dataclass
class TransformerConfig:
    """Sizes of an encoder-decoder Transformer; the defaults train on the toy task in seconds."""

    src_vocab: int
    tgt_vocab: int
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    dropout: float = 0.1
    max_len: int = 32
    norm_first: bool = False
    positions: str = "sinusoidal"  # or "learned"
    pad_id: int = 0

    def __post_init__(self) -> None:
        """Every size checked here, once: a bad value is refused when the config is made."""
        for name in ("src_vocab", "tgt_vocab", "d_model", "n_heads", "d_ff", "n_encoder_layers",
                     "n_decoder_layers", "max_len"):
            check_int(name, getattr(self, name), minimum=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads: got d_model={self.d_model}, "
                             f"n_heads={self.n_heads}")
        check_float("dropout", self.dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
        if not isinstance(self.norm_first, bool):
            raise TypeError(f"norm_first must be True or False, got {self.norm_first!r}")
        check_choice("positions", self.positions, ("sinusoidal", "learned"))
        check_int("pad_id", self.pad_id, minimum=0, maximum=min(self.src_vocab, self.tgt_vocab) - 1)


class Transformer(nn.Module):
    """Encoder-decoder Transformer: embeddings * sqrt(d) + positions, N encoder and N decoder
    layers, a linear map to target-vocabulary logits. Padding is found by ``pad_id``."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        if not isinstance(config, TransformerConfig):
            raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")
        c = replace(config)  # a checked copy: fields changed after construction are checked again
        self.config = c
        self.src_embed = nn.Embedding(c.src_vocab, c.d_model)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.d_model)
        make_positions = (SinusoidalPositionalEncoding if c.positions == "sinusoidal"
                          else LearnedPositionalEncoding)
        self.src_positions = make_positions(c.d_model, c.max_len, c.dropout)
        self.tgt_positions = make_positions(c.d_model, c.max_len, c.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout,
                                                  c.norm_first)
                                     for _ in range(c.n_encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout,
                                                  c.norm_first)
                                     for _ in range(c.n_decoder_layers))
        # pre-LN stacks end with one more LayerNorm (the residual stream is never normalised)
        self.encoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.generator = nn.Linear(c.d_model, c.tgt_vocab)
        # std d^-1/2, so that embedding * sqrt(d) has entries of size 1 like the positions (with
        # torch's default N(0, 1) the scaled words would drown the position signal)
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, std=c.d_model ** -0.5)

    def _check_ids(self, name: str, ids: Tensor, vocab: int) -> None:
        if not isinstance(ids, Tensor) or ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{name} must be an integer tensor of token ids, got "
                            f"{type(ids).__name__ if not isinstance(ids, Tensor) else ids.dtype}")
        if ids.dim() != 2 or ids.shape[1] == 0:
            raise ValueError(f"{name} must have shape (B, T) with T >= 1, got {tuple(ids.shape)}")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"{name} has length {ids.shape[1]} but the model's max_len is "
                             f"{self.config.max_len}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
            raise ValueError(f"{name} ids must lie in [0, {vocab}), got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")

    def source_mask(self, src: Tensor) -> Tensor:
        """(B, 1, 1, T_x): True at real source tokens (the padding mask)."""
        return (src != self.config.pad_id)[:, None, None, :]

    def target_mask(self, tgt: Tensor) -> Tensor:
        """(B, 1, T_y, T_y): padding mask & sequence (causal) mask, for the decoder's
        self-attention."""
        return combine_masks((tgt != self.config.pad_id)[:, None, None, :],
                             causal_mask(tgt.shape[1]))

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """Source ids (B, T_x) -> memory (B, T_x, d) and the source padding mask."""
        self._check_ids("src", src, self.config.src_vocab)
        mask = self.source_mask(src)
        x = self.src_positions(self.src_embed(src) * math.sqrt(self.config.d_model))
        for layer in self.encoder:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def decode(self, tgt: Tensor, memory: Tensor, src_mask: Tensor) -> Tensor:
        """Target-input ids (B, T_y) and memory -> logits (B, T_y, tgt_vocab)."""
        self._check_ids("tgt", tgt, self.config.tgt_vocab)
        mask = self.target_mask(tgt)
        y = self.tgt_positions(self.tgt_embed(tgt) * math.sqrt(self.config.d_model))
        for layer in self.decoder:
            y = layer(y, memory, mask, src_mask)
        return self.generator(self.decoder_norm(y))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Teacher forcing: logits (B, T_y, V) for target inputs ``tgt`` (starting with <bos>)."""
        memory, src_mask = self.encode(src)
        return self.decode(tgt, memory, src_mask)


@torch.no_grad()
def greedy_decode(model: Transformer, src: Tensor, bos_id: int, eos_id: int,
                  max_len: int | None = None) -> list[list[int]]:
    """Most likely next token at each step until <eos> (or ``max_len`` tokens); ids without
    <bos>/<eos>."""
    if not isinstance(model, Transformer):
        raise TypeError(f"model must be a Transformer, got {type(model).__name__}")
    check_int("bos_id", bos_id, minimum=0, maximum=model.config.tgt_vocab - 1)
    check_int("eos_id", eos_id, minimum=0, maximum=model.config.tgt_vocab - 1)
    max_len = (model.config.max_len - 1 if max_len is None
               else check_int("max_len", max_len, minimum=1))
    if max_len + 1 > model.config.max_len:
        raise ValueError("max_len + 1 (for <bos>) must be <= the model's "
                         f"max_len={model.config.max_len}, got {max_len}")
    was_training = model.training
    model.eval()
    memory, src_mask = model.encode(src)
    out = torch.full((src.shape[0], 1), bos_id, dtype=torch.long)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        next_id = model.decode(out, memory, src_mask)[:, -1].argmax(-1)  # (B,)
        next_id = next_id.masked_fill(done, model.config.pad_id)
        out = torch.cat([out, next_id[:, None]], dim=1)
        done |= next_id == eos_id
        if bool(done.all()):
            break
    model.train(was_training)
    results = []
    for row in out[:, 1:].tolist():
        results.append(row[: row.index(eos_id)] if eos_id in row else row)
    return results


# --------------------------------------------------------------------------- data and training

@dataclass
class TranslationData:
    """Padded id tensors for a translation task: ``src`` (N, T_x), ``tgt`` (N, T_y+2) with
    <bos>/<eos>."""

    src: Tensor
    tgt: Tensor
    src_vocab: object
    tgt_vocab: object


PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"


def encode_pairs(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab=None,
                 tgt_vocab=None) -> TranslationData:
    """Token pairs (e.g. ``data.spelled_numbers``) -> padded id tensors, building vocabularies
    (``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2) from these pairs unless they are given."""
    pairs = check_token_pairs(pairs)
    sources, targets = [s for s, _t in pairs], [t for _s, t in pairs]
    specials = (PAD, BOS, EOS)
    if src_vocab is None:
        src_vocab = build_vocabulary(sources, specials=specials, unk_token=None)
    if tgt_vocab is None:
        tgt_vocab = build_vocabulary(targets, specials=specials, unk_token=None)
    src = [src_vocab.encode(s) for s in sources]
    tgt = [[tgt_vocab.index(BOS)] + tgt_vocab.encode(t) + [tgt_vocab.index(EOS)] for t in targets]
    return TranslationData(_pad(src), _pad(tgt), src_vocab, tgt_vocab)


def _pad(rows: list[list[int]]) -> Tensor:
    out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def train_transformer(model: Transformer, data: TranslationData, *, epochs: int = 10,
                      batch_size: int = 64,
                      lr: float = 1e-3, warmup_steps: int = 100, label_smoothing: float = 0.0,
                      weight_decay: float = 0.0, schedule: str = "constant", seed: int = 0,
                      progress: bool = False) -> list[float]:
    """AdamW (Adam when ``weight_decay`` is 0) with a linear warm-up, then a constant rate
    (``schedule="constant"``) or a cosine decay to 0 over the run (``"cosine"``); cross-entropy
    over non-pad target tokens, with optional label smoothing. Returns the mean loss per epoch."""
    check_instance("model", model, Transformer, "a Transformer")
    check_instance("data", data, TranslationData, "a TranslationData (from encode_pairs)")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    label_smoothing = check_float("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0,
                                  max_inclusive=False)
    check_choice("schedule", schedule, ("constant", "cosine"))
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98),
                                  weight_decay=weight_decay)
    n = data.src.shape[0]
    total_steps = epochs * math.ceil(n / batch_size)
    factor = ((lambda step: warmup_cosine(step, warmup_steps, total_steps)) if schedule == "cosine"
              else (lambda step: min(1.0, (step + 1) / (warmup_steps + 1))))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    loss_fn = nn.CrossEntropyLoss(ignore_index=model.config.pad_id, label_smoothing=label_smoothing)
    losses = []
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc="epochs")
    model.train()
    for _ in epoch_iter:
        order = torch.randperm(n, generator=generator)
        total, tokens = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start: start + batch_size]
            src, tgt = _trim(data.src[idx]), _trim(data.tgt[idx])
            logits = model(src, tgt[:, :-1])  # predict token t+1 from tokens <= t
            target = tgt[:, 1:]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            count = int((target != model.config.pad_id).sum())
            total, tokens = total + loss.item() * count, tokens + count
        losses.append(total / tokens)
    model.eval()
    return losses


def _trim(ids: Tensor) -> Tensor:
    """Drop columns that are padding in every row (shorter batches train faster)."""
    used = int((ids != 0).any(0).nonzero().max()) + 1
    return ids[:, :used]


def exact_match_accuracy(model: Transformer, data: TranslationData, batch_size: int = 256) -> float:
    """Share of sources whose greedy translation equals the reference exactly."""
    check_instance("model", model, Transformer, "a Transformer")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    bos, eos = data.tgt_vocab.index(BOS), data.tgt_vocab.index(EOS)
    correct = 0
    for start in range(0, data.src.shape[0], batch_size):
        src = _trim(data.src[start: start + batch_size])
        references = data.tgt[start: start + batch_size].tolist()
        max_len = data.tgt.shape[1] - 1
        for hyp, ref in zip(greedy_decode(model, src, bos, eos, max_len), references):
            ref = ref[1: ref.index(eos)]
            correct += hyp == ref
    return correct / data.src.shape[0]


@torch.no_grad()
def attention_maps(model: Transformer, src: Tensor, tgt: Tensor) -> dict[str, list[Tensor]]:
    """Per-layer attention weights (B, H, T_q, T_k) of one teacher-forced pass:
    ``{"encoder": [...], "decoder_self": [...], "decoder_cross": [...]}``."""
    check_instance("model", model, Transformer, "a Transformer")
    was_training = model.training
    model.eval()
    try:
        with recorded_weights(model) as weights:
            model(src, tgt)
    finally:
        model.train(was_training)
    layers = {"encoder": [f"encoder.{i}.self_attn" for i in range(len(model.encoder))],
              "decoder_self": [f"decoder.{i}.self_attn" for i in range(len(model.decoder))],
              "decoder_cross": [f"decoder.{i}.cross_attn" for i in range(len(model.decoder))]}
    return {group: [weights[name][0] for name in names] for group, names in layers.items()}


# ------------------------------------------------------------------------- checkpoints (chapter 08)

@torch.no_grad()
def translation_loss(model: Transformer, data: TranslationData, batch_size: int = 256) -> float:
    """Mean teacher-forced cross-entropy (nats per target token, <eos> included, no label
    smoothing)."""
    check_instance("model", model, Transformer, "a Transformer")
    check_instance("data", data, TranslationData, "a TranslationData (from encode_pairs)")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    try:
        for start in range(0, data.src.shape[0], batch_size):
            src, tgt = (_trim(data.src[start: start + batch_size]),
                        _trim(data.tgt[start: start + batch_size]))
            logits = model(src, tgt[:, :-1])  # (B, T, V)
            target = tgt[:, 1:]
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 target.reshape(-1),
                                                 ignore_index=model.config.pad_id,
                                                 reduction="sum").item()
            tokens += int((target != model.config.pad_id).sum())
    finally:
        model.train(was_training)
    return total / tokens


def save_checkpoint(model: Transformer, path, **meta: object) -> int:
    """Save config, weights (float16) and ``meta``; return the file size in bytes."""
    check_instance("model", model, Transformer, "a Transformer")
    return _checkpoints.save(path, model, meta=meta)


def load_checkpoint(path) -> tuple[Transformer, dict]:
    """Load a model saved by ``save_checkpoint`` (weights back to float32, eval mode) and its
    meta."""
    saved, state = _checkpoints.load(path, "scripts/make_checkpoint_08.py")
    model = Transformer(TransformerConfig(**saved["config"]))
    model.load_state_dict(state)
    return model.eval(), dict(saved["meta"])


__all__ += ["translation_loss", "save_checkpoint", "load_checkpoint"]
