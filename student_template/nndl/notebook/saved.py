"""``check_saved()``: before submitting, compare the notebook saved on disk with
the kernel that ran the self-checks.

The grader grades the saved ``.ipynb`` file, not the kernel: it reads each
graded class's slice of the file (:mod:`.slicing`, the same code it uses) and
runs only that. A self-check that passes in the kernel can therefore disagree
with the grade when the kernel holds something the file does not. For every
question this says, in one sentence each, when:

- the kernel has the graded class, or a name the class uses, but no plain
  statement of the saved file defines it (a cell never saved, a deleted cell,
  a name made by ``exec`` or ``globals()[...]``);
- the class the kernel ran differs from the saved file's (an edit not saved,
  or a cell edited after it was run);
- a cell that defines what the class needs ended with an error when it was
  last run (its saved output holds the error);
- the saved file defines the class but the kernel never ran it.

Nothing here runs notebook code: the file is read statically, the kernel's
objects are only looked at (their names, and the source of the cells that
defined them, from ``linecache`` or IPython's input history).
"""

import ast
import builtins
import linecache
import os
import sys
from pathlib import Path

from ..i18n import N_, say
from . import magics
from .program import NotebookError, parse, read_notebook
from .slicing import slice_for

PUBLIC_CHECKS = "nndl.checks"       # notebook code that imports it is not graded
# Names the kernel itself makes (IPython, Jupyter): never the student's.
KERNEL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open", "display"})


def check_saved(path=None, namespace=None):
    """Print, per question, what the grader will not see in the notebook saved
    at ``path`` that this kernel has; or one line saying that all is well.
    ``path``: the ``.ipynb`` file (default: the notebook this kernel runs);
    ``namespace``: the kernel's variables (default: the notebook's globals)."""
    namespace = _kernel_namespace() if namespace is None else namespace
    try:
        found = Path(path) if path is not None else notebook_path(namespace)
    except LookupError as e:
        print(say(N_("check_saved: %(error)s"), error=str(e)))
        return
    try:
        warnings = saved_problems(found, namespace)
    except NotebookError as e:
        print(say(N_("check_saved: %(name)s could not be read: %(error)s"), name=found.name,
                  error=str(e)))
        return
    if warnings:
        print(say(N_("check_saved: the grader grades the saved file %(name)s, and it will not "
                     "see what this kernel has:"), name=found.name))
        print("\n".join(f"- {w}" for w in warnings))
    else:
        print(say(N_("check_saved: the saved file %(name)s holds what this kernel ran for "
                     "every graded class."), name=found.name))


def saved_problems(path, namespace):
    """The warnings of :func:`check_saved` for the notebook at ``path`` and the
    kernel's ``namespace``, as a list of sentences (empty when all is well)."""
    from ..checks import questions

    nb = read_notebook(Path(path))
    program = parse(nb, (PUBLIC_CHECKS,))
    graded = {q.graded_class for q in questions()}
    outputs = _error_outputs(nb)
    warnings = []
    for question in questions():
        sl = slice_for(program, question.graded_class, graded)
        warnings += [f"{question.id}: {w}" for w in
                     _class_problems(question.graded_class, sl, program, namespace, graded)
                     + _failed_cells(sl, outputs)]
    return warnings


def notebook_path(namespace):
    """The ``.ipynb`` file of the kernel that runs this: VS Code's
    ``__vsc_ipynb_file__``, Jupyter's ``JPY_SESSION_NAME``, else the only
    notebook of the working folder (or the one most recently saved). Raises
    LookupError saying what to pass when there is none."""
    for candidate in (namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if not (candidate and str(candidate).endswith(".ipynb")):
            continue
        for path in (Path(candidate), Path.cwd() / Path(candidate).name):  # may be relative
            if path.is_file():                                              # to the server
                return path
    here = sorted(Path.cwd().glob("*.ipynb"), key=lambda p: p.stat().st_mtime)
    if not here:
        raise LookupError(say(N_("no .ipynb file in %(folder)s: pass the notebook's path, "
                                 "check_saved('regularization.ipynb')"), folder=str(Path.cwd())))
    return here[-1]


def _kernel_namespace():
    """The notebook's globals: IPython's user namespace, else the caller's globals."""
    shell = getattr(builtins, "get_ipython", lambda: None)()
    if shell is not None:
        return shell.user_ns
    frame = sys._getframe(2)            # check_saved's caller
    return frame.f_globals


def _class_problems(cls, sl, program, namespace, graded):
    kernel_class = namespace.get(cls)
    if not sl.defined:
        if isinstance(kernel_class, type):
            return [say(N_("class %(cls)s is defined in this kernel, but no `class %(cls)s` "
                           "statement at the top level of a code cell of the saved file "
                           "defines it: save the notebook; if the class is made by exec or "
                           "globals(), define it with a plain class statement."), cls=cls)]
        return []
    if kernel_class is None:
        return [say(N_("the saved file defines class %(cls)s, but this kernel never ran it: run "
                       "the notebook from the top, so that its self-check tests what the grader "
                       "grades."), cls=cls)]
    problems = []
    kernel_source = class_source(kernel_class, namespace)
    saved = [st for st in sl.statements if cls in st.kills]
    saved_source = _class_in(saved[-1].source, cls) if saved else None
    if kernel_source and saved_source and not _same_code(kernel_source, saved_source):
        problems.append(say(N_("class %(cls)s in the saved file (%(statement)s) differs from "
                               "the one this kernel ran: save the notebook if you edited and "
                               "ran that cell, or run the cell again if you edited it "
                               "afterwards; the grader grades the saved file."), cls=cls,
                            statement=saved[-1].describe()))
    unseen = sorted(name for name in _names_read(sl) - graded
                    if not program.binders(name) and name in namespace
                    and not _kernel_made(name, namespace))
    if unseen:
        names = ", ".join(f"`{n}`" for n in unseen)
        problems.append(say(N_("class %(cls)s uses %(names)s, which this kernel has but no "
                               "plain statement of the saved file defines (a cell not saved or "
                               "deleted, or a name made by exec or globals()): define it with a "
                               "plain assignment, def or class at the top level of a code cell, "
                               "and save."), cls=cls, names=names))
    return problems


def _failed_cells(sl, outputs):
    """Cells holding statements of the slice whose saved output is an error."""
    problems = []
    for cell in sorted({st.cell for st in sl.statements if st.cell in outputs}):
        first = next(st for st in sl.statements if st.cell == cell)
        problems.append(say(N_("code cell %(cell)s (`%(first)s`), which %(cls)s needs, ended "
                               "with %(error)s when it was last run, so what follows the error "
                               "in that cell did not run in this kernel: fix it, run the cell "
                               "again and save."), cell=str(cell + 1), first=first.first_line,
                            cls=sl.target, error=outputs[cell]))
    return problems


def _error_outputs(nb):
    """{code cell index: "ErrorName: message"} of the cells whose saved output is an error."""
    errors = {}
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for index, cell in enumerate(code_cells):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                errors[index] = f"{out.get('ename', 'an error')}: {out.get('evalue', '')}"[:200]
    return errors


def _names_read(sl):
    return set().union(*(st.eager | st.deferred for st in sl.statements)) \
        - set().union(*(st.binds for st in sl.statements))


def _kernel_made(name, namespace):
    """Names of the kernel itself, of Python, or private (``_``, ``_i3``)."""
    shell = getattr(builtins, "get_ipython", lambda: None)()
    hidden = getattr(shell, "user_ns_hidden", {}) if shell is not None else {}
    return (name.startswith("_") or name in KERNEL_NAMES or name in hidden
            or hasattr(builtins, name))


def class_source(cls, namespace):
    """The source of the ``class`` statement that made the kernel's ``cls``: from
    the cell its methods' code came from (``linecache``), else the last input
    of the kernel's history (``In``) that defines it; None when unknown."""
    for func in _functions(cls):
        code = func.__code__
        text = "".join(linecache.getlines(code.co_filename))
        found = _class_in(text, cls.__name__, code.co_firstlineno)
        if found:
            return found
    for cell in reversed(list(namespace.get("In", []) or [])):
        found = _class_in(cell, cls.__name__)
        if found:
            return found
    return None


def _functions(cls):
    if not isinstance(cls, type):           # `ReLU = None` in the kernel: nothing to read
        return
    for value in vars(cls).values():
        value = getattr(value, "__func__", getattr(value, "fget", value))
        if hasattr(value, "__code__"):
            yield value


def _class_in(text, name, line=None):
    """The source of the last top-level ``class name`` of ``text`` (the one
    around ``line`` when given), or None."""
    try:
        python = magics.to_python(str(text))
        tree = ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name
             and (line is None or node.lineno <= line <= node.end_lineno)]
    return ast.get_source_segment(python, found[-1]) if found else None


def _same_code(a, b):
    """Whether two sources are the same code (comments and layout aside)."""
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return a.strip() == b.strip()
