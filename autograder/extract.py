"""Turn a submitted notebook into the definitions the grader needs.

Only top-level **imports, function and class definitions and constant
assignments** of code cells are kept; every other statement (training loops,
plots, prints, ``paddle.seed``, ``grader.check``) is dropped. That is why
grading time does not depend on the notebook's experiment cells, and why a
crash in one of them does not matter. Each kept statement is executed on its
own in the sandbox, so one failing statement (say, an import of a package the
grader lacks) does not take the rest of its cell down.

This module only *parses* (``ast``); it never executes student code.
"""

import ast
import json
from dataclasses import dataclass, field

import nbformat

MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024   # a notebook with huge saved outputs is still read
SKIPPED_MODULES = {"otter", "IPython", "google", "ipywidgets"}  # notebook-only helpers


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message is for the student."""


@dataclass
class Statement:
    cell: int          # index of the code cell (0-based, among all cells)
    line: int          # line of the statement in the cell
    source: str


@dataclass
class Extracted:
    statements: list = field(default_factory=list)
    problems: list = field(default_factory=list)      # messages for the student
    defined: set = field(default_factory=set)         # top-level names defined by kept code

    def to_json(self):
        return [{"cell": s.cell, "line": s.line, "source": s.source} for s in self.statements]


def _is_constant(node):
    """A literal, a lambda, or a dotted name (an alias such as ``op = nndl.op``)."""
    if isinstance(node, (ast.Lambda, ast.Name, ast.Attribute)):
        return True
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _keep(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Import):
        return not any(a.name.split(".")[0] in SKIPPED_MODULES for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.level == 0 and node.module is not None
                and node.module.split(".")[0] not in SKIPPED_MODULES)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _is_constant(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None \
            and _is_constant(node.value)
    return False


def _names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets}
    if isinstance(node, ast.AnnAssign):
        return {node.target.id}
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def _strip_magics(source):
    """Comment out IPython magics and shell escapes so the cell parses."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("# " + line if stripped.startswith(("%", "!", "?")) else line)
    return "\n".join(lines)


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
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError("the file is JSON but not a Jupyter notebook (no 'cells')")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(f"the notebook could not be read: {e}") from None


def extract(nb):
    """Kept top-level statements of every code cell of the notebook ``nb``."""
    result = Extracted()
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        source = _strip_magics(str(source))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as e:
            line = getattr(e, "lineno", "?")
            msg = getattr(e, "msg", str(e))
            result.problems.append(f"code cell {index + 1} has a syntax error (line {line}: "
                                   f"{msg}); nothing in that cell was graded")
            continue
        for node in tree.body:
            if _keep(node):
                segment = ast.get_source_segment(source, node, padded=True)
                if segment is None:
                    segment = ast.unparse(node)
                # re-attach decorators, which get_source_segment leaves out
                decorators = getattr(node, "decorator_list", [])
                if decorators:
                    segment = ast.unparse(node)
                result.statements.append(Statement(index, node.lineno, segment))
                result.defined |= _names(node)
    return result
