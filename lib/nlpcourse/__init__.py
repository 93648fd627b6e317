"""nlpcourse: the shared, tested code that the course notebooks import.

Each module follows one idea of the course (see COURSE.md's module map); model and data
modules never import matplotlib or ipywidgets, so the library imports headless.
"""

__version__ = "0.1.0"
