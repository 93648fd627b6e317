"""One call that makes a notebook's run repeatable: seeds, deterministic torch, fixed threads."""

from __future__ import annotations

import os
import random

import numpy as np

from nlpcourse._checks import check_int

__all__ = [
    "seed_everything", "CPU_DEPENDENT_TAG", "KERNEL_VARIANTS", "kernel_variant_environment",
    "numerics_signature",
]


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


#: Notebook cell tag: this cell's printed output depends on the CPU's float32 kernels, so nbval
#: compares it exactly only on a machine with the signature that made the saved outputs.
CPU_DEPENDENT_TAG = "cpu-dependent"

#: Environments that make this machine compute as other CPUs do (scripts/sweep_claims.py and
#: scripts/find_cpu_dependent.py): torch's own kernels by ATEN_CPU_CAPABILITY, the matrix
#: products by MKL's code path, which MKL otherwise picks by CPU vendor and model.
KERNEL_VARIANTS = {
    "native": {},                                         # this machine's own kernels
    # torch's AVX2 kernels (most AMD, older Intel)
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},   # torch's non-vectorised kernels
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},         # MKL's vendor-neutral path
    # MKL's AVX2 path (what it takes on many AMD CPUs)
    "mkl-avx2": {"MKL_CBWR": "AVX2"},
}


def kernel_variant_environment(variant: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """A process environment for one of ``KERNEL_VARIANTS``: ``base`` (default: this process's)
    without any inherited kernel choice, plus the variant's, and PYTHONHASHSEED=0."""
    if variant not in KERNEL_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(KERNEL_VARIANTS)}, got {variant!r}")
    inherited = os.environ if base is None else base
    env = {k: v for k, v in inherited.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    env["PYTHONHASHSEED"] = "0"
    env.update(KERNEL_VARIANTS[variant])
    return env


def numerics_signature() -> str:
    """Name the hardware and library versions that decide a trained model's last digits.

    Two machines with the same signature give bit-identical results for the course's
    notebooks (fixed seeds, deterministic torch, fixed threads). Different CPUs take different
    vectorised code paths in torch, MKL and oneDNN (AVX2 or AVX-512 kernels, other blocking
    of sums), so float32 training drifts apart in the last bits and a long run can end with
    visibly different accuracies. The notebooks record this string when they are executed;
    the test configuration compares it with the machine it runs on.
    """
    import platform

    import torch

    cpu = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("vendor_id", "cpu family", "model") and key not in cpu:
                    cpu[key] = value.strip()
                if len(cpu) == 3:
                    break
    except OSError:  # not Linux: fall back to what the platform module knows
        cpu["vendor_id"] = platform.processor() or "unknown"
    described = " ".join(
        f"{key.split()[-1]} {cpu[key]}" if key != "vendor_id" else cpu[key]
        for key in ("vendor_id", "cpu family", "model") if key in cpu)
    # MKL picks its matrix-product code path by CPU unless MKL_CBWR forces one (how the course
    # emulates another vendor's CPU: scripts/sweep_claims.py)
    mkl_path = f" MKL_CBWR={os.environ['MKL_CBWR']}" if os.environ.get("MKL_CBWR") else ""
    return (f"{platform.machine()} {described}, torch {torch.__version__} "
            f"{torch.backends.cpu.get_cpu_capability()}{mkl_path}, numpy {np.__version__}")
