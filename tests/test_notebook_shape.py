"""Every notebook has the shape the course promises (CONTRIBUTING.md, "A notebook")."""

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/work/|/home/|/root/|/tmp/|/Users/|[A-Z]:\\\\)")
IGNORE_MARK = re.compile(r"#\s*NBVAL_IGNORE_OUTPUT(?P<reason>.*)")


def _load(path):
    return nbformat.read(path, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestShape:
    def test_name_follows_the_course_scheme(self, path):
        assert re.fullmatch(r"\d\d[a-z]?_[a-z0-9_]+\.ipynb", path.name)

    def test_title_then_parameters_then_setup(self, path):
        nb = _load(path)
        first = nb.cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell must be a markdown title"
        code = _code(nb)
        assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged 'parameters'"
        assert "seed" in code[0].source, "the parameters cell must set the seed"
        assert "seed_everything(" in code[1].source, "second code cell must call seed_everything"

    def test_kernelspec_is_python3(self, path):
        # without it JupyterLab opens a kernel-choice dialog that blocks every click
        assert _load(path).metadata.get("kernelspec", {}).get("name") == "python3"

    def test_committed_outputs_have_no_errors_and_every_code_cell_ran(self, path):
        for i, cell in enumerate(_code(_load(path))):
            assert cell.execution_count is not None, f"code cell {i} was not executed before commit"
            for out in cell.outputs:
                assert out.output_type != "error", f"code cell {i} has an error output: {out.get('ename')}"

    def test_no_absolute_paths(self, path):
        for i, cell in enumerate(_load(path).cells):
            assert not ABSOLUTE_PATH.search(cell.source), f"cell {i} has an absolute path"
            for out in cell.get("outputs", []):
                txt = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
                assert not ABSOLUTE_PATH.search(txt), f"cell {i} prints an absolute path"

    def test_shared_code_comes_from_nlpcourse(self, path):
        sources = "\n".join(c.source for c in _code(_load(path)))
        assert re.search(r"^\s*(from nlpcourse\b|import nlpcourse\b)", sources, re.M)

    def test_ignored_outputs_give_a_reason(self, path):
        for i, cell in enumerate(_code(_load(path))):
            for match in IGNORE_MARK.finditer(cell.source):
                reason = match["reason"].lstrip(" :-")
                assert len(reason.split()) >= 3, f"cell {i}: NBVAL_IGNORE_OUTPUT needs a reason"

    def test_every_figure_has_a_sentence_under_it(self, path):
        cells = _load(path).cells
        for i, cell in enumerate(cells):
            has_figure = any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
            if has_figure and not any(IGNORE_MARK.search(l) for l in cell.source.splitlines()[:1]):
                # a collapsed check cell may sit between the figure and its sentence (issue 26)
                after = [c for c in cells[i + 1:] if "check" not in c.metadata.get("tags", [])]
                nxt = after[0] if after else None
                assert nxt is not None and nxt.cell_type == "markdown", f"figure in cell {i} needs a sentence below it"

    def test_ends_with_glossary_and_exercises_with_hidden_solutions(self, path):
        nb = _load(path)
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert re.search(r"^#+ .*Glossary", markdown, re.M | re.I), "needs a glossary section"
        assert re.search(r"\|.*\|.*[\u4e00-\u9fff]", markdown), "the glossary must pair English with 中文"
        assert re.search(r"^#+ .*Exercises", markdown, re.M | re.I), "needs an exercises section"
        solutions = [c for c in _code(nb) if "solution" in c.metadata.get("tags", [])]
        assert 2 <= len(solutions) <= 4, "2-4 exercises, each with a solution cell"
        for cell in solutions:
            assert cell.metadata.get("jupyter", {}).get("source_hidden"), "solution cells are collapsed"
            assert "assert" in cell.source, "each worked solution asserts its answer"

    def test_check_cells_are_collapsed_and_say_what_they_check(self, path):
        # issue 26: multi-line asserts and widget-driving code sit in a collapsed cell after the cell they check
        for i, cell in enumerate(_load(path).cells):
            if "check" in cell.metadata.get("tags", []):
                assert cell.cell_type == "code", f"cell {i} is tagged 'check' but is not code"
                assert cell.metadata.get("jupyter", {}).get("source_hidden"), f"check cell {i} must be collapsed"
                assert cell.source.startswith("# Check:"), f"check cell {i} must start with '# Check: <what>'"

    def test_hint_cells_are_collapsed_markdown(self, path):
        # issue 26: each exercise offers a collapsed hint before its collapsed solution
        for i, cell in enumerate(_load(path).cells):
            if "hint" in cell.metadata.get("tags", []):
                assert cell.cell_type == "markdown", f"cell {i} is tagged 'hint' but is not markdown"
                assert cell.metadata.get("jupyter", {}).get("source_hidden"), f"hint cell {i} must be collapsed"
                assert cell.source.startswith("**Hint.**"), f"hint cell {i} must start with '**Hint.**'"

    def test_once_a_notebook_has_hints_every_solution_has_one_before_it(self, path):
        cells = _load(path).cells
        tags = [c.metadata.get("tags", []) for c in cells]
        if not any("hint" in t for t in tags):
            return  # chapters gain hints one at a time (issue 26)
        last = -1
        for i, t in enumerate(tags):
            if "solution" in t:
                assert any("hint" in u for u in tags[last + 1:i]), f"solution cell {i} has no hint cell before it"
                last = i


def _function_bodies(path):
    bodies = {}
    for cell in _code(_load(path)):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # cells with IPython magics
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                text = ast.dump(node, annotate_fields=False, include_attributes=False)
                if len(node.body) > 1 or len(text) > 400:  # ignore one-line helpers
                    bodies[text] = node.name
    return bodies


def test_no_function_is_copied_between_notebooks():
    seen = {}
    for path in NOTEBOOKS:
        for body, name in _function_bodies(path).items():
            assert body not in seen, f"{name} in {path.name} repeats {seen.get(body)}: move it to nlpcourse"
            seen[body] = f"{name} in {path.name}"


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme, f"README.md does not link {path.name}"
