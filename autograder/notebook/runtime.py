"""Statements that may bind names at run time, where the slicer cannot see it.

The slicer (:mod:`nndl.notebook.slicing`) follows names statically. A notebook
can also bind a global name in ways no static reading sees:

- dynamic execution: ``exec(...)``, ``eval(...)``, ``compile(...)``;
- writes to the module's namespace: ``globals()[k] = v``,
  ``globals().update(...)`` (``setdefault``, ``__setitem__``; ``vars()`` and
  ``locals()`` are the globals at the top level), ``setattr(sys.modules[__name__],
  k, v)``, ``sys.modules[__name__].k = v``;
- calling a function of the notebook that does one of these or declares a name
  ``global`` (a decorator that registers a class, a class factory), directly or
  through another function of the notebook.

When a question's worker reports a name as undefined (``NameError``) and no
statement binds it statically, :func:`with_runtime_bindings` widens the
question's slice with every such statement of the notebook, wherever it is,
and what it needs (its own static dependencies, and the names read by the
code of a constant string it executes), keeping the slicer's exclusions: no
statement that binds, changes or eagerly reads another graded class, or that
names one (``globals()['Dropout'] = ...``), and no change of a name bound only
by imports (a patch of a library, ``builtins`` included). The grader then runs
the question once more with that slice (``autograder.engine``).

Known limits: a name built from strings the code computes
(``globals()['Drop' + 'out']``) is not recognized as another graded class;
writes reached through aliases (``g = globals(); g['X'] = 1``) are found only
when the alias statement itself is a binder (``g = globals()`` is not).
"""

import ast
from dataclasses import replace

from nndl.notebook import Program, Slice, slice_for
from nndl.notebook.statements import analyse

from ..i18n import N_, nsay, say

DYNAMIC_CALLS = frozenset({"exec", "eval", "compile"})
NAMESPACE_CALLS = frozenset({"globals", "vars", "locals"})   # at the top level: the globals
NAMESPACE_WRITES = frozenset({"update", "setdefault", "__setitem__"})
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
MAX_BINDERS_NAMED = 3    # binders a student's note quotes (the staff log has them all)


def _is_namespace(node):
    """``globals()``, ``vars()``, ``locals()``, ``sys.modules[...]``."""
    if isinstance(node, ast.Call):
        return (isinstance(node.func, ast.Name) and node.func.id in NAMESPACE_CALLS
                and not node.args and not node.keywords)
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "modules" and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "sys")


def _writes_names(node):
    """Whether the single node ``node`` may bind a global name at run time."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in DYNAMIC_CALLS or (func.id == "setattr" and bool(node.args)
                                                and _is_namespace(node.args[0]))
        return (isinstance(func, ast.Attribute) and func.attr in NAMESPACE_WRITES
                and _is_namespace(func.value))
    if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
        return _is_namespace(node.value)
    return isinstance(node, ast.Global)


def _split(node):
    """(eager nodes, deferred nodes) of a top-level statement: the nodes that run
    when it runs, and those of the function bodies it defines (run when called)."""
    eager, deferred, todo = [], [], [(node, False)]
    while todo:
        current, in_function = todo.pop()
        (deferred if in_function else eager).append(current)
        if isinstance(current, FUNCTION_NODES) and not in_function:
            args = current.args
            todo += [(d, False) for d in args.defaults + args.kw_defaults if d is not None]
            todo += [(d, False) for d in getattr(current, "decorator_list", [])]
            body = current.body if isinstance(current.body, list) else [current.body]
            todo += [(b, True) for b in body]
            continue
        todo += [(child, in_function) for child in ast.iter_child_nodes(current)]
    return eager, deferred


def _executed_code(nodes):
    """The statements of the constant strings passed to exec/eval/compile in
    ``nodes``, analysed like notebook statements (what they bind, read, change)."""
    found = []
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in DYNAMIC_CALLS and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        code = node.args[0].value
        try:
            tree = ast.parse(code)
            found += [analyse(sub, ast.get_source_segment(code, sub) or ast.unparse(sub), 0, 0, 1)
                      for sub in tree.body]
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue              # it fails when run as well
    return found


def _mentions(node, names):
    """Whether an identifier or a string constant of ``node`` contains one of ``names``."""
    for sub in ast.walk(node):
        text = (sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute)
                else sub.name if isinstance(sub, (ast.ClassDef, ast.FunctionDef))
                else sub.value if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                else None)
        if text and any(name in text for name in names):
            return True
    return False


def _parsed(st):
    try:
        return ast.parse(st.source).body[0]
    except (SyntaxError, IndexError, RecursionError, MemoryError):
        return None


def _dynamic_functions(program, split):
    """Names of the notebook's functions (and classes) whose code, when called,
    may bind names: it writes them itself, or calls one that does."""
    dynamic = set()
    for st in program.statements:
        if st.index in split and any(_writes_names(n) for n in split[st.index][1]):
            dynamic |= st.binds
    while True:
        more = {name for st in program.statements if st.deferred & dynamic
                for name in st.binds} - dynamic
        if not more:
            return dynamic
        dynamic |= more


def _leaves_the_slice(st, eager, executed, library, others, target, trees):
    """Whether the binder ``st`` (its ``eager`` nodes, the statements of the code
    it executes) breaks one of the slicer's exclusions: it binds, changes or
    eagerly reads another graded class, names one without naming ``target``
    (``trees``: its own, then those of the functions it calls), or changes a
    library."""
    touched = set().union(st.binds, st.changes, st.eager,
                          *(s.binds | s.changes | s.eager for s in executed))
    patched = set().union(st.changes, *(s.changes for s in executed)) & library
    if any(_is_namespace(n) for n in eager):
        patched.discard("sys")             # sys.modules[__name__]: the notebook itself
    names_others = any(_mentions(tree, others) for tree in trees)
    return bool(touched & others or patched) or (names_others
                                                  and not _mentions(trees[0], {target}))


def _with_executed_reads(st, executed):
    """``st`` reading, besides its own names, those its executed code reads
    before binding them (``eager``) or when its functions run (``deferred``)."""
    reads, bound = set(), set(st.binds)
    for s in executed:
        reads |= s.eager - bound
        bound |= s.binds
    later = set().union(*(s.deferred for s in executed)) - bound
    return replace(st, eager=st.eager | reads, deferred=st.deferred | later)


def runtime_binders(program, target, others=frozenset(), naming=None):
    """The statements of ``program`` that may bind names at run time and may run
    in ``target``'s slice, each with the reads of the code it executes added to
    its own, in notebook order; with ``naming``, only those that (or the
    functions they call) name it: a class is bound under a name written somewhere."""
    others = frozenset(others) - {target}
    library = program.library_names()
    trees = {st.index: _parsed(st) for st in program.statements}
    split = {i: _split(tree) for i, tree in trees.items() if tree is not None}
    dynamic = _dynamic_functions(program, split)
    chosen = []
    for st in program.statements:
        if st.index not in split:
            continue
        eager = split[st.index][0]
        if not (any(_writes_names(n) for n in eager) or st.eager & dynamic):
            continue
        called = [trees[d.index] for name in st.eager & dynamic for d in program.binders(name)]
        texts = [t for t in [trees[st.index], *called] if t is not None]
        executed = _executed_code(eager)
        if _leaves_the_slice(st, eager, executed, library, others, target, texts):
            continue
        if naming is None or any(_mentions(t, {naming}) for t in texts):
            chosen.append(_with_executed_reads(st, executed))
    return chosen


def with_runtime_bindings(program, sl, missing, others=frozenset()):
    """``sl`` widened with the statements that may bind names at run time and
    what they need (see the module's doc), when one of the names ``missing``
    (reported undefined when the question ran) has no static binder; else None
    (nothing to add: the question's result stands). When the missing name is
    the graded class itself, only binders that name it count."""
    others = frozenset(others) - {sl.target}
    unseen = {name for name in missing if not program.binders(name) and name not in others}
    if not unseen:
        return None
    naming = sl.target if unseen == {sl.target} else None
    binders = [st for st in runtime_binders(program, sl.target, others, naming)
               if st.index not in set(sl.indices)]
    if not binders:
        return None
    widened = {st.index: st for st in binders}
    statements = [widened.get(st.index, st) for st in program.statements]
    wide = slice_for(Program(statements, list(program.problems)), sl.target, others,
                     keep=frozenset(widened))
    return Slice(sl.target, wide.statements, defined=True, runtime=binders)


def runtime_note(question, names, binders):
    """The student's note: ``question`` was graded with the statements
    ``binders`` because no plain statement defines ``names``, and what to do."""
    shown = say(N_("; ")).join(st.describe() for st in binders[:MAX_BINDERS_NAMED])
    if len(binders) > MAX_BINDERS_NAMED:
        shown += nsay("; and %(n)s more", "; and %(n)s more", len(binders) - MAX_BINDERS_NAMED)
    quoted = ", ".join(f"`{n}`" for n in names)
    return say(N_("%(question)s was graded with the statements that bind names at run time "
                  "(%(shown)s), because no plain statement of the notebook defines %(names)s: "
                  "define %(names)s with a plain assignment, def or class at the top level of "
                  "a code cell so that the grader sees it."), question=question, shown=shown,
               names=quoted)
