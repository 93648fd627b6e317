"""Measures of the library's shape (issue 24's evidence), from its source alone:

    python scripts/library_report.py

prints which course modules each module imports (module level and inside functions), the
largest functions, the share of code lines that check arguments, lines over 100 characters,
which modules lack ``__all__``, and the length of chapter 08's attention function.
"""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "nlpcourse"
CHECK_CALLS = {"check_int", "check_float", "check_choice", "check_array", "check_ids",
               "check_same_length",
               "check_shape", "check_instance", "check_tensor", "check_id_tensor"}


def course_imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    top, inner = set(), set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nlpcourse"):
            names = [node.module.removeprefix("nlpcourse").lstrip(".") or a.name
                     for a in node.names] \
                if node.module == "nlpcourse" else [node.module.removeprefix("nlpcourse.")]
            if node.module == "nlpcourse":
                names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.removeprefix("nlpcourse.") for a in node.names
                     if a.name.startswith("nlpcourse.")]
        (top if node in tree.body else inner).update(names)
    return top, inner


def is_check_line(node: ast.stmt) -> bool:
    """An argument check: a call to a _checks helper, or an `if ...: raise` with no else."""
    if (isinstance(node, ast.If) and len(node.body) == 1 and isinstance(node.body[0], ast.Raise)
        and not node.orelse):
        return True
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    return any(getattr(c.func, "id", getattr(c.func, "attr", None)) in CHECK_CALLS
               for c in calls) and \
        isinstance(node, (ast.Expr, ast.Assign))


def main() -> None:
    functions, check_lines, code_lines, long_lines, no_all = [], 0, 0, 0, []
    print("course imports (module level | inside functions):")
    for path in sorted(LIB.rglob("*.py")):  # a package's modules too (nlpcourse.widgets.*)
        name = ".".join(path.relative_to(LIB).with_suffix("").parts).removesuffix(".__init__")
        source = path.read_text()
        tree = ast.parse(source)
        top, inner = course_imports(tree)
        print(f"  {name:30s} {', '.join(sorted(top)) or '-'}"
              + (f"  | {', '.join(sorted(inner))}" if inner else ""))
        if not any(isinstance(n, ast.Assign)
                   and any(getattr(t, "id", "") == "__all__" for t in n.targets)
                   for n in tree.body) and not path.stem.startswith("__"):
            no_all.append(name)
        long_lines += sum(len(line) > 100 for line in source.splitlines())
        code = {n.lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)}
        code_lines += len(code)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
            if isinstance(node, ast.stmt) and is_check_line(node):
                # statements, as code_lines counts them: a wrapped call is still one line
                check_lines += len({n.lineno for n in ast.walk(node) if isinstance(n, ast.stmt)})
    functions.sort(reverse=True)
    lengths = sorted(n for n, _ in functions)
    print(f"functions: {len(functions)}, median {lengths[len(lengths) // 2]} lines, "
          f"{sum(n > 40 for n in lengths)} over 40 lines; largest:")
    for n, name in functions[:15]:
        print(f"  {n:4d}  {name}")
    print(f"argument-check lines: {check_lines} of {code_lines} statement lines "
          f"({100 * check_lines / code_lines:.1f} %)")
    print(f"lines over 100 characters: {long_lines}")
    print(f"modules without __all__: {', '.join(no_all) or 'none'}")
    att = next(n for n, name in functions if name == "attention.scaled_dot_product_attention")
    print(f"attention.scaled_dot_product_attention (chapter 08): {att} lines")


if __name__ == "__main__":
    main()
