"""What one top-level statement of a notebook does to the global namespace,
found statically (``ast`` and ``symtable``; nothing is executed).

For each statement:

- ``binds``: global names it (re)binds (assignment, import, ``def``, ``class``,
  ``for`` target, ``with ... as``, walrus, ``del``);
- ``kills``: the names it rebinds *unconditionally* (a plain assignment, an
  import, a definition, ``del``), so that earlier bindings no longer matter;
  a binding inside ``if``/``for``/``try``/``with`` or ``x += 1`` does not kill;
- ``eager``: global names read when the statement runs (right-hand sides,
  decorators, base classes, default values, a class body);
- ``deferred``: global names read later, when a function it defines is called
  (the free names of function and method bodies, and of lambdas);
- ``changes``: names whose object it changes without rebinding them
  (``N.attr = ...``, ``N[k] = ...``, ``del N.attr``, ``setattr(N, ...)``,
  ``N.method(...)`` as a statement, ``N.attr += 1``);
- ``imported``: names it binds by ``import``;
- ``star``: it is ``from module import *``.

Known limits (documented in the README): names bound only through
``globals()[...]``, ``exec``/``eval`` strings or ``global`` statements inside
functions are not seen here; the grader runs such statements in a second try
when a question meets a name no statement binds (its ``notebook.runtime``),
and :func:`nndl.notebook.check_saved` tells the student to bind the name
plainly.
"""

import ast
import symtable
from dataclasses import dataclass

from ..i18n import N_, say

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
COMPREHENSIONS = ("listcomp", "setcomp", "dictcomp", "genexpr")


def first_line(source, width=80):
    """How a message quotes code: its first non-blank line, stripped, cut at ``width``."""
    stripped = source.strip()
    return stripped.splitlines()[0][:width] if stripped else ""


@dataclass(frozen=True)
class Statement:
    index: int                 # position in the notebook's program
    cell: int                  # index of its cell among the code cells (0-based)
    line: int                  # its first line in the cell (1-based)
    source: str                # its text, as written (IPython syntax already transformed)
    binds: frozenset = frozenset()
    kills: frozenset = frozenset()
    eager: frozenset = frozenset()
    deferred: frozenset = frozenset()
    changes: frozenset = frozenset()
    imported: frozenset = frozenset()
    star: bool = False

    @property
    def first_line(self):
        return first_line(self.source)

    def describe(self):
        """How a message names it: ``code cell 5, `X = compute()```."""
        return say(N_("code cell %(cell)s, `%(first)s`"), cell=str(self.cell + 1),
                   first=self.first_line)

    def to_json(self):
        return {"index": self.index, "cell": self.cell, "source": self.source}


def _root_name(node):
    """``N`` for ``N``, ``N.a.b``, ``N[k].a``, ``N.f().x``; else None."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def _eager_nodes(node):
    """Every node of ``node`` that runs when the statement runs: function and
    lambda bodies are skipped (their decorators, defaults and annotations are
    not); class bodies are kept (they run at definition)."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if isinstance(current, FUNCTION_NODES):
            args = current.args
            todo += [d for d in args.defaults + args.kw_defaults if d is not None]
            if not isinstance(current, ast.Lambda):
                todo += current.decorator_list
            continue
        todo += ast.iter_child_nodes(current)


def _changed_names(node):
    """Names whose object the statement changes in place (see module doc)."""
    names = set()
    for sub in _eager_nodes(node):
        if isinstance(sub, (ast.Attribute, ast.Subscript)) and \
                isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(_root_name(sub.value))
        elif isinstance(sub, ast.AugAssign) and not isinstance(sub.target, ast.Name):
            names.add(_root_name(sub.target))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) \
                and sub.func.id in ("setattr", "delattr") and sub.args:
            names.add(_root_name(sub.args[0]))
        elif isinstance(sub, ast.Expr) and isinstance(sub.value, ast.Call) \
                and isinstance(sub.value.func, ast.Attribute):
            names.add(_root_name(sub.value.func.value))
    names.discard(None)
    return names


def _imported_names(node):
    names = set()
    for sub in _eager_nodes(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*"}
    return names


def _killed_names(node):
    """Names an unconditional top-level binding rebinds."""
    if isinstance(node, DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    targets = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    names = set()
    while targets:
        t = targets.pop()
        if isinstance(t, ast.Name):
            names.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            targets += list(t.elts)
        elif isinstance(t, ast.Starred):
            targets.append(t.value)
    return names


def _scopes(table, eager, deferred, in_function=False):
    """Collect the global names read in ``table`` and below: eager at module
    and class level and in comprehensions run there; deferred inside functions."""
    for sym in table.get_symbols():
        if table.get_type() == "module":
            if sym.is_referenced():
                eager.add(sym.get_name())
        elif sym.is_global() and (sym.is_referenced() or sym.is_declared_global()):
            (deferred if in_function else eager).add(sym.get_name())
    for child in table.get_children():
        deferred_child = in_function or (child.get_type() == "function"
                                         and child.get_name() not in COMPREHENSIONS)
        _scopes(child, eager, deferred, deferred_child)


def analyse(node, source, index, cell, line):
    """The :class:`Statement` of the top-level ``node`` whose text is ``source``.
    Raises SyntaxError for what only the compiler refuses (``return`` outside
    a function, say)."""
    compile(source, f"<cell {cell + 1}>", "exec", dont_inherit=True)
    table = symtable.symtable(source, f"<cell {cell + 1}>", "exec")
    binds = {s.get_name() for s in table.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    eager, deferred = set(), set()
    _scopes(table, eager, deferred)
    for sub in _eager_nodes(node):          # `x += 1` reads x (symtable says only "assigned")
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            eager.add(sub.target.id)
    star = isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
    return Statement(index=index, cell=cell, line=line, source=source,
                     binds=frozenset(binds), kills=frozenset(_killed_names(node)),
                     eager=frozenset(eager), deferred=frozenset(deferred),
                     changes=frozenset(_changed_names(node)),
                     imported=frozenset(_imported_names(node)), star=star)
