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
MAX_CELL_SOURCE = 200_000                # characters of code in one cell (the lab's are < 5 000)
MAX_STATEMENTS = 2_000                   # kept statements in a notebook (the lab has ~20)
MAX_TOTAL_CODE = 2_000_000               # characters of code parsed in all (the lab's ~30 000)
SKIPPED_MODULES = {"otter", "IPython", "google", "ipywidgets"}  # notebook-only helpers
GRADER_MODULES = ("autograder", "nndl.checks")  # notebook code may not import the grader
# Calls allowed on the right of a kept top-level assignment: cheap constructors that
# notebooks use for constants (anything else, e.g. a model or a training run, is dropped).
SAFE_CALLS = {
    "float", "int", "bool", "str", "tuple", "list", "dict", "set", "frozenset", "range",
    "np.random.default_rng", "numpy.random.default_rng", "np.random.RandomState",
    "numpy.random.RandomState", "random.Random", "np.float32", "np.float64", "np.array",
    "np.asarray", "numpy.array", "paddle.to_tensor", "functools.partial", "partial",
    "op.Logistic", "nndl.op.Logistic", "Logistic", "math.sqrt", "np.sqrt", "math.log",
    "np.log", "math.exp", "np.exp",
}
SAFE_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.BoolOp,
              ast.Compare, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice,
              ast.Lambda, ast.IfExp, ast.JoinedStr, ast.FormattedValue, ast.Starred,
              ast.keyword, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
              ast.expr_context, ast.arguments, ast.arg)


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message is for the student."""


@dataclass
class Statement:
    cell: int          # index of the code cell (0-based, among all cells)
    line: int          # line of the statement in the cell
    source: str
    names: frozenset = frozenset()   # top-level names it defines


@dataclass
class Extracted:
    statements: list = field(default_factory=list)
    problems: list = field(default_factory=list)      # messages for the student
    defined: set = field(default_factory=set)         # top-level names defined by kept code
    dropped: dict = field(default_factory=dict)       # name -> cell of a dropped assignment

    def to_json(self):
        return [{"cell": s.cell, "line": s.line, "source": s.source} for s in self.statements]


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def _is_constant(node):
    """An expression safe to evaluate when the notebook is loaded: literals, names,
    operators, lambdas, and calls of SAFE_CALLS only (``HALF = 1 / 2``,
    ``rng = np.random.default_rng(0)``; not ``model = MLP_3L(...)``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Lambda):
            continue
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, (ast.Pow, ast.LShift, ast.Mult)) \
                and not _small_power(sub):
            return False
        if isinstance(sub, ast.Call):
            if _dotted(sub.func) not in SAFE_CALLS:
                return False
        elif not isinstance(sub, SAFE_NODES):
            return False
    return True


def _needs_dropped(node, result):
    """An assignment whose value reads a name the grader dropped (``layers_size =
    [X_train.shape[1], 20, 3, 1]`` after ``X_train = load_moons()``) is dropped too."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
    return bool(used & (set(result.dropped) - result.defined))


def _small_power(node):
    """``a ** b``, ``a << b`` and ``a * b`` are kept only when they cannot blow
    up: a power or shift by a literal of at most 64 (``10 ** -8``), or a
    product that does not repeat a sequence (``2 * np.pi``, not ``[0] * 10**9``)."""
    def number(n):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            n = n.operand
        return isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) \
            and abs(n.value) <= 64
    if isinstance(node.op, ast.Mult):
        sequences = (ast.List, ast.Tuple, ast.Set, ast.ListComp, ast.JoinedStr)
        return not any(isinstance(side, sequences) or (isinstance(side, ast.Constant) and
                                                      isinstance(side.value, (str, bytes)))
                       for side in (node.left, node.right))
    return number(node.right)


def _grader_import(node):
    names = ([a.name for a in node.names] if isinstance(node, ast.Import)
             else [node.module or ""])
    return any(n == m or n.startswith(m + ".") for n in names for m in GRADER_MODULES)


def _keep(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Import):
        return not any(a.name.split(".")[0] in SKIPPED_MODULES for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.level == 0 and node.module is not None
                and node.module.split(".")[0] not in SKIPPED_MODULES)
    if isinstance(node, ast.Assign):
        return all(_plain_target(t) for t in node.targets) and _is_constant(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None \
            and _is_constant(node.value)
    return False


def _plain_target(target):
    """``x`` or ``a, b`` — not ``np.allclose`` or ``d[k]`` (monkeypatching)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(isinstance(t, ast.Name) for t in target.elts)
    return isinstance(target, ast.Name)


def _assigned(node):
    """Names bound by an assignment (``x = ``, ``a, b = ``; not ``np.x = ``)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = set()
    for t in targets:
        for sub in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def _names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return _assigned(node)
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
    except (RecursionError, MemoryError):
        raise NotebookError("the notebook's JSON is nested too deeply to be read") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError("the file is JSON but not a Jupyter notebook (no 'cells')")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(f"the notebook could not be read: {e}") from None


def _line_starts(source):
    """Offsets (in characters) of each line of ``source``, as ``ast`` counts lines
    (\n, \r\n and \r end a line); computed once per cell, so that cutting out
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


def extract(nb):
    """Kept top-level statements of every code cell of the notebook ``nb``."""
    result = Extracted()
    parsed = 0
    cells = nb.get("cells", [])
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        source = _strip_magics(str(source))
        parsed += len(source)
        if parsed > MAX_TOTAL_CODE:
            result.problems.append(f"the notebook has more than {MAX_TOTAL_CODE} characters of "
                                   f"code: code cells from cell {index + 1} on were not graded")
            return result
        if len(source) > MAX_CELL_SOURCE:
            result.problems.append(f"code cell {index + 1} has {len(source)} characters of "
                                   f"code (more than {MAX_CELL_SOURCE}); it was not graded")
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as e:
            line = getattr(e, "lineno", "?")
            msg = getattr(e, "msg", str(e))
            result.problems.append(f"code cell {index + 1} has a syntax error (line {line}: "
                                   f"{msg}); nothing in that cell was graded")
            continue
        except (RecursionError, MemoryError):
            result.problems.append(f"code cell {index + 1} is nested too deeply to be read; "
                                   "nothing in that cell was graded")
            continue
        starts = _line_starts(source)
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and _grader_import(node):
                result.problems.append(f"code cell {index + 1}: notebook code may not import "
                                       "the grader's modules; that import was ignored")
                continue
            if not _keep(node) or _needs_dropped(node, result):
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    for name in _assigned(node) - result.defined:
                        result.dropped.setdefault(name, index)
                continue
            if len(result.statements) >= MAX_STATEMENTS:
                result.problems.append(f"more than {MAX_STATEMENTS} top-level definitions: "
                                       "the rest of the notebook was not graded")
                return result
            try:
                segment = _segment(source, starts, node)
            except (IndexError, UnicodeError):
                segment = ast.unparse(node)
            result.statements.append(Statement(index, node.lineno, segment,
                                               frozenset(_names(node))))
            result.defined |= _names(node)
            for name in _names(node):
                result.dropped.pop(name, None)
    return result
