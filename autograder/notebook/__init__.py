"""A submitted notebook, read statically: its statements, IPython syntax and
the slice each graded class needs come from the course library's public
slicer (:mod:`nndl.notebook`, the one students' ``check_saved()`` uses too);
which file of a submission is graded (:mod:`.choose`) and the statements that
bind names at run time (:mod:`.runtime`) are the grader's. Nothing in this
package executes student code."""

from nndl.notebook import (MAX_CELL_SOURCE, MAX_NOTEBOOK_BYTES, MAX_STATEMENTS, MAX_TOTAL_CODE,
                           NotebookError, Program, Slice, class_sources, own_source, parse,
                           read_notebook, slice_for)

from .choose import choose_notebook, ignored, zip_notebooks
from .runtime import runtime_binders, runtime_note, with_runtime_bindings

__all__ = ["MAX_CELL_SOURCE", "MAX_NOTEBOOK_BYTES", "MAX_STATEMENTS", "MAX_TOTAL_CODE",
           "NotebookError", "Program", "Slice", "choose_notebook", "class_sources",
           "ignored", "own_source", "parse", "read_notebook", "runtime_binders", "runtime_note",
           "slice_for", "with_runtime_bindings", "zip_notebooks"]
