"""Do a notebook's claims hold on other CPUs and other seeds? Run it under each and print a table.

    python scripts/sweep_claims.py notebooks/08_transformer.ipynb [more ...] \
        [--seeds 0 1 2] [--variants native aten-avx2 mkl-compatible mkl-avx2] [--jobs 2]

Every notebook asserts the claims its text makes. Those asserts must hold on a student's
machine, not only on the one that executed the committed outputs (COURSE.md, Determinism):
other CPUs run other float32 kernels (torch's own by ``ATEN_CPU_CAPABILITY``, the matrix
products by MKL's code path, which MKL picks by CPU vendor and model), and a chaotic training
run lands elsewhere. This script executes each notebook with papermill, ``-p seed N`` for each
seed, under each kernel variant below, each run in a fresh interpreter, and prints
notebook x variant x seed -> pass, or the first failing cell and its error.

Variants (environment given to the kernel):
    native          the machine's own kernels
    aten-avx2       ATEN_CPU_CAPABILITY=avx2  (torch's AVX2 kernels, as on most AMD/older Intel)
    aten-default    ATEN_CPU_CAPABILITY=default  (torch's non-vectorised kernels)
    mkl-compatible  MKL_CBWR=COMPATIBLE  (MKL's vendor-neutral SSE2 path)
    mkl-avx2        MKL_CBWR=AVX2  (MKL's AVX2 path, what it takes on many AMD CPUs)

Notebook outputs are not changed (papermill writes to a temporary file). The exit status is
1 when any run failed. scripts/find_cpu_dependent.py is the sibling that finds which cells'
*printed* digits move (for nbval); this one checks that the *asserts* hold.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "native": {},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "mkl-avx2": {"MKL_CBWR": "AVX2"},
}
DEFAULT_VARIANTS = ["native", "aten-avx2", "mkl-compatible", "mkl-avx2"]
_CLEARED = ("ATEN_CPU_CAPABILITY", "MKL_CBWR")


def variant_environment(variant: str) -> dict[str, str]:
    """The process environment for one variant: this one's, less any inherited kernel choice."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["PYTHONHASHSEED"] = "0"
    env.update(VARIANTS[variant])
    return env


def first_error(nb: nbformat.NotebookNode) -> str | None:
    """'cell N: ErrorName: message' for the first cell with an error output, else None."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                line = next((l for l in cell.source.splitlines() if l.strip()), "")
                return f"cell {index} ({line[:40]!r}): {out.ename}: {str(out.evalue)[:160]}"
    return None


def run_one(path: Path, variant: str, seed: int, extra: list[str]) -> tuple[str, float]:
    """Execute one notebook once; returns ('pass' or the failure, seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "papermill", "--cwd", str(path.parent), "--no-progress-bar",
             "-p", "seed", str(seed), *extra, str(path), str(out)],
            env=variant_environment(variant), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode == 0:
            return "pass", seconds
        if out.exists():
            error = first_error(nbformat.read(out, as_version=4))
            if error:
                return f"FAIL {error}", seconds
        return f"FAIL papermill exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}", seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=sorted(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at the same time (default 2)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="another papermill parameter for every run")
    args = parser.parse_args()
    extra = [item for name, value in args.parameter for item in ("-p", name, value)]
    runs = [(nb, variant, seed) for nb in args.notebooks for variant in args.variants for seed in args.seeds]
    results: dict[tuple, tuple[str, float]] = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, nb, variant, seed, extra): (nb, variant, seed) for nb, variant, seed in runs}
        for future, key in futures.items():
            results[key] = future.result()
            nb, variant, seed = key
            print(f"{nb.stem:28s} {variant:15s} seed {seed}: {results[key][0]} ({results[key][1]:.0f} s)", flush=True)
    print()
    width = max(len(v) for v in args.variants) + 2
    header = f"{'notebook':28s}" + "".join(f"{v:>{width}s}" for v in args.variants)
    print(f"pass/fail per seed ({' '.join(map(str, args.seeds))}); P = the asserts held, F = a cell raised")
    print(header)
    for nb in args.notebooks:
        row = "".join(f"{''.join('P' if results[(nb, v, s)][0] == 'pass' else 'F' for s in args.seeds):>{width}s}"
                      for v in args.variants)
        print(f"{nb.stem:28s}{row}")
    failed = [(key, res) for key, res in results.items() if res[0] != "pass"]
    for (nb, variant, seed), (status, _) in failed:
        print(f"{nb.stem} {variant} seed {seed}: {status}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
