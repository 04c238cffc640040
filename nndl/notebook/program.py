"""A submitted notebook read as a program: every top-level statement of every
code cell, in notebook order, with what it binds, reads and changes
(:mod:`.statements`). Nothing here executes student code.

Each cell is first passed through IPython's transformer (:mod:`.magics`), so
magics and shell escapes never make a cell a syntax error. A cell that still
does not parse costs only that cell. Imports of the grader's own modules are
refused (a message says so). Sizes are capped so that reading stays linear
and bounded whatever the file holds.
"""

import ast
import json
import warnings
from dataclasses import dataclass, field

import nbformat

from ..i18n import N_, say
from . import magics
from .statements import analyse, first_line

MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024   # a notebook with huge saved outputs is still read
MAX_CELL_SOURCE = 200_000                # characters of code in one cell (the lab's are < 5 000)
MAX_STATEMENTS = 5_000                   # top-level statements in a notebook (the lab has ~60)
MAX_TOTAL_CODE = 2_000_000               # characters of code parsed in all (the lab's ~30 000)


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message is for the student."""


@dataclass
class Program:
    statements: list = field(default_factory=list)
    problems: list = field(default_factory=list)      # messages for the student

    def library_names(self):
        """Names bound only by imports anywhere in the notebook (``np``, ``op``,
        ``Op``): changing their objects is a patch of a library."""
        imported, other = set(), set()
        for st in self.statements:
            imported |= st.imported
            other |= st.binds - st.imported
        return imported - other

    def binders(self, name):
        """The statements that bind ``name``, in order."""
        return [st for st in self.statements if name in st.binds]


def read_notebook(path):
    """Load ``path`` with nbformat, or raise NotebookError saying why not."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise NotebookError(say(N_("cannot read the submission: %(error)s"),
                                error=e.strerror)) from None
    if size == 0:
        raise NotebookError(say(N_("the submitted file is empty")))
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(say(N_("the notebook is %(size)s MB, more than %(limit)s MB: clear "
                                   "its outputs and resubmit"), size=f"{size / 2**20:.0f}",
                                limit=str(MAX_NOTEBOOK_BYTES // 2**20)))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(say(N_("the file is not a Jupyter notebook (not UTF-8 text)"))) \
            from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(say(N_("the file is not a Jupyter notebook: invalid JSON at line "
                                   "%(line)s, column %(column)s (%(error)s)"),
                                line=str(e.lineno), column=str(e.colno), error=e.msg)) from None
    except (RecursionError, MemoryError):
        raise NotebookError(say(N_("the notebook's JSON is nested too deeply to be read"))) \
            from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError(say(N_("the file is JSON but not a Jupyter notebook (no 'cells')")))
    try:
        with warnings.catch_warnings():   # e.g. cells without ids: only the sources matter here
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(say(N_("the notebook could not be read: %(error)s"),
                                error=str(e))) from None


def _line_starts(source):
    """Offsets (in characters) of each line of ``source``, as ``ast`` counts lines
    (\\n, \\r\\n and \\r end a line); computed once per cell, so that cutting out
    every statement is linear in the cell's size."""
    starts, i, n = [0], 0, len(source)
    while i < n:
        c = source[i]
        if c == "\r" and i + 1 < n and source[i + 1] == "\n":
            i += 1
        if c in "\r\n":
            starts.append(i + 1)
        i += 1
    return starts


def _segment(source, starts, node):
    """The source text of a top-level ``node`` (columns are UTF-8 byte offsets)."""
    first = node.decorator_list[0] if getattr(node, "decorator_list", None) else node
    line, col = first.lineno, first.col_offset
    if first is not node:      # the '@' stands before the decorator expression
        line, col = first.lineno, 0
    end_line, end_col = node.end_lineno, node.end_col_offset
    text_first = source[starts[line - 1]: starts[line] if line < len(starts) else None]
    start = starts[line - 1] + len(text_first.encode()[:col].decode(errors="ignore"))
    text_last = source[starts[end_line - 1]: starts[end_line] if end_line < len(starts) else None]
    end = starts[end_line - 1] + len(text_last.encode()[:end_col].decode(errors="ignore"))
    return source[start:end]


def _grader_import(node, grader_modules):
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    names = ([a.name for a in node.names] if isinstance(node, ast.Import)
             else [node.module or ""])
    return any(n == m or n.startswith(m + ".") for n in names for m in grader_modules)


def _cell_source(cell):
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(s) for s in source)
    return str(source)


def _parse_cell(source, number, program):
    """``(python, tree)``: the cell as Python and its module AST, or
    ``(None, None)`` with a problem recorded."""
    try:
        python = magics.to_python(source)
        return python, ast.parse(python)
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", "?")
        msg = getattr(e, "msg", str(e))
        program.problems.append(say(N_("code cell %(cell)s (`%(first)s`) has a syntax error "
                                       "(line %(line)s: %(error)s); nothing in that cell was "
                                       "graded"), cell=str(number), first=first_line(source),
                                    line=str(line), error=str(msg)))
    except (RecursionError, MemoryError):
        program.problems.append(say(N_("code cell %(cell)s is nested too deeply to be read; "
                                       "nothing in that cell was graded"), cell=str(number)))
    return None, None


def parse(nb, grader_modules=()):
    """The :class:`Program` of the notebook ``nb``. ``grader_modules``: module
    prefixes that notebook code may not import."""
    program = Program()
    parsed = 0
    cells = nb.get("cells", [])
    code_cells = [c for c in (cells if isinstance(cells, list) else [])
                  if isinstance(c, dict) and c.get("cell_type") == "code"]
    for index, cell in enumerate(code_cells):     # messages count code cells only, from 1
        source = _cell_source(cell)
        parsed += len(source)
        if parsed > MAX_TOTAL_CODE:
            program.problems.append(say(N_("the notebook has more than %(limit)s characters "
                                           "of code: code cells from code cell %(cell)s on "
                                           "were not graded"), limit=str(MAX_TOTAL_CODE),
                                        cell=str(index + 1)))
            return program
        if len(source) > MAX_CELL_SOURCE:
            program.problems.append(say(N_("code cell %(cell)s has %(size)s characters of "
                                           "code (more than %(limit)s); it was not graded"),
                                        cell=str(index + 1), size=str(len(source)),
                                        limit=str(MAX_CELL_SOURCE)))
            continue
        python, tree = _parse_cell(source, index + 1, program)
        if tree is None:
            continue
        starts = _line_starts(python)
        for node in tree.body:
            if _grader_import(node, grader_modules):
                program.problems.append(say(N_("code cell %(cell)s: notebook code may not "
                                               "import the grader's modules; that import was "
                                               "ignored"), cell=str(index + 1)))
                continue
            if len(program.statements) >= MAX_STATEMENTS:
                program.problems.append(say(N_("more than %(limit)s top-level statements: the "
                                               "rest of the notebook was not graded"),
                                            limit=str(MAX_STATEMENTS)))
                return program
            try:
                segment = _segment(python, starts, node)
            except (IndexError, UnicodeError):
                segment = ast.unparse(node)
            try:
                st = analyse(node, segment, len(program.statements), index, node.lineno)
            except (SyntaxError, ValueError) as e:
                program.problems.append(say(N_("code cell %(cell)s, line %(line)s: %(error)s; "
                                               "that statement was not graded"),
                                            cell=str(index + 1), line=str(node.lineno),
                                            error=str(getattr(e, "msg", e))))
                continue
            except (RecursionError, MemoryError):
                program.problems.append(say(N_("code cell %(cell)s, line %(line)s is nested too "
                                               "deeply to be read; it was not graded"),
                                            cell=str(index + 1), line=str(node.lineno)))
                continue
            program.statements.append(st)
    return program
