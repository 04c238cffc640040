"""A notebook read statically, the way the official grader reads it: its
statements (:mod:`.program`), IPython syntax (:mod:`.magics`), and the slice
each graded class needs (:mod:`.slicing`). Nothing in this package executes
notebook code.

It is public: the official grader imports it from here, so that there is one
slicer, and :func:`check_saved` uses it in the student's notebook to say,
before submitting, what the grader will not see (:mod:`.saved`).
"""

from .program import (MAX_CELL_SOURCE, MAX_NOTEBOOK_BYTES, MAX_STATEMENTS, MAX_TOTAL_CODE,
                      NotebookError, Program, parse, read_notebook)
from .saved import check_saved
from .slicing import Slice, class_sources, own_source, slice_for

__all__ = ["MAX_CELL_SOURCE", "MAX_NOTEBOOK_BYTES", "MAX_STATEMENTS", "MAX_TOTAL_CODE",
           "NotebookError", "Program", "Slice", "check_saved", "class_sources", "own_source",
           "parse", "read_notebook", "slice_for"]
