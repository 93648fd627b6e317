"""Saving and loading the course's trained models: one file format for every chapter.

A checkpoint is ``torch.save`` of a dict: the model's ``config`` (its dataclass as a dict), its
weights under ``state`` (floating ones as float16: half the size, and the scores in
``data/README.md`` are those of the stored weights) and whatever else the chapter keeps
(vocabulary, settings, training history). Loading uses ``weights_only=True``: only tensors and
plain Python values, never code.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

__all__ = ["save", "load"]


def save(path: str | Path, model: nn.Module, *, skip: tuple[str, ...] = (), half: bool = True,
         **items: object) -> int:
    """Save ``model.config``, its weights (float16 if ``half``; the names in ``skip``, such as a
    tied matrix, left out) and ``items``; return the file's size in bytes."""
    state = {name: value.half() if half and value.is_floating_point() else value
             for name, value in model.state_dict().items() if name not in skip}
    torch.save({"config": asdict(model.config), "state": state, **items}, Path(path))
    return Path(path).stat().st_size


def load(path: str | Path, script: str) -> tuple[dict, dict]:
    """The saved dict and its weights as float32; a missing file names the ``script`` that makes
    it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; make it with `python {script}`")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = {name: value.float() if value.is_floating_point() else value
             for name, value in saved["state"].items()}
    return saved, state
