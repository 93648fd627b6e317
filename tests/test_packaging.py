"""The three places that list dependencies (pyproject.toml, environment.yml, binder/) agree,
and every dependency is pinned exactly."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[0-9][0-9A-Za-z.]*)(?:\+cpu)?$")


def _pins(lines):
    pins, unpinned = {}, []
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        match = PIN.match(line)
        if match:
            pins[match["name"].lower().replace("_", "-")] = match["version"]
        else:
            unpinned.append(line)
    return pins, unpinned


def pyproject_pins(extras=("test",)):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return _pins(lines)


def test_pyproject_pins_every_dependency_exactly():
    pins, unpinned = pyproject_pins()
    assert not unpinned, f"unpinned dependencies in pyproject.toml: {unpinned}"
    assert pins["torch"] == "2.13.0"


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins, unpinned = _pins(pip_section)
    assert unpinned == [], f"unpinned entries in environment.yml: {unpinned}"
    assert "-e ." in pip_section
    assert pins == pyproject_pins()[0]


def test_binder_matches_pyproject_runtime_dependencies():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    pins, unpinned = _pins(lines)
    assert unpinned == []
    assert pins == pyproject_pins(extras=())[0]
    assert "torch==2.13.0+cpu" in lines, "binder must take the CPU build of torch"
    assert any(l.startswith("--extra-index-url") and "/whl/cpu" in l for l in lines)
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def test_environment_yml_takes_torch_from_the_cpu_index_on_every_os():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # plain ==, so that macOS (no +cpu build) resolves too; the CPU index's +cpu sorts higher
    assert f"torch=={pyproject_pins()[0]['torch']}" in pip_section
    assert any(l.startswith("--extra-index-url") and l.endswith("/whl/cpu") for l in pip_section)


def test_makefile_installs_the_same_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert f"TORCH  := torch=={pyproject_pins()[0]['torch']}" in makefile
    assert "TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu" in makefile


def _make_dry_run(*args, env=None):
    """What `make -n` would run here, with the venv's stamp missing (a first install)."""
    import os
    import subprocess

    environment = dict(os.environ, **(env or {}))
    return subprocess.run(["make", "-n", "-B", "install", *args], cwd=ROOT, capture_output=True, text=True,
                          env=environment, check=True).stdout


def test_makefile_takes_the_cpu_build_on_linux_and_keeps_it():
    commands = _make_dry_run()
    install_torch, install_course = [l for l in commands.splitlines() if "pip install --quiet" in l and "torch" in l]
    # first torch alone, the +cpu build from PyTorch's CPU index (PyPI's Linux torch is CUDA) ...
    assert "torch==2.13.0+cpu --extra-index-url https://download.pytorch.org/whl/cpu" in install_torch
    # ... then the course, whose torch==2.13.0 that build satisfies; no second look at the index
    # (unreachable offline: pip would retry it for every package)
    assert "torch==2.13.0" in install_course and "extra-index-url" not in install_course


def test_makefile_says_what_is_missing_without_python311():
    import subprocess

    result = subprocess.run(["make", "-B", "install", "PYTHON=python3.11-not-here", "VENV=/nonexistent/venv"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "'python3.11-not-here' was not found" in message and "Python 3.11" in message


def test_readme_binder_badge_opens_jupyterlab_at_chapter_01_of_this_repository():
    repository = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    owner_name = repository.removeprefix("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/v2/gh/(?P<repo>[^/]+/[^/]+)/(?P<ref>[^?]+)\?urlpath=(?P<path>[^)]+)\)",
                      readme)
    assert badge, "README has no Binder badge"
    assert badge["repo"] == owner_name and badge["ref"] == "main"
    assert badge["path"] == "lab/tree/notebooks/01_text_representation.ipynb"
    assert (ROOT / "notebooks" / "01_text_representation.ipynb").exists()
