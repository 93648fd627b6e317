"""Loaded by pytest for every run in this repository, also `pytest notebooks/NN_name.ipynb`
alone (tests/conftest.py is loaded only when tests/ is collected): the notebook kernels' hash
seed and the relaxed comparison of cpu-dependent cells (tests/cpu_dependent.py)."""

import os
import sys
from pathlib import Path

# nbval's kernels inherit this environment: a fixed hash seed keeps set/dict orders (and so
# gensim's and our vocabularies) identical between the committed run and the test run.
os.environ["PYTHONHASHSEED"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

from cpu_dependent import pytest_collection_modifyitems, pytest_terminal_summary  # noqa: E402,F401  (hooks)
