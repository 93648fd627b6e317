"""Tensor argument checks shared by the torch modules: one wording for every bad tensor.

Each raises a ``TypeError`` (not a tensor, wrong dtype) or ``ValueError`` (wrong shape, ids out
of range) that names the caller's argument, so a wrong input never reaches a torch kernel and
comes back as "mat1 and mat2 must have the same dtype" or "index out of range in self".
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_tensor", "check_id_tensor"]


def _shape_text(expected: tuple) -> str:
    return "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"


def _matches(size: int, expected: int | str | None) -> bool:
    return expected is None or isinstance(expected, str) or size == expected


def check_tensor(name: str, value: object, *, shape: tuple | None = None,
                 min_ndim: int | None = None,
                 floating: bool = False, dtype: torch.dtype | None = None) -> Tensor:
    """Return ``value`` if it is a tensor of the expected kind; raise naming ``name`` otherwise.

    ``shape`` is a tuple of sizes, a name or ``None`` matching any size (``("batch", 64)``: any
    batch, 64 features); ``floating`` asks for a float dtype; ``dtype`` for exactly that dtype (a
    model's weights' dtype: torch would refuse a mix deep inside a matrix product)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if floating and not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor (e.g. torch.float32), got dtype "
                        f"{value.dtype}; convert it with .float()")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, the dtype of the model's weights, got "
                        f"{value.dtype}; convert it with .to({dtype})")
    if min_ndim is not None and value.dim() < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape "
                         f"{tuple(value.shape)}")
    if shape is not None:
        ok = value.dim() == len(shape) and all(_matches(s, e) for s, e in zip(value.shape, shape))
        if not ok:
            raise ValueError(f"{name} must have shape {_shape_text(shape)}, got "
                             f"{tuple(value.shape)}")
    return value


def check_id_tensor(name: str, value: object, size: int, *, shape: tuple | None = None,
                    what: str = "token ids") -> Tensor:
    """Return ``value`` if it is an integer tensor of ids in ``[0, size)``; raise naming ``name``.

    Embedding tables index with these: a float id, a negative id or one past the table would
    otherwise fail inside torch's embedding kernel ("index out of range in self")."""
    if not isinstance(value, Tensor) or value.dtype not in (torch.int64, torch.int32):
        got = value.dtype if isinstance(value, Tensor) else type(value).__name__
        raise TypeError(f"{name} must be an integer tensor of {what} (torch.long), got {got}")
    if shape is not None:
        check_tensor(name, value, shape=shape)
    if value.numel() and (int(value.min()) < 0 or int(value.max()) >= size):
        raise ValueError(f"{name} must hold {what} in [0, {size}), got values in "
                         f"[{int(value.min())}, {int(value.max())}]")
    return value
