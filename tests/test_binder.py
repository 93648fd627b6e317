"""What Binder builds: repo2docker's Dockerfile for this repository takes binder/'s files.

`repo2docker --no-build --debug` prints the Dockerfile it would build, with neither docker nor
the network; Binder (mybinder.org) runs the same tool on the repository.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPO2DOCKER = Path(sys.executable).parent / "repo2docker"


@pytest.fixture(scope="module")
def dockerfile() -> str:
    if not REPO2DOCKER.exists():
        pytest.fail("repo2docker is missing: it is in the [test] extras (make install)")
    result = subprocess.run([str(REPO2DOCKER), "--no-build", "--debug", str(ROOT)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_binder_builds_python_311_from_runtime_txt(dockerfile):
    assert "Building conda environment for python=3.11" in dockerfile


def test_binder_installs_requirements_then_runs_post_build(dockerfile):
    requirements = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    post_build = dockerfile.index("./binder/postBuild")
    assert requirements < post_build
    assert "COPY --chown=0:0 src/binder/requirements.txt" in dockerfile


def test_binder_requirements_accept_the_base_images_notebook_server():
    """repo2docker's base environment ships notebook 7.4.7, which requires jupyterlab < 4.5;
    binder/requirements.txt upgrades jupyterlab, so it must pin a notebook that accepts it."""
    import importlib.metadata

    from packaging.requirements import Requirement

    pins = dict(line.split("==", 1) for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert "notebook" in pins, "pin notebook beside jupyterlab, or the image keeps 7.4.7"
    # the installed notebook is the pinned one (make install), and its own requirement on
    # jupyterlab admits the pinned jupyterlab
    assert importlib.metadata.version("notebook") == pins["notebook"]
    lab_requirements = [Requirement(r) for r in importlib.metadata.requires("notebook") or []]
    lab = next(r for r in lab_requirements if r.name == "jupyterlab" and r.marker is None)
    assert lab.specifier.contains(pins["jupyterlab"]), f"notebook {pins['notebook']} needs jupyterlab {lab.specifier}"
    base_lock = (Path(importlib.metadata.distribution("jupyter-repo2docker").locate_file(""))
                 / "repo2docker" / "buildpacks" / "conda" / "environment.py-3.11-linux-64.lock").read_text()
    assert "/notebook-7.4.7-" in base_lock  # what the pin above repairs; update this test if it moves
