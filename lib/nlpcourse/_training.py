"""The plain mini-batch loop that several chapters' ``train`` functions share."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from nlpcourse._checks import check_float, check_int

__all__ = [
    "checked_adam", "shuffled_epoch",
]


def checked_adam(model: nn.Module, *, epochs: int, batch_size: int, lr: float, weight_decay: float,
                 seed: int) -> tuple[int, int, torch.Generator, torch.optim.Adam]:
    """Check the usual training arguments; return (epochs, batch_size, shuffling generator,
    Adam)."""
    epochs = check_int("epochs", epochs, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    return epochs, batch_size, generator, torch.optim.Adam(model.parameters(), lr=lr,
                                                           weight_decay=weight_decay)


def shuffled_epoch(model: nn.Module, inputs: Tensor, targets: Tensor,
                   loss_fn: Callable[[Tensor, Tensor], Tensor],
                   optimizer: torch.optim.Optimizer, batch_size: int,
                   generator: torch.Generator) -> float:
    """One pass over shuffled mini-batches, one optimizer step each; the mean training loss."""
    order = torch.randperm(len(inputs), generator=generator)
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        loss = loss_fn(model(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / len(order)
