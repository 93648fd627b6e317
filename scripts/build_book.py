"""Build the course as a static HTML book, offline, from the committed notebooks (not executed).

    python scripts/build_book.py [--out build/book]

Stages a source tree in ``<out>/src`` (the README as the front page, the chapters in the
README's order, the licence, the contributor guide, the data sources and one bilingual glossary
gathered from every chapter), then runs Sphinx with MyST-NB and the book theme (configuration in
``scripts/book/conf.py``) into ``<out>/html``. Any Sphinx warning fails the build (-W), so a
broken internal link or a missing figure stops it.

The staged copies of the notebooks get what a web page needs and a notebook does not:
"chapter 07" in the text becomes a link to chapter 07, and every figure gets alt text from the
sentence that follows it ("what to see"). The committed notebooks are not changed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "scripts" / "book"

_CHAPTER_ROW = re.compile(r"^\|\s*(?P<number>\d\d[a-z]?)\s*\|\s*"
                          r"\[(?P<path>notebooks/[^\]]+\.ipynb)\]")
_CHAPTER_MENTION = re.compile(r"(?<![\[\w/])(?P<word>[Cc]hapter) "
                              r"(?P<number>\d\d[a-z]?)\b(?![\]\w])")
_CODE_SPAN = re.compile(r"(`+)[^`]*?\1|\]\([^)]*\)")  # code spans and link targets: never rewritten


def chapters(readme: str) -> list[tuple[str, str]]:
    """(number, notebook path) of every chapter, in the README table's order."""
    found = [(m["number"], m["path"]) for m in map(_CHAPTER_ROW.match, readme.splitlines()) if m]
    if not found:
        raise ValueError("README.md has no chapter table rows like '| 01 | "
                         "[notebooks/01_x.ipynb](...)'")
    return found


def link_chapter_mentions(markdown: str, targets: dict[str, str], here: str) -> str:
    """'chapter 07' -> '[chapter 07](07_seq2seq_attention.ipynb)', outside code spans and links;
    'chapter 09' (split into 09a-09c) links to its first part; the page's own number stays text."""
    def link(match: re.Match) -> str:
        number = match["number"]
        target = targets.get(number) or targets.get(number + "a")
        if target is None or target == here:
            return match[0]
        return f"[{match['word']} {number}]({target})"

    pieces, last = [], 0
    for protected in _CODE_SPAN.finditer(markdown):
        pieces.append(_CHAPTER_MENTION.sub(link, markdown[last:protected.start()]))
        pieces.append(protected[0])
        last = protected.end()
    pieces.append(_CHAPTER_MENTION.sub(link, markdown[last:]))
    return "".join(pieces)


def first_sentence(markdown: str) -> str:
    """The first sentence of a markdown cell, as plain text (for a figure's alt text)."""
    text = re.sub(r"[*_`#>]|\[([^\]]*)\]\([^)]*\)", r"\1", markdown).strip()
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match[1] if match else text)[:300]


def add_figure_alt_text(nb: nbformat.NotebookNode) -> int:
    """Give every code cell that draws a PNG the next markdown cell's first sentence as alt text."""
    count = 0
    for index, cell in enumerate(nb.cells):
        has_image = cell.cell_type == "code" and any(
            "image/png" in out.get("data", {}) for out in cell.get("outputs", []))
        following = next((c for c in nb.cells[index + 1:] if c.cell_type == "markdown"), None)
        if has_image and following is not None:
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = first_sentence(
                following.source)
            count += 1
    return count


def glossary_rows(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """(English, 中文, meaning) rows of the chapter's '## Glossary' table."""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "## Glossary" not in cell.source:
            continue
        rows, started = [], False
        for line in cell.source.split("## Glossary", 1)[1].splitlines():
            if line.startswith("|"):
                started = True
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if (len(cells) >= 3 and not set(cells[0]) <= set("-: ")
                    and cells[0].lower() != "english"):
                    rows.append((cells[0], cells[1], cells[2]))
            elif started:
                break
        return rows
    return []


def glossary_page(entries: list[tuple[str, str, str, str, str]]) -> str:
    """One index of every chapter's glossary: English | 中文 | chapter (linked) | meaning."""
    lines = ["# Glossary (術語表)", "",
             "Every chapter ends with a bilingual glossary; here they are in one table, sorted by "
             "the English term. The chapter column links to where the term is taught.", "",
             "| English | 中文 | chapter | meaning |", "|---|---|---|---|"]
    for english, chinese, meaning, number, target in sorted(entries,
                                                            key=lambda e: (e[0].lower(), e[3])):
        # a chapter's link, from here
        meaning = re.sub(r"\]\((\d\d[a-z]?_\w+\.ipynb)\)", r"](notebooks/\1)", meaning)
        lines.append(f"| {english} | {chinese} | [{number}]({target}) | {meaning} |")
    return "\n".join(lines) + "\n"


def stage(src: Path) -> list[str]:
    """Write the book's source tree into ``src``; returns the chapter documents in order."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    order = chapters(readme)
    targets = {number: Path(path).name for number, path in order}
    glossary, documents = [], []
    for number, path in order:
        nb = nbformat.read(ROOT / path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = link_chapter_mentions(cell.source, targets, Path(path).name)
        add_figure_alt_text(nb)
        glossary += [(e, c, m, number, f"notebooks/{Path(path).name}")
                     for e, c, m in glossary_rows(nb)]
        nbformat.write(nb, src / path)
        documents.append(str(Path(path).with_suffix("")))
    (src / "glossary.md").write_text(glossary_page(glossary), encoding="utf-8")
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    (src / "licence.md").write_text(f"# Licence\n\n```text\n{licence}\n```\n", encoding="utf-8")
    shutil.copy(ROOT / "CONTRIBUTING.md", src / "CONTRIBUTING.md")
    (src / "data").mkdir()
    shutil.copy(ROOT / "data" / "README.md", src / "data" / "README.md")
    toc = "\n".join(["", "```{toctree}", ":caption: Chapters", ":hidden:", "", *documents, "```",
                     "",
                     "```{toctree}", ":caption: Reference", ":hidden:", "", "glossary", "licence",
                     "CONTRIBUTING", "data/README", "```", ""])
    (src / "index.md").write_text(readme + toc, encoding="utf-8")
    return documents


def build(out: Path) -> float:
    """Stage and build; returns the seconds Sphinx took. Raises CalledProcessError on a warning."""
    stage(out / "src")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-c",
                    str(CONF_DIR),
                    str(out / "src"), str(out / "html")], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    args = parser.parse_args()
    seconds = build(args.out)
    print(f"book built in {seconds:.0f} s: {args.out / 'html' / 'index.html'}")


if __name__ == "__main__":
    main()
