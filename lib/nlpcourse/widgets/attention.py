"""Where attention looks: a seq2seq model's alignment of output tokens to source words
(chapter 07), and how padding and causal masks shape a Transformer's attention weights
(chapter 08)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import numpy as np

from nlpcourse import plots
from nlpcourse._checks import check_int
from nlpcourse.widgets._core import Explorer, FigureView

__all__ = ["Alignment", "alignment_explorer", "MaskedAttention", "masked_attention",
           "mask_explorer"]


# --------------------------------------------------------------------------- chapter 07


@dataclass(frozen=True)
class Alignment:
    """One translated example's attention.

    source: the source words.
    output: the output tokens.
    weights: the attention weights a_ij, (len(output), len(source)); each row sums to 1.
    """

    source: list[str]
    output: list[str]
    weights: np.ndarray


def alignment_explorer(examples: Sequence[tuple[Sequence[str], Sequence[str], np.ndarray]],
                       index: int = 0) -> Explorer:
    """Pick a translated example, see its attention weights a_ij as a heat-map (``.result``:
    Alignment). ``examples`` holds (source words, output tokens, weights (outputs x sources)),
    e.g. from ``nlpcourse.seq2seq.alignment``."""
    shown = [Alignment(list(s), list(o), np.asarray(w, dtype=float)) for s, o, w in examples]
    if not shown:
        raise ValueError("examples is empty: give at least one (source, output, weights) triple")
    for i, e in enumerate(shown):
        if e.weights.shape != (len(e.output), len(e.source)):
            raise ValueError(f"examples[{i}] weights must have shape "
                             f"({len(e.output)}, {len(e.source)}), got {e.weights.shape}")
    labels = [(f"{' '.join(e.source)} -> "
               f"{''.join(t for t in e.output if not t.startswith('['))}", i)
              for i, e in enumerate(shown)]
    example = widgets.Dropdown(options=labels, value=index, description="example",
                               layout=widgets.Layout(width="560px"))
    figure = plots.new_figure(6.4, 4.2, left=0.14, right=0.98, bottom=0.26, top=0.9)
    return Explorer({"example": example}, lambda example: shown[example], _draw_alignment,
                    figure, rows=[example])


def _draw_alignment(view: FigureView, result: Alignment) -> None:
    """One image, made on the first call and given new data and ticks afterwards."""
    if not view.artists:
        ax = view.figure.add_subplot()
        view.artists["image"] = ax.imshow(result.weights, cmap="viridis", vmin=0.0, vmax=1.0,
                                          aspect="auto", interpolation="nearest")
        view.figure.colorbar(view.artists["image"], ax=ax, shrink=0.8,
                             label="attention weight a_ij")
        ax.grid(False)
        ax.set_xlabel("source word j")
        ax.set_ylabel("output token i")
    ax, image = view.figure.axes[0], view.artists["image"]
    n_out, n_src = result.weights.shape
    image.set_data(result.weights)
    image.set_extent((-0.5, n_src - 0.5, n_out - 0.5, -0.5))
    ax.set_xlim(-0.5, n_src - 0.5)
    ax.set_ylim(n_out - 0.5, -0.5)
    ax.set_xticks(range(n_src), labels=result.source, rotation=45, ha="right")
    ax.set_yticks(range(n_out), labels=result.output)
    ax.set_title(f"{' '.join(result.source)}: attention of each output token")


# --------------------------------------------------------------------------- chapter 08


@dataclass(frozen=True)
class MaskedAttention:
    """Masks and attention weights of a batch of sequences (fixed random queries and keys).

    lengths: each sequence's length (the rest is padding).
    mask: (B, T, T) booleans, True = may attend (padding and causal masks combined).
    weights: (B, T, T) attention weights; masked entries are exactly 0.
    heading: the figure's title (which masks are on).
    """

    lengths: list[int]
    mask: np.ndarray
    weights: np.ndarray
    heading: str


def mask_explorer(lengths: Sequence[int] = (6, 4, 2), max_len: int = 6, *, padding: bool = True,
                  causal: bool = True, d_k: int = 8, seed: int = 0) -> Explorer:
    """Set each sequence's length and toggle the padding and causal masks; see the combined
    mask and the resulting attention weights per sequence (``.result``: MaskedAttention;
    ``.controls["lengths"]`` is one slider per sequence)."""
    import torch

    max_len = check_int("max_len", max_len, minimum=1, maximum=16)
    lengths = [check_int(f"lengths[{i}]", n, minimum=1, maximum=max_len)
               for i, n in enumerate(lengths)]
    if not 1 <= len(lengths) <= 4:
        raise ValueError(f"lengths must hold 1 to 4 sequence lengths, got {len(lengths)}")
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    d_k = check_int("d_k", d_k, minimum=1)
    q, k = (torch.randn(len(lengths), max_len, d_k, generator=generator) for _ in range(2))

    def compute(lengths: tuple[int, ...], padding: bool, causal: bool) -> MaskedAttention:
        return masked_attention(q, k, lengths, padding, causal)

    controls = {
        "lengths": [widgets.IntSlider(value=n, min=1, max=max_len, description=f"length {i + 1}")
                    for i, n in enumerate(lengths)],
        "padding": widgets.Checkbox(value=padding, description="padding mask"),
        "causal": widgets.Checkbox(value=causal, description="causal (sequence) mask"),
    }
    figure = plots.new_figure(2.4 * len(lengths) + 1.2, 4.6, left=0.1, right=0.86, bottom=0.1,
                              top=0.86, hspace=0.45, wspace=0.35)
    return Explorer(controls, compute, _draw_masks, figure,
                    rows=[controls["lengths"], [controls["padding"], controls["causal"]]])


def masked_attention(q, k, lengths: Sequence[int], padding: bool, causal: bool
                     ) -> MaskedAttention:
    """Attention of queries ``q`` over keys (= values) ``k``, (B, T, d), under the masks."""
    import torch

    from nlpcourse import attention

    batch, max_len = q.shape[0], q.shape[1]
    mask = torch.ones(batch, 1, max_len, max_len, dtype=torch.bool)
    mask = attention.combine_masks(
        mask, attention.padding_mask(list(lengths), max_len) if padding else None,
        attention.causal_mask(max_len) if causal else None)
    _out, weights = attention.scaled_dot_product_attention(q[:, None], k[:, None], k[:, None], mask)
    on = [name for name, flag in (("padding", padding), ("causal", causal)) if flag]
    return MaskedAttention(list(lengths), mask[:, 0].numpy(), weights[:, 0].numpy(),
                           f"masks: {' + '.join(on) if on else 'none'}")


def _draw_masks(view: FigureView, r: MaskedAttention) -> None:
    """The grid of mask and weight images, made on the first call and updated afterwards."""
    if not view.artists:
        view.artists["grid"] = plots.attention_mask_grid(view.figure, r.mask, r.weights,
                                                         r.lengths, suptitle=r.heading)
    plots.update_attention_mask_grid(view.artists["grid"], r.mask, r.weights, r.lengths,
                                     suptitle=r.heading)
