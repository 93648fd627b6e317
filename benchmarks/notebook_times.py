"""Execute each notebook from a fresh kernel and report wall time and peak kernel memory
against the course budgets (60 s, 1.5 GB). Notebooks are run from a temporary copy, so the
committed files are not touched.

    .venv/bin/python benchmarks/notebook_times.py                 # every notebook
    .venv/bin/python benchmarks/notebook_times.py 01 05           # notebooks whose name starts so
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 60.0
BUDGET_MB = 1536.0


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(path: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        nb = nbformat.read(copy, as_version=4)
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        with client.setup_kernel():
            pid = client.km.provisioner.process.pid
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            elapsed = time.perf_counter() - start
            peak = peak_rss_mb(pid)
    return elapsed, peak


def main(prefixes: list[str]) -> None:
    os.environ["PYTHONHASHSEED"] = "0"
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if prefixes:
        notebooks = [nb for nb in notebooks if any(nb.name.startswith(p) for p in prefixes)]
    print(f"{'notebook':<34} {'seconds':>8} {'/60 s':>6} {'peak MB':>8} {'/1536':>6}")
    for path in notebooks:
        seconds, peak = run(path)
        flag = "" if seconds <= BUDGET_SECONDS and peak <= BUDGET_MB else "  OVER BUDGET"
        print(f"{path.name:<34} {seconds:8.1f} {seconds / BUDGET_SECONDS:6.2f} {peak:8.0f} "
              f"{peak / BUDGET_MB:6.2f}{flag}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
