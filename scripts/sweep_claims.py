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

Variants (nlpcourse.reproducibility.KERNEL_VARIANTS, the environment given to the kernel):
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
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from nlpcourse.reproducibility import KERNEL_VARIANTS, kernel_variant_environment

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = ["native", "aten-avx2", "mkl-compatible", "mkl-avx2"]


def first_error(nb: nbformat.NotebookNode) -> str | None:
    """'cell N: ErrorName: message' for the first cell with an error output, else None."""
    added = {"injected-parameters", "papermill-error-cell-tag"}  # papermill's own cells
    cells = [c for c in nb.cells if not added & set(c.metadata.get("tags", []))]
    for index, cell in enumerate(cells):  # numbered as in the committed notebook
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                # the failing line: the last traceback frame's arrow, without colour codes
                frames = [re.sub(r"\x1b\[[0-9;]*m", "", f) for f in out.get("traceback", [])]
                arrow = [l.strip() for f in frames[-2:] for l in f.splitlines()
                         if l.lstrip().startswith("---->")]
                where = arrow[-1][:120] if arrow else next((l for l in cell.source.splitlines()
                                                            if l.strip()), "")
                return f"cell {index}: {out.ename}: {str(out.evalue)[:160]} at {where!r}"
    return None


def run_one(path: Path, variant: str, seed: int, extra: list[str],
            keep: Path | None = None) -> tuple[str, float]:
    """Execute one notebook once; returns ('pass' or the failure, seconds). With ``keep``, the
    executed copy stays there as ``<notebook>_<variant>_seed<N>.ipynb``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = (keep or Path(tmp)) / f"{path.stem}_{variant}_seed{seed}.ipynb"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "papermill", "--cwd", str(path.parent), "--no-progress-bar",
             "-p", "seed", str(seed), *extra, str(path), str(out)],
            env=kernel_variant_environment(variant), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode == 0:
            return "pass", seconds
        if out.exists():
            error = first_error(nbformat.read(out, as_version=4))
            if error:
                return f"FAIL {error}", seconds
        return (f"FAIL papermill exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}",
                seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS,
                        choices=sorted(KERNEL_VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at the same time (default 2)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="another papermill parameter for every run")
    parser.add_argument("--keep", type=Path,
                        help="keep the executed notebooks in this folder (to read their numbers)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    extra = [item for name, value in args.parameter for item in ("-p", name, value)]
    runs = [(nb, variant, seed) for nb in args.notebooks for variant in args.variants
            for seed in args.seeds]
    results: dict[tuple, tuple[str, float]] = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, nb, variant, seed, extra, args.keep): (nb, variant, seed)
                   for nb, variant, seed in runs}
        for future, key in futures.items():
            results[key] = future.result()
            nb, variant, seed = key
            print(f"{nb.stem:28s} {variant:15s} seed {seed}: {results[key][0]} "
                  f"({results[key][1]:.0f} s)", flush=True)
    print()
    width = max(len(v) for v in args.variants) + 2
    header = f"{'notebook':28s}" + "".join(f"{v:>{width}s}" for v in args.variants)
    print(f"pass/fail per seed ({' '.join(map(str, args.seeds))}); P = the asserts held, F = a "
          "cell raised")
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
