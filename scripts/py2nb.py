"""Authoring helper: turn a percent-format script into a course notebook (outputs empty).

    python scripts/py2nb.py draft.py notebooks/NN_name.ipynb

Cells start at lines ``# %%`` (code) or ``# %% [markdown]`` (markdown, each line starting
with ``# ``). ``# %% tags=["parameters"]`` tags a code cell; ``# %% hidden`` collapses its
source (for exercise solutions). The notebook gets the python3 kernelspec, so JupyterLab
opens it without a kernel-choice dialog. Then run scripts/execute_notebook.py on it.
"""

import json
import re
import sys

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<rest>.*)$")


def convert(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11"},
    }
    cells, kind, meta, lines = [], None, {}, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", l) for l in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body, metadata=meta))
        else:
            cells.append(nbformat.v4.new_code_cell(body, metadata=meta))

    for line in source.splitlines():
        match = HEADER.match(line)
        if match:
            flush()
            kind = "markdown" if match.group("md") else "code"
            rest = match.group("rest")
            meta, lines = {}, []
            tags = re.search(r"tags=(\[.*?\])", rest)
            if tags:
                meta["tags"] = json.loads(tags.group(1))
            if "hidden" in rest:
                meta["jupyter"] = {"source_hidden": True}
                meta.setdefault("tags", []).append("solution")
        elif kind is not None:
            lines.append(line)
    flush()
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


if __name__ == "__main__":
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        nb = convert(f.read())
    nbformat.write(nb, out)
    print(f"wrote {out}: {len(nb.cells)} cells")
