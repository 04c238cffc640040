"""IPython syntax in code cells, turned into Python the way IPython does it.

A cell may hold IPython magics and shell escapes (``%matplotlib inline``,
``%%time``, ``!pip install x``, ``files = !ls``, ``obj?``). IPython's own
transformer (``IPython.core.inputtransformer2``) rewrites them into calls of
``get_ipython()`` before Python parses the cell; the grader uses the same
transformer, so such a line is never a syntax error, and is never run (the
sandbox's ``get_ipython`` says so if a graded class needs its result).

Cell magics whose body IPython runs as Python in the notebook's namespace
(``%%time``, ``%%capture``, ``%%prun``) keep their body: a class defined in a
``%%time`` cell is graded. Other cell magics (``%%bash``, ``%%writefile``,
``%%html`` ...) hold no Python.

IPython is imported only for cells that may contain its syntax (it takes
~0.7 s to import); other cells are returned unchanged, as IPython would.
"""

import ast
import re

# Cell magics that run their body as Python in the user namespace.
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "prun"})

# Lines IPython could transform: escapes at the start of a line, after an
# assignment, a trailing '?', classic/IPython prompts, a first line indented.
_MAYBE_IPYTHON = re.compile(
    r"^[ \t]*[%!?]|^[ \t]*[\w.,\[\]() \t]+=[ \t]*[%!]|\?[ \t]*$|^[ \t]*(>>>|\.\.\.|In \[\d+\]:)",
    re.MULTILINE)

_transformer = None


def may_hold_ipython(source):
    """Whether ``source`` may contain IPython syntax (cheap test)."""
    return bool(_MAYBE_IPYTHON.search(source)) or source[:1] in (" ", "\t")


def _transform(source):
    global _transformer
    if _transformer is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _transformer = TransformerManager()
    return _transformer.transform_cell(source)


def _python_cell_magic(node):
    """The body of ``get_ipython().run_cell_magic(NAME, ARGS, BODY)`` when NAME
    runs its body as Python, else None."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "run_cell_magic"
            and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython" and len(call.args) == 3
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)):
        return None
    name, _, body = (a.value for a in call.args)
    return body if name in PYTHON_CELL_MAGICS else None


def to_python(source):
    """``source`` with IPython syntax transformed as IPython does it; the body
    of a ``%%time`` (``%%capture``, ``%%prun``) cell is kept as Python.
    Raises SyntaxError like ``ast.parse`` when the result is not Python."""
    if not may_hold_ipython(source):
        return source
    try:
        python = _transform(source)
    except Exception:  # noqa: BLE001 - IPython gives up on some broken cells
        return source
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return python
    if len(tree.body) == 1:
        body = _python_cell_magic(tree.body[0])
        if body is not None:
            return to_python(body)
    return python
