"""Shared test configuration: a fixed hash seed for notebook kernels, and the JupyterLab
server that the browser tests share."""

import os
import sys
from pathlib import Path

import pytest

# nbval's kernels inherit this environment: a fixed hash seed keeps set/dict orders (and so
# gensim's and our vocabularies) identical between the committed run and the test run.
os.environ["PYTHONHASHSEED"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread (and the machine is shared); restore afterwards.

    Use it in a module with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def jupyterlab():
    """One JupyterLab server for all browser tests of the session."""
    from browser_support import JupyterLab, require_chromium

    require_chromium()
    lab = JupyterLab()
    yield lab
    lab.stop()
