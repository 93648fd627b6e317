"""Argument checks shared by every module: one wording for every bad-input error.

Each helper raises a ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong
value) whose message names the argument, says what was expected and shows what came.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

__all__ = [
    "check_int", "check_float", "check_choice", "check_array", "check_ids", "check_instance",
    "check_same_length", "check_shape",
]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` if it is not an integer in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float, or raise naming ``name`` if it is not a number in
    range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {_show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (value == minimum and not min_inclusive)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (value == maximum and not max_inclusive)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise naming ``name`` and the choices."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got "
                         f"{_show(value)}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    dtype: Any = float,
    finite: bool = True,
    min_rows: int | None = None,
) -> np.ndarray:
    """Return ``value`` as a numpy array of ``dtype``; raise naming ``name`` on rank, NaN or size.

    Text is refused, not parsed ("1.5" is not a number here), and so are fractional values where
    ``dtype`` is an integer type (labels 0.7 and 0.2 are not silently labels 0 and 0)."""
    probe = value if isinstance(value, np.ndarray) else None
    if probe is None and not hasattr(value, "__array__"):  # lists and scalars, text included
        try:
            probe = np.asarray(value)
        except (TypeError, ValueError):
            probe = None
    if probe is not None and (probe.dtype.kind in "US" or (probe.dtype.kind == "O" and any(
            isinstance(v, (str, bytes)) for v in probe.ravel()))):
        raise TypeError(f"{name} must be array-like of numbers, got text {_show(value)}")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like of numbers, got {type(value).__name__}: "
                        f"{error}") from None
    if array.dtype.kind in "iu" and probe is not None and probe.dtype.kind == "f":
        fractional = probe[np.isfinite(probe) & (probe != np.round(probe))]
        if fractional.size:
            raise TypeError(f"{name} must hold whole numbers (labels or ids), got "
                            f"{fractional.ravel()[0]}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if finite and array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or inf")
    if min_rows is not None and (array.ndim == 0 or array.shape[0] < min_rows):
        got = 0 if array.ndim == 0 else array.shape[0]
        raise ValueError(f"{name} must have at least {min_rows} row(s), got {got}")
    return array


def check_ids(name: str, value: Any, size: int | None, *, ndim: int | None = None) -> np.ndarray:
    """Return token or row ids as an int64 array, or raise naming ``name``: they must be integers
    (not floats, bools or strings: ``1.7`` is not silently id 1) in ``[0, size)`` (a negative id
    would wrap around to the end of a table and give a plausible wrong number); ``size=None``
    checks only that they are >= 0."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.size == 0 and array.dtype.kind == "f":  # [] is an empty list of ids, not of floats
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer ids, got {array.dtype} {_show(value)}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if size is None and array.size and int(array.min()) < 0:
        raise ValueError(f"{name} must be ids >= 0, got {int(array.min())}")
    if size is not None and array.size and (int(array.min()) < 0 or int(array.max()) >= size):
        raise ValueError(f"{name} must lie in [0, {size}), got values in [{int(array.min())}, "
                         f"{int(array.max())}]")
    return array.astype(np.int64)


def check_instance(name: str, value: Any, kind: type | tuple[type, ...],
                   what: str | None = None) -> Any:
    """Return ``value`` if it is an instance of ``kind``; else a TypeError naming ``name`` and the
    type expected (``what``, e.g. "a model from fit_logistic", or the class names)."""
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        what = what or " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_show(value)}")
    return value


def check_same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise if ``a`` and ``b`` do not have the same length along their first axis."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {len(a)} and "
                         f"{len(b)}")


def check_shape(name: str, shape: tuple[int, ...], expected: tuple[int | None, ...]) -> None:
    """Raise if ``shape`` does not match ``expected`` (None matches any size), giving both."""
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(shape)}")
