"""Activation functions and their derivatives, and how the softmax temperature sharpens or
flattens a distribution (chapter 04)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import numpy as np

from nlpcourse import activations as act
from nlpcourse import plots
from nlpcourse.widgets._core import Explorer, FigureView

__all__ = ["ActivationCurves", "activation_curves", "activation_explorer", "SOFTMAX_MAX_LOGITS",
           "parse_logits", "SoftmaxResult", "softmax_at", "softmax_temperature"]

#: At most this many logits in the softmax temperature widget.
SOFTMAX_MAX_LOGITS = 10


@dataclass(frozen=True)
class ActivationCurves:
    """One activation function sampled on a symmetric range.

    name: the function's name (a key of ``nlpcourse.activations.ACTIVATIONS``).
    x: the 401 inputs from -x_range to x_range.
    f: the function's values at x.
    df: its derivative's values at x.
    """

    name: str
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray


def activation_curves(function: str, x_range: float) -> ActivationCurves:
    """The function ``function`` and its derivative on 401 points of [-x_range, x_range]."""
    f, df = act.ACTIVATIONS[function]
    x = np.linspace(-x_range, x_range, 401)
    return ActivationCurves(function, x, f(x), df(x))


def _draw_curves(view: FigureView, result: ActivationCurves) -> None:
    """Two lines (f and f'), made on the first call and moved afterwards."""
    if not view.artists:
        ax = view.figure.add_subplot()
        view.artists["lines"] = (ax.plot([0, 1], [0, 1], label="f(x)")[0],
                                 ax.plot([0, 1], [0, 1], "--", label="f'(x) (derivative)")[0])
        ax.axhline(0.0, color="grey", linewidth=0.6)
        ax.axvline(0.0, color="grey", linewidth=0.6)
        ax.set_xlabel("input x (pre-activation)")
        ax.set_ylabel("output")
        ax.legend(loc="upper left")
    ax = view.figure.axes[0]
    for line, values in zip(view.artists["lines"], (result.f, result.df)):
        line.set_data(result.x, values)
    both = np.concatenate([result.f, result.df])
    pad = 0.08 * max(float(both.max() - both.min()), 1e-3)
    ax.set_xlim(result.x[0], result.x[-1])
    ax.set_ylim(float(both.min()) - pad, float(both.max()) + pad)
    ax.set_title(f"{result.name} and its derivative")


def activation_explorer(name: str = "sigmoid", x_range: float = 6.0) -> Explorer:
    """Pick an activation function, see it and its derivative over [-x_range, x_range]
    (``.result``: ActivationCurves)."""
    controls = {
        "function": widgets.Dropdown(options=list(act.ACTIVATIONS), value=name,
                                     description="function"),
        "x_range": widgets.FloatSlider(value=x_range, min=1.0, max=20.0, step=0.5,
                                       description="x range"),
    }
    return Explorer(controls, lambda function, x_range: activation_curves(function, x_range),
                    _draw_curves, plots.new_figure(6.4, 3.6), rows=[list(controls.values())])


# --------------------------------------------------------------------------- softmax temperature


def parse_logits(text_value: str) -> np.ndarray:
    """Comma- (or semicolon-) separated numbers as an array; ValueError unless 2 to 10 finite."""
    parts = [p for p in text_value.replace(";", ",").split(",") if p.strip()]
    try:
        values = np.array([float(p) for p in parts], dtype=float)
    except ValueError:
        message = f"logits must be numbers separated by commas, got {text_value!r}"
        raise ValueError(message) from None
    if not 2 <= len(values) <= SOFTMAX_MAX_LOGITS or not np.all(np.isfinite(values)):
        raise ValueError(f"logits must be 2 to {SOFTMAX_MAX_LOGITS} finite numbers, "
                         f"got {text_value!r}")
    return values


@dataclass(frozen=True)
class SoftmaxResult:
    """softmax(logits / T) and its entropy.

    logits: the logits z read from the text box.
    temperature: T.
    probabilities: softmax(z / T), one per logit.
    entropy: the entropy of ``probabilities`` in nats.
    """

    logits: np.ndarray
    temperature: float
    probabilities: np.ndarray
    entropy: float


def softmax_at(logits: str, temperature: float) -> SoftmaxResult:
    """The softmax of the typed logits at ``temperature``; ValueError if they do not parse."""
    values = parse_logits(logits)
    probabilities = act.softmax(values, temperature)
    return SoftmaxResult(values, temperature, probabilities, float(act.entropy(probabilities)))


def _draw_softmax(view: FigureView, result: SoftmaxResult) -> None:
    """Bars with their probabilities written on top, one slot per possible logit."""
    slots, n = SOFTMAX_MAX_LOGITS, len(result.logits)
    if not view.artists:
        ax = view.figure.add_subplot()
        view.artists["bars"] = ax.bar(range(slots), np.zeros(slots), color=plots.PALETTE[0])
        view.artists["labels"] = [ax.text(i, 0.0, "", ha="center", va="bottom", fontsize=8)
                                  for i in range(slots)]
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("probability")
    ax = view.figure.axes[0]
    heights = list(result.probabilities) + [0.0] * (slots - n)
    for i, (bar, label, height) in enumerate(zip(view.artists["bars"], view.artists["labels"],
                                                 heights)):
        bar.set_height(height)
        label.set_position((i, height + 0.01))
        label.set_text(f"{height:.2f}" if i < n else "")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xticks(range(n), labels=[f"z={v:g}" for v in result.logits])
    ax.set_xlabel("class (its logit z)")
    ax.set_title(f"T = {result.temperature:.2f}: entropy {result.entropy:.3f} nats "
                 f"(uniform: {np.log(n):.3f})")


def softmax_temperature(logits: Sequence[float] = (3.0, 1.5, 1.0, 0.2, -1.0),
                        temperature: float = 1.0) -> Explorer:
    """Editable logits and a log-scale temperature slider; bars show softmax(logits / T) and its
    entropy (``.result``: SoftmaxResult). Unreadable logits keep the last picture and are
    reported in ``.message``."""
    controls = {
        "logits": widgets.Text(value=", ".join(f"{v:g}" for v in logits), description="logits",
                               continuous_update=False),
        "temperature": widgets.FloatLogSlider(value=temperature, base=10, min=-2, max=2,
                                              step=0.05, description="temperature",
                                              readout_format=".2f",
                                              style={"description_width": "initial"}),
    }
    return Explorer(controls, softmax_at, _draw_softmax, plots.new_figure(6.4, 3.6),
                    rows=[list(controls.values())], report_errors=True)
