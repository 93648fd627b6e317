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


def test_makefile_installs_the_same_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert f"TORCH  := torch=={pyproject_pins()[0]['torch']}" in makefile
