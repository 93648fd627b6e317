"""The property-based bad-input harness shared by tests/test_bad_input_<area>.py.

A case names a public function, a set of valid arguments, and what each argument must be (a
*kind*: an integer of at least 1, a finite rate, an array of numbers, ids below a size, a float
tensor, a list of token lists, ...). Each kind knows its bad values: wrong types, numeric text,
empty, negative, NaN/inf, out-of-range ids, plus hypothesis draws from the same families. The
test swaps one argument for one bad value and asserts the policy of COURSE.md: a TypeError or
ValueError whose message names the argument (never a crash, a hang, a torch/numpy error from
deep inside, or a silent result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WRONG_TYPES = [None, {"a": 1}, object()]


@dataclass(frozen=True)
class Int:
    """An integer in [minimum, maximum]."""

    minimum: int | None = 1
    maximum: int | None = None
    optional: bool = False  # None is allowed (a default chosen by the function)

    def bad(self) -> list:
        values = ["3", 2.5, True, *WRONG_TYPES[self.optional:]]
        if self.minimum is not None:
            values += [self.minimum - 1, self.minimum - 10**6]
        if self.maximum is not None:
            values += [self.maximum + 1]
        return values

    def strategy(self):
        families = [st.text(min_size=1, max_size=3), st.floats(allow_nan=True).filter(lambda x: x != int(x)
                                                                                         if math.isfinite(x) else True)]
        if self.minimum is not None:
            families.append(st.integers(max_value=self.minimum - 1))
        if self.maximum is not None:
            families.append(st.integers(min_value=self.maximum + 1))
        return st.one_of(*families)


@dataclass(frozen=True)
class Float:
    """A finite real number in range (``strict``: strictly above ``minimum``)."""

    minimum: float | None = None
    maximum: float | None = None
    strict: bool = False
    optional: bool = False

    def bad(self) -> list:
        values = ["0.5", float("nan"), float("inf"), -float("inf"), *WRONG_TYPES[self.optional:]]
        if self.minimum is not None:
            values += [self.minimum - 1.0] + ([self.minimum] if self.strict else [])
        if self.maximum is not None:
            values += [self.maximum + 1.0]
        return values

    def strategy(self):
        families = [st.sampled_from([float("nan"), float("inf"), -float("inf")]), st.text(min_size=1, max_size=3)]
        if self.minimum is not None:
            low = st.floats(max_value=self.minimum, exclude_max=not self.strict, allow_nan=False, allow_infinity=False)
            families.append(low)
        if self.maximum is not None:
            families.append(st.floats(min_value=self.maximum, exclude_min=True, allow_nan=False, allow_infinity=False))
        return st.one_of(*families)


@dataclass(frozen=True)
class Array:
    """Array-like numbers of rank ``ndim`` (or one of ``also``) with at least one row."""

    ndim: int = 2
    also: tuple = ()
    any_shape: bool = False  # elementwise: every shape (empty too) is fine, only the values matter

    def bad(self) -> list:
        shape = (2,) * self.ndim
        values = ["1 2 3", np.full(shape, "a"), np.full(shape, np.nan), np.full(shape, np.inf), *WRONG_TYPES[:2]]
        if not self.any_shape:
            values += [np.zeros((0,) * self.ndim), np.zeros((2,) * (self.ndim + 1))]
        return values

    def strategy(self):
        shape = (2,) * self.ndim
        ranks = [n for n in range(4) if n != self.ndim and n not in self.also]
        values = st.sampled_from([np.nan, np.inf, -np.inf]).map(lambda v: np.full(shape, v))
        if self.any_shape:
            return st.one_of(values, st.text(min_size=1, max_size=3))
        return st.one_of(values, st.sampled_from(ranks).map(lambda n: np.zeros((2,) * n)))


@dataclass(frozen=True)
class Ids:
    """Integer ids in [0, size) (a list or 1-D array)."""

    size: int

    def bad(self) -> list:
        return [[-1], [self.size], [self.size + 10**6], [0.5], ["1"], "0", None]

    def strategy(self):
        return st.one_of(st.integers(max_value=-1).map(lambda i: [i]),
                         st.integers(min_value=self.size).map(lambda i: [i]),
                         st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)).map(lambda x: [x]))


@dataclass(frozen=True)
class IdTensor:
    """An integer tensor of ids in [0, size) of a given shape."""

    size: int
    shape: tuple = (1, 3)

    def bad(self) -> list:
        return [torch.full(self.shape, -1), torch.full(self.shape, self.size), torch.zeros(self.shape),
                np.zeros(self.shape, dtype=np.int64), torch.zeros((1,) * (len(self.shape) + 1), dtype=torch.long), None]

    def strategy(self):
        return st.one_of(st.integers(max_value=-1), st.integers(min_value=self.size)).map(
            lambda i: torch.full(self.shape, i, dtype=torch.long))


@dataclass(frozen=True)
class FloatTensor:
    """A float32 tensor of a given shape (``any_size``: only its rank matters; ``any_float``: float64 too)."""

    shape: tuple
    any_size: bool = False
    any_float: bool = False
    optional: bool = False

    def bad(self) -> list:
        wrong = tuple(s + 1 for s in self.shape)
        values = [torch.zeros(self.shape, dtype=torch.long), torch.zeros(self.shape[:-1]),
                  np.zeros(self.shape, dtype=np.float32)]
        values += [] if self.any_float else [torch.zeros(self.shape, dtype=torch.float64)]
        values += [] if self.any_size else [torch.zeros(wrong)]
        return values + ([] if self.optional else [None])

    def strategy(self):
        dtypes = [torch.int32, torch.int64, torch.bool] + ([] if self.any_float else [torch.float64])
        return st.sampled_from(dtypes).map(lambda dtype: torch.zeros(self.shape, dtype=dtype))


@dataclass(frozen=True)
class Documents:
    """A list of token lists (strings)."""

    def bad(self) -> list:
        return ["a b c", [1, 2], [["a", 3]], [[b"a"]], None, 42]

    def strategy(self):
        return st.one_of(st.text(min_size=1), st.lists(st.integers(), min_size=1, max_size=3),
                         st.lists(st.lists(st.integers(), min_size=1, max_size=3), min_size=1, max_size=3))


@dataclass(frozen=True)
class Text:
    """A string."""

    def bad(self) -> list:
        return [None, 3, ["a"], b"bytes"]

    def strategy(self):
        return st.one_of(st.integers(), st.lists(st.text(), max_size=2), st.binary(min_size=1))


@dataclass(frozen=True)
class Counts:
    """A mapping from str to a count (>= 0)."""

    def bad(self) -> list:
        return [None, 3, ["a"], "abc", {"a": "x"}, {3: 1}, {"a": -1}, {"a": 1.5}]

    def strategy(self):
        return st.one_of(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(max_value=-1), min_size=1,
                                         max_size=3),
                         st.dictionaries(st.integers(), st.integers(1, 5), min_size=1, max_size=3), st.integers())


@dataclass(frozen=True)
class OfType:
    """An instance of one course type (a model, a vocabulary, a config)."""

    def bad(self) -> list:
        return [None, "model", 3, {"a": 1}]

    def strategy(self):
        return st.one_of(st.integers(), st.text(), st.none())


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names."""

    def bad(self) -> list:
        return ["no-such-choice", "", None, 3]

    def strategy(self):
        return st.text(min_size=1, max_size=8).filter(lambda s: s.isidentifier()).map(lambda s: "zz" + s)


@dataclass
class Case:
    """``call(**args)`` must work; swapping ``args[name]`` for a bad value of ``kinds[name]`` must be refused."""

    label: str
    call: Callable[..., Any]
    args: dict
    kinds: dict
    names: dict = field(default_factory=dict)  # argument -> the name the message must contain, if another

    def message_name(self, argument: str) -> str:
        return self.names.get(argument, argument)


def check_refused(case: Case, argument: str, value: Any) -> None:
    """Call ``case`` with ``argument`` replaced by ``value`` and assert a clear refusal."""
    args = dict(case.args)
    args[argument] = value
    try:
        result = case.call(**args)
    except (TypeError, ValueError) as error:
        name = case.message_name(argument)
        assert name in str(error), (f"{case.label}: {argument}={value!r:.60} raised {type(error).__name__} "
                                    f"without naming {name!r}: {error}")
        return
    pytest.fail(f"{case.label}: {argument}={value!r:.60} was accepted silently (returned {type(result).__name__})")


def enumerated(cases: list[Case]) -> list:
    """pytest params (case, argument, bad value) for every listed bad value of every argument."""
    params = []
    for case in cases:
        for argument, kind in case.kinds.items():
            for i, value in enumerate(kind.bad()):
                params.append(pytest.param(case, argument, value, id=f"{case.label}-{argument}-{i}"))
    return params


def count(cases: list[Case], examples: int) -> tuple[int, int]:
    """(enumerated bad inputs, hypothesis draws at most) for a module's cases: the note's counts."""
    listed = sum(len(kind.bad()) for case in cases for kind in case.kinds.values())
    return listed, examples * sum(len(case.kinds) for case in cases)


def hypothesis_test(cases: list[Case], examples: int = 10):
    """A test function drawing, per (case, argument), ``examples`` bad values from the kind's strategy."""
    params = [pytest.param(case, argument, id=f"{case.label}-{argument}")
              for case in cases for argument in case.kinds]

    @pytest.mark.parametrize("case, argument", params)
    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(data=st.data())
    def test_drawn_bad_values_are_refused(case, argument, data):
        check_refused(case, argument, data.draw(case.kinds[argument].strategy(), label=argument))

    return test_drawn_bad_values_are_refused


def module_tests(cases: list[Case], examples: int = 10):
    """The three tests every area module runs over its cases: each listed bad value refused, the
    hypothesis-drawn ones refused, and the valid arguments working (so a refusal is not a breakage)."""

    @pytest.mark.parametrize("case, argument, value", enumerated(cases))
    def test_listed_bad_values_are_refused(case, argument, value):
        check_refused(case, argument, value)

    @pytest.mark.parametrize("case", cases, ids=lambda c: c.label)
    def test_the_valid_arguments_work(case):
        case.call(**case.args)

    return test_listed_bad_values_are_refused, hypothesis_test(cases, examples), test_the_valid_arguments_work

