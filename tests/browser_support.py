"""Drive the course's notebooks in a real JupyterLab with headless Chromium (Playwright).

One JupyterLab server per test session (the ``jupyterlab`` fixture in conftest.py) serves a
temporary copy of ``notebooks/``. ``@browser_test("NN_name.ipynb", parameters={...})`` makes
a test that prepares the notebook with quick parameters (``papermill --prepare-only``), opens
it, runs all cells, fails on any error output, hands the page to the test body and saves a
screenshot under ``build/screenshots/``.

Chromium is Debian's (``/usr/bin/chromium``), never a browser downloaded by Playwright.
Without it the tests skip with a message, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("NLPCOURSE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLIDER_HANDLE = ".widget-slider .noUi-handle"
WIDGET_IMAGE = "img.widget-image"

# JupyterLab settings for a quiet test session: no news or update checks, no toasts.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def require_chromium() -> None:
    """Skip (locally) or fail (CI=true) when Debian's chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI must run the browser tests", pytrace=False)
    pytest.skip(message + "; browser tests skipped")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 over a temporary copy of the notebooks."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="nlpcourse-lab-"))
        self.root = self.tmp / "notebooks"
        shutil.copytree(NOTEBOOKS, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        settings = self.tmp / "settings"
        for name, values in _LAB_SETTINGS.items():
            target = settings / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        self.port = _free_port()
        self.token = "nlpcourse-test"
        env = dict(os.environ, PYTHONHASHSEED="0", JUPYTER_PLATFORM_DIRS="1")
        env.pop("MPLBACKEND", None)  # let ipykernel choose the inline backend
        self.log = open(self.tmp / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--IdentityProvider.token={self.token}",
                "--allow-root",
                f"--ServerApp.root_dir={self.root}",
                "--ServerApp.port_retries=0",
                "--LabApp.expose_app_in_browser=True",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
                "--LabApp.news_url=",
                "--LabApp.extension_manager=readonly",
            ],
            cwd=self.tmp,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early; see {self.log.name}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s; see {self.log.name}")

    def prepare(self, notebook: str, parameters: dict | None, label: str) -> str:
        """Write ``notebook`` with injected parameters and no outputs; return its server path."""
        import papermill

        source = NOTEBOOKS / notebook
        if not source.exists():
            raise FileNotFoundError(f"notebook {notebook!r} not found in {NOTEBOOKS}")
        name = f"{source.stem}__{label}.ipynb"
        target = self.root / name
        papermill.execute_notebook(
            str(source), str(target), parameters=parameters or {}, prepare_only=True,
            kernel_name="python3", progress_bar=False, log_output=False,
        )
        nb = nbformat.read(target, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, target)
        return name

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{name}?token={self.token}&reset"

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        if self.process.poll() is None:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------- page helpers

_NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const cell of cells) {
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  return {
    kernel: kernel ? kernel.status : null,
    unrun: cells.filter(c => c.model.sharedModel.getSource().trim() && c.model.executionCount === null).length,
    running: cells.filter(c => c.promptNode && c.promptNode.textContent.includes('*')).length,
    errors: errors,
  };
}"""


def notebook_state(page) -> dict | None:
    """Kernel status, code cells not yet run, cells running, and error outputs of the open notebook."""
    return page.evaluate(_NOTEBOOK_STATE)


def open_notebook(page, url: str, timeout: float = 90.0) -> None:
    """Open a notebook and wait until its kernel is idle."""
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel", timeout=timeout * 1000)
    page.wait_for_function(
        f"() => {{ const s = ({_NOTEBOOK_STATE})(); return s && s.kernel === 'idle'; }}",
        timeout=timeout * 1000,
    )


def run_all_cells(page, timeout: float = 240.0) -> dict:
    """Run every cell and wait until all have run and the kernel is idle; fail on error outputs."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state and state["errors"]:
            break
        if state and state["kernel"] == "idle" and state["unrun"] == 0 and state["running"] == 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"notebook did not finish within {timeout:.0f} s; last state {state}")
    assert not state["errors"], f"error output in the notebook: {state['errors']}"
    return state


def slider_handles(page):
    """Locator of every ipywidgets slider handle on the page, in document order."""
    return page.locator(SLIDER_HANDLE)


def press_slider_right(page, label: str):
    """Press ArrowRight on the one slider whose text contains ``label``; return that slider."""
    slider = page.locator(".widget-slider", has_text=label)
    assert slider.count() == 1, f"expected one slider labelled {label!r}, found {slider.count()}"
    handle = slider.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    return slider


def image_srcs(page) -> list[str]:
    """The ``src`` of every widget image (FigureView) on the page, in document order."""
    return page.locator(WIDGET_IMAGE).evaluate_all("els => els.map(e => e.getAttribute('src'))")


def wait_for_new_image(page, before: list[str], timeout: float = 15.0) -> list[str]:
    """Wait until some widget image differs from ``before``; return the new list of sources."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = image_srcs(page)
        if now != before:
            return now
        time.sleep(0.05)
    raise AssertionError(f"no widget image changed within {timeout:.0f} s")


def launch_browser(playwright):
    """Debian's chromium with the flags this machine needs (no network, no sandbox as root)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)


def browser_test(notebook: str, parameters: dict | None = None, *, run_timeout: float = 240.0):
    """Decorator: the test body ``fn(page)`` runs on ``notebook`` after Run All succeeded."""

    def decorate(body):
        @pytest.mark.browser
        def test(jupyterlab):
            from playwright.sync_api import sync_playwright

            label = body.__name__
            name = jupyterlab.prepare(notebook, parameters, label)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as playwright:
                browser = launch_browser(playwright)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                try:
                    open_notebook(page, jupyterlab.url(name))
                    run_all_cells(page, timeout=run_timeout)
                    body(page)
                finally:
                    with contextlib.suppress(Exception):
                        page.screenshot(path=str(SCREENSHOTS / f"{label}.png"))
                    browser.close()

        test.__name__ = body.__name__
        test.__doc__ = body.__doc__
        return test

    return decorate
