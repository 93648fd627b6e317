"""Fixtures the tests share: one torch thread for tiny models, and the JupyterLab server of
the browser tests. (The hash seed and the cpu-dependent cells are set up by the repository's
root conftest.py, which pytest loads for notebook paths too.)"""

import sys
from pathlib import Path

import pytest

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
