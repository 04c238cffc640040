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
        raise NotebookError(f"cannot read the submission: {e.strerror}") from None
    if size == 0:
        raise NotebookError("the submitted file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the notebook is {size / 2**20:.0f} MB, more than "
                            f"{MAX_NOTEBOOK_BYTES // 2**20} MB: clear its outputs and resubmit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError("the file is not a Jupyter notebook (not UTF-8 text)") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(f"the file is not a Jupyter notebook: invalid JSON at line "
                            f"{e.lineno}, column {e.colno} ({e.msg})") from None
    except (RecursionError, MemoryError):
        raise NotebookError("the notebook's JSON is nested too deeply to be read") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError("the file is JSON but not a Jupyter notebook (no 'cells')")
    try:
        with warnings.catch_warnings():   # e.g. cells without ids: only the sources matter here
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(f"the notebook could not be read: {e}") from None


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
        program.problems.append(f"code cell {number} (`{first_line(source)}`) has a syntax "
                                f"error (line {line}: {msg}); nothing in that cell was graded")
    except (RecursionError, MemoryError):
        program.problems.append(f"code cell {number} is nested too deeply to be read; "
                                "nothing in that cell was graded")
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
            program.problems.append(f"the notebook has more than {MAX_TOTAL_CODE} characters "
                                    f"of code: code cells from code cell {index + 1} on were "
                                    "not graded")
            return program
        if len(source) > MAX_CELL_SOURCE:
            program.problems.append(f"code cell {index + 1} has {len(source)} characters of "
                                    f"code (more than {MAX_CELL_SOURCE}); it was not graded")
            continue
        python, tree = _parse_cell(source, index + 1, program)
        if tree is None:
            continue
        starts = _line_starts(python)
        for node in tree.body:
            if _grader_import(node, grader_modules):
                program.problems.append(f"code cell {index + 1}: notebook code may not import "
                                        "the grader's modules; that import was ignored")
                continue
            if len(program.statements) >= MAX_STATEMENTS:
                program.problems.append(f"more than {MAX_STATEMENTS} top-level statements: "
                                        "the rest of the notebook was not graded")
                return program
            try:
                segment = _segment(python, starts, node)
            except (IndexError, UnicodeError):
                segment = ast.unparse(node)
            try:
                st = analyse(node, segment, len(program.statements), index, node.lineno)
            except (SyntaxError, ValueError) as e:
                program.problems.append(f"code cell {index + 1}, line {node.lineno}: "
                                        f"{getattr(e, 'msg', e)}; that statement was not graded")
                continue
            except (RecursionError, MemoryError):
                program.problems.append(f"code cell {index + 1}, line {node.lineno} is nested "
                                        "too deeply to be read; it was not graded")
                continue
            program.statements.append(st)
    return program
