"""The authoring recipe in CONTRIBUTING.md: chapters are drafted as jupytext percent-format scripts.
A draft with the course's cell conventions converts to the notebook cells and tags the tests expect,
and every chapter survives the round trip notebook -> script -> notebook with its cells unchanged."""

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

DRAFT = '''# %% [markdown]
# # 99 · A chapter (一章)
# What the reader will be able to do.

# %% tags=["parameters"]
seed = 0

# %%
total = seed + 1

# %% jupyter={"source_hidden": true} tags=["check"]
# Check: the sum
assert total == 1
'''


def test_a_percent_draft_becomes_the_course_cells():
    nb = jupytext.reads(DRAFT, fmt="py:percent")
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "code"]
    assert nb.cells[0].source.startswith("# 99 · A chapter (一章)")  # the "# " comment prefix is removed
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[3].metadata == {"jupyter": {"source_hidden": True}, "tags": ["check"]}
    assert nb.cells[3].source.splitlines()[0] == "# Check: the sum"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_round_trips_through_a_percent_script(path):
    nb = jupytext.read(path)
    again = jupytext.reads(jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
    assert [c.cell_type for c in again.cells] == [c.cell_type for c in nb.cells]
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]
    assert [c.metadata.get("tags", []) for c in again.cells] == [c.metadata.get("tags", []) for c in nb.cells]
