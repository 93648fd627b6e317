"""Execute a notebook in place from a fresh kernel, the way nbval will re-run it.

    python scripts/execute_notebook.py notebooks/NN_name.ipynb [more.ipynb ...]

The kernel runs in this interpreter's environment with PYTHONHASHSEED=0 and the notebooks/
folder as its working directory; execution-timing metadata is dropped so that re-running
an unchanged notebook leaves the file unchanged. The notebook's metadata records
``nlpcourse.outputs_made_on``, the numerics signature of this machine: cells tagged
``cpu-dependent`` are compared exactly only on a machine with the same signature
(tests/cpu_dependent.py). Prints the wall time of each notebook.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nlpcourse.reproducibility import numerics_signature

os.environ["PYTHONHASHSEED"] = "0"


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.setdefault("nlpcourse", {})["outputs_made_on"] = numerics_signature()
    nbformat.write(nb, path)
    return elapsed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        seconds = execute(Path(name))
        print(f"{name}: {seconds:.1f} s")
