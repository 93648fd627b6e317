"""Sphinx configuration of the course book (scripts/build_book.py stages the sources and runs it).

Offline by design: notebooks are rendered with their committed outputs (never executed), MathJax
comes from the sphinx-mathjax-offline package instead of a CDN, and the theme ships its assets.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]

project = "Deep learning for language, from scratch"
author = "The nlpcourse authors"
copyright = "2026, The nlpcourse authors (code MIT, text CC BY 4.0)"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# notebooks: the committed outputs, as they are
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# the README is the front page and names the notebooks by their repository paths; chapters start
# with a '# NN · Title' heading and a few markdown cells use '###' under '#' for a side note
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_title = project
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": _REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",                 # the staged tree mirrors the repository (notebooks/...)
    "use_repository_button": True,
    "use_source_button": True,          # each chapter links to its notebook's source
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_navbar_depth": 1,
    "home_page_in_toc": True,
}
