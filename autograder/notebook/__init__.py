"""A submitted notebook, read statically: its statements (:mod:`.program`),
IPython syntax (:mod:`.magics`), and the slice each graded class needs
(:mod:`.slicing`). Nothing in this package executes student code."""

from .choose import choose_notebook, ignored, zip_notebooks
from .program import (MAX_CELL_SOURCE, MAX_NOTEBOOK_BYTES, MAX_STATEMENTS, MAX_TOTAL_CODE,
                      NotebookError, Program, parse, read_notebook)
from .slicing import Slice, class_sources, own_source, slice_for

__all__ = ["MAX_CELL_SOURCE", "MAX_NOTEBOOK_BYTES", "MAX_STATEMENTS", "MAX_TOTAL_CODE",
           "NotebookError", "Program", "Slice", "choose_notebook", "class_sources",
           "ignored", "own_source", "parse", "read_notebook", "slice_for", "zip_notebooks"]
