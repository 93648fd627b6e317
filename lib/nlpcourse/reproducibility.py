"""One call that makes a notebook's run repeatable: seeds, deterministic torch, fixed threads."""

from __future__ import annotations

import os
import random

import numpy as np

from nlpcourse._checks import check_int


def seed_everything(seed: int = 0, threads: int = 2) -> np.random.Generator:
    """Seed Python, numpy and torch, make torch deterministic with a fixed thread count.

    Returns a numpy ``Generator`` seeded with ``seed`` for code that takes one explicitly.
    ``PYTHONHASHSEED`` cannot be changed inside a running interpreter: the Makefile and the
    test configuration set it for the kernel; here it is only checked and reported.
    """
    seed = check_int("seed", seed, minimum=0)
    threads = check_int("threads", threads, minimum=1)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but keep the helper usable
        torch = None
    if torch is not None:
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(threads)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return np.random.default_rng(seed)
