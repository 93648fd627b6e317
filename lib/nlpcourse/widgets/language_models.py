"""What a language model predicts: an NNLM's next word as it trains (chapter 02), BERT's words
for a [MASK] and how its layers mix the context (chapter 09b), a GPT's next token under
temperature and top-k sampling (chapter 09c). Torch is imported when a widget is built."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets

from nlpcourse import plots, text
from nlpcourse._checks import check_int
from nlpcourse.widgets._core import Explorer, FigureView, padded, set_word_bars, word_bars

__all__ = ["NextWords", "next_word_explorer", "NextTokens", "next_token_explorer", "FillMask",
           "fill_mask_explorer"]


# --------------------------------------------------------------------------- chapter 02: NNLM


@dataclass(frozen=True)
class NextWords:
    """An NNLM checkpoint's top next words after a prompt.

    prompt: the prompt text.
    epoch: the checkpoint (0 = before training).
    predictions: the (word, probability) pairs drawn, most likely first.
    valid_loss: that checkpoint's validation loss (nats).
    """

    prompt: str
    epoch: int
    predictions: list[tuple[str, float]]
    valid_loss: float


def next_word_explorer(history, vocab: text.Vocabulary, prompts: Sequence[str], *, k: int = 8,
                       exclude: Sequence[str] = ("<unk>", "<s>"),
                       epoch: int | None = None) -> Explorer:
    """Pick a prompt and a training checkpoint (epoch slider): the NNLM's top-k next words as
    bars, beside the validation loss curve with the chosen epoch marked (``.result``:
    NextWords). ``history`` is an ``nlpcourse.nnlm.TrainingHistory`` with its checkpoints."""
    from nlpcourse import nnlm

    if not history.states:
        raise ValueError("history kept no checkpoints; train with keep_states=True")
    if isinstance(prompts, str) or not prompts:
        raise ValueError("prompts must be a non-empty list of prompt strings")
    models: dict[int, object] = {}
    last = len(history.states) - 1

    def compute(prompt: str, epoch: int) -> NextWords:
        if epoch not in models:
            models[epoch] = history.model_at(epoch)
        words = nnlm.top_next_words(models[epoch], vocab, text.tokenize(prompt), k=k,
                                    exclude=exclude)
        return NextWords(prompt, epoch, words, history.valid_loss[epoch])

    controls = {
        "prompt": widgets.Dropdown(options=list(prompts), value=prompts[0], description="prompt"),
        "epoch": widgets.IntSlider(value=last if epoch is None else epoch, min=0, max=last,
                                   description="epoch"),
    }
    figure = plots.new_figure(9.0, 3.6, left=0.13, right=0.98, bottom=0.15, top=0.9, wspace=0.35)
    return Explorer(controls, compute, lambda view, r: _draw_next_words(view, r, history, k),
                    figure, rows=[list(controls.values())])


def _draw_next_words(view: FigureView, result: NextWords, history, k: int) -> None:
    """Bars of the words (left) and the loss curve with the epoch circled (right)."""
    from matplotlib.ticker import MaxNLocator

    if not view.artists:
        # few texts and fixed axes: redraw time is mostly glyph rendering, so every label counts
        bars_ax, loss_ax = view.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
        view.artists["bars"] = word_bars(bars_ax, k, plots.PALETTE[0])
        bars_ax.set_ylim(k - 0.5, -0.5)
        bars_ax.set_xlim(0, 1)  # a fixed scale, so growing confidence shows as longer bars
        bars_ax.set_xticks([0, 0.5, 1])
        bars_ax.set_xlabel("P(next word | prompt)")
        last = len(history.states) - 1
        loss_ax.plot(range(last + 1), history.valid_loss, marker="o", color=plots.PALETTE[1])
        loss_ax.set_xticks(range(0, last + 1, max(1, last // 5)))
        loss_ax.yaxis.set_major_locator(MaxNLocator(4))
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("validation loss (nats)")
        view.artists["marker"] = loss_ax.plot([0], [0], "o", markersize=12, fillstyle="none",
                                              color="black")[0]
    bars_ax, loss_ax = view.figure.axes
    set_word_bars(bars_ax, view.artists["bars"], result.predictions)
    bars_ax.set_title(f'"{result.prompt} ..." after epoch {result.epoch}', fontsize=9)
    view.artists["marker"].set_data([result.epoch], [result.valid_loss])
    loss_ax.set_title(f"validation loss {result.valid_loss:.3f} nats", fontsize=9)


# --------------------------------------------------------------------------- chapter 09c: GPT


@dataclass(frozen=True)
class NextTokens:
    """A GPT's next-token distribution after a prompt and one sampled continuation.

    pairs: the (token, probability) pairs drawn, most likely first (empty for an empty prompt).
    continuation: the sampled continuation's text (the same seed for every draw).
    message: why nothing is drawn or what was cut ("" when all is well).
    heading: the figure's title (the message, or the temperature and top-k).
    """

    pairs: list[tuple[str, float]]
    continuation: str
    message: str
    heading: str


def next_token_explorer(model, tokenizer, prompt: str = "The", *, temperature: float = 1.0,
                        top_k: int = 0, bars: int = 10, continuation: int = 8,
                        seed: int = 0) -> Explorer:
    """Type a prompt, move the temperature and top-k sliders: the GPT's next-token distribution
    as bars and one sampled continuation (``.result``: NextTokens). ``model`` is an
    ``nlpcourse.gpt.GPT``, ``tokenizer`` a ``BytePairTokenizer``; top-k 0 means no cut. A prompt
    longer than the context keeps its last ``context`` tokens."""
    bars = check_int("bars", bars, minimum=1, maximum=30)
    length = check_int("continuation", continuation, minimum=0, maximum=200)
    seed = check_int("seed", seed, minimum=0)

    def compute(prompt: str, temperature: float, top_k: int) -> NextTokens:
        return _next_tokens(model, tokenizer, prompt, temperature, top_k, bars, length, seed)

    controls = {
        "prompt": widgets.Text(value=prompt, description="prompt", continuous_update=False,
                               layout=widgets.Layout(width="60%")),
        "temperature": widgets.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.1,
                                           description="temperature", readout_format=".1f"),
        "top_k": widgets.IntSlider(value=top_k, min=0, max=50, description="top-k (0 = all)",
                                   style={"description_width": "initial"}),
    }
    figure = plots.new_figure(7.2, 4.2, left=0.2, right=0.97, bottom=0.3, top=0.92)
    c = controls
    return Explorer(controls, compute, lambda view, r: _draw_next_tokens(view, r, bars), figure,
                    rows=[c["prompt"], [c["temperature"], c["top_k"]]],
                    changing=lambda view, _r: ([*view.artists["bars"], *view.artists["labels"],
                                                view.artists["title"], view.artists["text"]],
                                               None))


def _next_tokens(model, tokenizer, prompt: str, temperature: float, top_k: int, bars: int,
                 length: int, seed: int) -> NextTokens:
    """The top ``bars`` next tokens and a ``length``-token continuation sampled with ``seed``."""
    import torch

    from nlpcourse import gpt

    ids, k = tokenizer.encode(prompt), top_k or None
    heading = f"T = {temperature:.1f}, top-k = {top_k if top_k else 'all'}"
    if not ids:
        message = "the prompt encodes to zero tokens: type something"
        return NextTokens([], "", message, message)
    context = model.config.context
    message = f"prompt cropped to its last {context} tokens" if len(ids) > context else ""
    probs = gpt.next_token_distribution(model, ids, temperature, k, truncate=True)
    top = torch.topk(probs, bars)
    pairs = [(tokenizer.token_str(int(i)), float(p)) for p, i in zip(top.values, top.indices)
             if p > 0]
    out = gpt.generate(model, ids, length, temperature=temperature, top_k=k, truncate=True,
                       generator=torch.Generator().manual_seed(seed))
    sampled = tokenizer.decode(out[-length:]) if length else ""
    return NextTokens(pairs, sampled, message, message or heading)


def _draw_next_tokens(view: FigureView, result: NextTokens, bars: int) -> None:
    """Bars with token texts beside them and the sample below; everything updated in place."""
    art = view.artists
    if not art:
        ax = view.figure.add_subplot()
        art["bars"] = plots.next_token_bars(ax, [], slots=bars)
        size = ax.yaxis.get_majorticklabels()[0].get_fontsize()
        ax.tick_params(axis="y", labelleft=False)  # own texts: tick labels are re-laid out
        art["labels"] = [ax.text(-0.015, i, "", transform=ax.get_yaxis_transform(), ha="right",
                                 va="center", fontsize=size) for i in range(bars)]
        art["title"] = view.figure.text(0.585, 0.94, "", ha="center", va="bottom", fontsize=9)
        art["text"] = view.figure.text(0.02, 0.02, "", fontsize=9, va="bottom",
                                       family="monospace")
    for bar, label, (token, p) in zip(art["bars"], art["labels"], padded(result.pairs, bars)):
        bar.set_width(p)
        label.set_text(plots.token_label(token) if token else "")
    art["title"].set_text(result.heading)
    shown = repr(result.continuation)[1:-1]  # newlines as \n, one paragraph
    art["text"].set_text("sampled: " + "\n".join(textwrap.wrap(shown, 80)[:3]))


# --------------------------------------------------------------------------- chapter 09b: BERT


@dataclass(frozen=True)
class FillMask:
    """BERT's guesses for a [MASK] and how alike its vectors are at one layer.

    predictions: the top (word, probability) pairs for the [MASK] position.
    similarities: (token, cosine of its vector to the [MASK] position's), other tokens in order.
    layer: whose vectors the cosines use (0 = the embeddings).
    """

    predictions: list[tuple[str, float]]
    similarities: list[tuple[str, float]]
    layer: int


def fill_mask_explorer(model, vocab: text.Vocabulary, sentence: str, *, k: int = 8,
                       layer: int | None = None, slots: int = 14) -> Explorer:
    """"Fill the mask": a sentence with [MASK], BERT's top-k words for it (left), and a layer
    switch choosing whose vectors feed the similarity bars (right). ``.result`` is a FillMask.
    A sentence without [MASK] or an unknown layer raises ``ValueError`` here; typed into the
    widget, it keeps the last good picture and says what was wrong in ``.message``."""
    from nlpcourse import bert

    n_layers = model.config.n_layers
    layer = n_layers if layer is None else layer
    bert.layer_states(model, vocab, sentence, layer=layer)  # raises on an unknown layer

    def compute(sentence: str, layer: int) -> FillMask:
        predictions = bert.fill_mask(model, vocab, sentence, k=k)  # raises without [MASK]
        tokens, vectors = bert.layer_states(model, vocab, sentence, layer=layer)
        at = tokens.index(bert.MASK)
        unit = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        cosines = (unit @ unit[at]).tolist()
        others = [(t, c) for i, (t, c) in enumerate(zip(tokens, cosines)) if i != at]
        return FillMask(predictions, others[:slots], layer)

    layers = [("embeddings", 0)] + [(f"layer {i}", i) for i in range(1, n_layers + 1)]
    controls = {
        "sentence": widgets.Text(value=sentence, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="520px")),
        "layer": widgets.ToggleButtons(options=layers, value=layer, description="vectors of"),
    }
    figure = plots.new_figure(9.0, 3.8, left=0.12, right=0.98, bottom=0.14, top=0.9, wspace=0.45)
    return Explorer(controls, compute, lambda view, r: _draw_fill_mask(view, r, k, slots), figure,
                    rows=list(controls.values()), report_errors=True)


def _draw_fill_mask(view: FigureView, result: FillMask, k: int, slots: int) -> None:
    """Word bars (left) and cosine bars (right), made on the first call, resized afterwards."""
    if not view.artists:
        word_ax, cos_ax = view.figure.subplots(1, 2)
        view.artists["bars"] = word_bars(word_ax, k, plots.PALETTE[0])
        word_ax.set_ylim(k - 0.5, -0.5)
        word_ax.set_xlabel("P(word at [MASK] | sentence)")
        view.artists["cos_bars"] = word_bars(cos_ax, slots, plots.PALETTE[1])
        cos_ax.set_ylim(slots - 0.5, -0.5)
        cos_ax.set_xlim(-1, 1)
        cos_ax.axvline(0.0, color="grey", linewidth=0.8)
        cos_ax.set_xlabel("cosine to the [MASK] vector")
    word_ax, cos_ax = view.figure.axes[0], view.figure.axes[1]
    set_word_bars(word_ax, view.artists["bars"], result.predictions)
    top = max((p for _w, p in result.predictions), default=0.0)
    word_ax.set_xlim(0, max(0.1, 1.15 * top))  # small probabilities stay visible
    word_ax.set_title(f"top {k} words for [MASK]", fontsize=9)
    set_word_bars(cos_ax, view.artists["cos_bars"], result.similarities)
    name = "embeddings (layer 0)" if result.layer == 0 else f"encoder layer {result.layer}"
    cos_ax.set_title(f"vectors of the {name}", fontsize=9)
