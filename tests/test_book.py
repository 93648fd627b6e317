"""The HTML edition (scripts/build_book.py): its staging rules, and one offline build checked page by page.

The build runs Sphinx with -W, so any warning (a broken internal link, a missing figure, a bad
cross-reference) fails the ``book`` fixture and every test that uses it.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import build_book  # noqa: E402

BOOK = ROOT / "build" / "book"
CHAPTERS = build_book.chapters((ROOT / "README.md").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- staging rules

TARGETS = {"04": "04_activations.ipynb", "07": "07_seq2seq_attention.ipynb", "09a": "09a_elmo.ipynb",
           "09b": "09b_bert.ipynb"}


def test_chapter_mentions_become_links_outside_code_and_existing_links():
    text = ("As chapter 04 showed (see [chapter 07](07_seq2seq_attention.ipynb)), `chapter 07` in code stays, "
            "Chapter 09 means its first part, chapter 09b its second, chapter 13 does not exist, "
            "and this page's own chapter 07 stays text.")
    linked = build_book.link_chapter_mentions(text, TARGETS, here="07_seq2seq_attention.ipynb")
    assert "[chapter 04](04_activations.ipynb) showed" in linked
    assert linked.count("[chapter 07](07_seq2seq_attention.ipynb)") == 1     # the existing link, untouched
    assert "`chapter 07`" in linked and "own chapter 07 stays" in linked
    assert "[Chapter 09](09a_elmo.ipynb)" in linked and "[chapter 09b](09b_bert.ipynb)" in linked
    assert "chapter 13 does" in linked


def test_alt_text_is_the_first_sentence_of_the_next_markdown_cell():
    assert build_book.first_sentence("**Left:** the path zig-zags. Right: it does not.") == "Left: the path zig-zags."
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output("display_data", {"image/png": "iVBOR"})]),
        nbformat.v4.new_markdown_cell("The ellipses are long: see [chapter 05](x.ipynb). More text."),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", text="1\n")]),
    ])
    assert build_book.add_figure_alt_text(nb) == 1
    assert nb.cells[0].metadata["mystnb"]["image"]["alt"] == "The ellipses are long: see chapter 05."
    assert "mystnb" not in nb.cells[2].metadata


def test_glossary_rows_are_read_from_every_chapter():
    for number, path in CHAPTERS:
        rows = build_book.glossary_rows(nbformat.read(ROOT / path, as_version=4))
        assert len(rows) >= 5, f"chapter {number} has no glossary table"
        assert all(english and chinese and meaning for english, chinese, meaning in rows)


def test_readme_table_lists_every_notebook_once():
    assert sorted(path for _, path in CHAPTERS) == sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))


# --------------------------------------------------------------------------- one build

@pytest.fixture(scope="session")
def book() -> Path:
    build_book.build(BOOK)
    return BOOK / "html"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.scripts, self.images = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append((attrs.get("class") or "", attrs["href"]))
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "img":
            self.images.append(attrs)


def page(book: Path, name: str) -> _Page:
    parsed = _Page()
    parsed.feed((book / name).read_text(encoding="utf-8"))
    return parsed


def chapter_page(path: str) -> str:
    return path.replace(".ipynb", ".html")


def test_every_chapter_is_built_in_the_readme_order_with_previous_and_next(book):
    pages = ["index.html"] + [chapter_page(p) for _, p in CHAPTERS] + ["glossary.html"]
    for before, here, after in zip(pages, pages[1:], pages[2:]):
        links = dict(page(book, here).links)
        base = (book / here).parent
        assert (base / links["left-prev"]).resolve() == (book / before).resolve(), here
        assert (base / links["right-next"]).resolve() == (book / after).resolve(), here


def test_chapters_have_launch_and_source_buttons(book):
    for _, path in CHAPTERS:
        hrefs = [href for _, href in page(book, chapter_page(path)).links]
        assert f"https://mybinder.org/v2/gh/nlpcourse/nlpcourse/main?urlpath=lab/tree/{path}" in hrefs
        assert any(h.startswith(f"https://github.com/nlpcourse/nlpcourse/blob/main/{path}") for h in hrefs)


def test_figures_are_embedded_with_alt_text(book):
    for _, path in CHAPTERS:
        figures = [img for img in page(book, chapter_page(path)).images if "_images/" in img.get("src", "")]
        assert figures, f"{path}: no figure"
        for img in figures:
            assert (book / "notebooks" / img["src"]).resolve().exists(), img["src"]
        with_alt = [img for img in figures if len(img.get("alt", "")) > 20]
        assert len(with_alt) >= 0.8 * len(figures), f"{path}: {len(with_alt)} of {len(figures)} figures have alt text"


def test_math_renders_from_the_book_itself_not_a_cdn(book):
    scripts = page(book, chapter_page(dict(CHAPTERS)["05"])).scripts
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax and not any(s.startswith("http") for s in mathjax), mathjax
    assert (book / "notebooks" / mathjax[0].split("?")[0]).resolve().exists()
    # the only scripts from outside are the widget manager's (the static figures carry the page)
    outside = {s for _, p in CHAPTERS for s in page(book, chapter_page(p)).scripts if s.startswith("http")}
    assert all("jupyter-widgets" in s or "require.js" in s for s in outside), outside


def test_chapter_mentions_link_to_the_chapter(book):
    hrefs = [href for _, href in page(book, chapter_page(dict(CHAPTERS)["05"])).links]
    assert "04_activations.html" in hrefs and "11_how_networks_learn.html" in hrefs


def test_glossary_page_gathers_every_chapter_with_links(book):
    html = (book / "glossary.html").read_text(encoding="utf-8")
    for number, path in CHAPTERS:
        assert re.search(rf'href="{re.escape(chapter_page(path))}[^"]*"[^>]*>\s*(<[^>]+>\s*)*{number}<', html), number
    assert "自注意力" in html and "self-attention" in html


def test_licence_contributing_and_data_pages_exist(book):
    for name in ("licence.html", "CONTRIBUTING.html", "data/README.html", "search.html", "searchindex.js"):
        assert (book / name).exists(), name
    assert "MIT License" in (book / "licence.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- in a real browser

@pytest.mark.browser
def test_browser_reads_the_book_offline_next_through_every_chapter_and_searches(book):
    """Chromium opens the built book from disk (file://, no server, no network), follows "next"
    from the front page through every chapter, goes back once with "previous", and finds a
    glossary term with the book's own search; screenshots go to build/screenshots/book_*.png."""
    from playwright.sync_api import sync_playwright

    from browser_support import SCREENSHOTS, launch_browser, require_chromium

    require_chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto((book / "index.html").as_uri())
            assert "from scratch" in page.title()
            page.screenshot(path=str(SCREENSHOTS / "book_index.png"))
            for number, path in CHAPTERS:
                page.click("a.right-next")
                page.wait_for_load_state()
                assert page.url.endswith(chapter_page(path)), (number, page.url)
                heading = page.locator("article h1").first.inner_text()
                assert heading.startswith(number), heading
                if number == "08":
                    page.screenshot(path=str(SCREENSHOTS / "book_08_transformer.png"))
            page.click("a.left-prev")
            page.wait_for_load_state()
            assert page.url.endswith(chapter_page(CHAPTERS[-2][1]))
            # MathJax from the book's own files typesets the formulas (chapter 05 has $...$ math)
            page.goto((book / chapter_page(dict(CHAPTERS)["05"])).as_uri())
            page.wait_for_selector("mjx-container", timeout=30_000)
            page.goto((book / "search.html").as_uri() + "?q=self-attention")
            hits = page.locator("#search-results ul.search li a")
            hits.first.wait_for(timeout=30_000)
            targets = [hits.nth(i).get_attribute("href") for i in range(hits.count())]
            assert any("08_transformer" in t for t in targets), targets
            page.screenshot(path=str(SCREENSHOTS / "book_search.png"))
        finally:
            browser.close()
