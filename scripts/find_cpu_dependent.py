"""Find the cells of a notebook whose printed output depends on the CPU's vector kernels.

    python scripts/find_cpu_dependent.py notebooks/04_activations.ipynb [--tag] \
        [--variants aten-avx2 aten-default mkl-compatible mkl-avx2]

torch picks its vectorised kernels (and so the order of float32 sums) by the CPU it runs on,
and MKL its matrix-product code path; a long training run amplifies those last-bit differences
into other printed digits. This script executes the notebook once with the machine's own
kernels and once per variant of ``nlpcourse.reproducibility.KERNEL_VARIANTS`` (what an older or
another vendor's CPU would run), and
compares every code cell's text output (stdout, text/plain, errors) after the nbval sanitize
patterns. It also compares with the outputs saved in the file, which may come from yet
another machine. It prints the cells that differ and, with ``--tag``, tags exactly those cells
``cpu-dependent`` in the notebook (tests/cpu_dependent.py then compares them exactly only on a
machine with the numerics signature that made the saved outputs). The notebook's outputs are
not changed: run scripts/execute_notebook.py for that, before or after.
"""

from __future__ import annotations

import argparse
import configparser
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from nlpcourse.reproducibility import CPU_DEPENDENT_TAG as TAG
from nlpcourse.reproducibility import KERNEL_VARIANTS, kernel_variant_environment

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
_ERROR = "\n<cell raised> "  # marks an error output inside a cell's text, after anything it printed


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def cell_texts(nb: nbformat.NotebookNode, sanitizers) -> list[str | None]:
    """The sanitised text output of every cell (None for markdown cells)."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            texts.append(None)
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
            elif out.output_type == "error":
                parts.append(f"{_ERROR}{out.ename}: {out.evalue}")
        text = "".join(parts)
        for pattern, replacement in sanitizers:
            text = pattern.sub(replacement, text)
        texts.append(text)
    return texts


def execute_copy(path: Path, variant: str) -> nbformat.NotebookNode:
    """Run a copy of the notebook in a fresh interpreter and kernel under one of
    ``KERNEL_VARIANTS`` ("native": the machine's own kernels)."""
    env = kernel_variant_environment(variant)
    code = ("import sys, nbformat; from nbclient import NotebookClient; nb = "
            "nbformat.read(sys.argv[1], as_version=4); NotebookClient(nb, timeout=900, "
            "kernel_name='python3', allow_errors=True, resources={'metadata': {'path': "
            "sys.argv[3]}}).execute(); nbformat.write(nb, sys.argv[2])")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        subprocess.run([sys.executable, "-c", code, str(path), str(out), str(path.parent)], env=env,
                       check=True)
        return nbformat.read(out, as_version=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--variants", nargs="*", choices=sorted(set(KERNEL_VARIANTS) - {"native"}),
                        default=["aten-avx2", "aten-default", "mkl-compatible", "mkl-avx2"],
                        help="kernel variants to compare with (default: all four)")
    parser.add_argument("--tag", action="store_true",
                        help=f"tag exactly the differing cells {TAG!r}")
    args = parser.parse_args()
    sanitizers = _sanitizers()
    for path in args.notebooks:
        saved = nbformat.read(path, as_version=4)
        runs = {"saved": cell_texts(saved, sanitizers),
                "native": cell_texts(execute_copy(path, "native"), sanitizers)}
        for variant in args.variants:
            runs[variant] = cell_texts(execute_copy(path, variant), sanitizers)
        differing = []
        for index, cell in enumerate(saved.cells):
            outputs = {name: texts[index] for name, texts in runs.items()}
            if cell.cell_type == "code" and len(set(outputs.values())) > 1:
                differing.append(index)
                errors = [name for name, o in outputs.items() if _ERROR in o]
                print(f"{path.name} cell {index}: {cell.source.splitlines()[0][:70]!r}"
                      + (f" (raises in: {', '.join(errors)})" if errors else ""))
        print(f"{path.name}: {len(differing)} cpu-dependent cells {differing}")
        if args.tag:
            for index, cell in enumerate(saved.cells):
                tags = [t for t in cell.metadata.get("tags", []) if t != TAG]
                if index in differing:
                    tags.append(TAG)
                if tags:
                    cell.metadata["tags"] = tags
                else:
                    cell.metadata.pop("tags", None)
            nbformat.write(saved, path)


if __name__ == "__main__":
    main()
