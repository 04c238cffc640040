"""Public self-checks of the lab, run by ``grader.check("q1_relu")`` etc.

One module per question (``q1_relu.py``, ...), each defining ``QUESTION``
(its id and the class it grades) and ``CHECKS`` (its public checks, with their
probes and judges); they are discovered, not listed. The official grader uses
the same check functions for its public tests; there the probe runs in a
sandboxed process and the judge in the grader. Here everything runs in the
notebook's kernel, which is fine for a self-check and is why the official
grade never relies on it.
"""

import importlib
import pkgutil
import re

from ..i18n import N_
from .core import Check, Question, StudentError, Verdict, judged, say, to_numpy

SELF_CHECK_SEED = 7  # the official grader uses its own seeds (see its config)


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def question_modules():
    """The question modules of this package, in question order (q1, q2, ... q10)."""
    modules = [importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__)]
    return sorted((m for m in modules if isinstance(getattr(m, "QUESTION", None), Question)),
                  key=lambda m: _natural(m.QUESTION.id))


def questions():
    """Every :class:`Question`, in order."""
    return [m.QUESTION for m in question_modules()]


def public_checks():
    """Every public check, in question order."""
    return [c for m in question_modules() for c in m.CHECKS]


def run_in_process(check, namespace, seed, inputs=None):
    """Probe and judge ``check`` in this process; returns a Verdict."""
    import numpy as np

    inputs = check.make_inputs(seed) if inputs is None else inputs
    try:
        outputs = check.probe_function()(namespace, check.probe_inputs(inputs))
    except StudentError as e:
        return Verdict(False, str(e), key=e.key)
    except Exception as e:  # noqa: BLE001 - a probe failing is the student's to see
        return Verdict(False, f"{type(e).__name__}: {e}", key="error")
    outputs = {k: np.asarray(to_numpy(v)) for k, v in outputs.items()}
    return judged(check, inputs, outputs)


def library_changes(module_name="nndl.op"):
    """The functions of the course library's classes that the notebook replaced
    (``nndl.op.Linear.backward = ...``): the official grader runs every class
    with the library as installed, so a self-check that depends on such a
    change may disagree with it."""
    import inspect
    import sys

    module = sys.modules.get(module_name)
    if module is None:
        return []

    def replaced(value):
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        return code is not None and code.co_filename != module.__file__

    return [f"{module_name}.{cls_name}.{attr}" for cls_name, cls in vars(module).items()
            if inspect.isclass(cls) and cls.__module__ == module_name
            for attr, value in vars(cls).items() if replaced(value)]


def self_check(question, namespace, seed=SELF_CHECK_SEED):
    """Run the public checks of ``question`` against the classes in
    ``namespace`` (the notebook's globals); print one line per check and raise
    AssertionError listing the failures."""
    ids = [q.id for q in questions()]
    if question not in ids:
        raise ValueError(say(N_("unknown question %(question)s; expected one of %(ids)s"),
                             question=repr(question), ids=str(ids)))
    changes = library_changes()
    lines = [say(N_("note: this notebook replaced %(names)s; the official grader runs each "
                    "class with the course library as installed"),
                 names=", ".join(changes))] if changes else []
    verdicts = [(check, run_in_process(check, namespace, seed)) for check in public_checks()
                if check.question == question]
    lines += [say(N_("[PASS] %(title)s: %(message)s") if v.passed
                  else N_("[FAIL] %(title)s: %(message)s"), title=check.label, message=v.describe())
              for check, v in verdicts]
    report = "\n".join(lines)
    if not all(v.passed for _, v in verdicts):
        raise AssertionError(report)
    print(report)


def __getattr__(name):
    """``nndl.checks.check_saved``: :func:`nndl.notebook.check_saved`, imported
    when asked for (it needs nbformat, which the self-checks do not)."""
    if name == "check_saved":
        from ..notebook import check_saved

        return check_saved
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Check", "Question", "Verdict", "library_changes", "public_checks",
           "question_modules", "questions", "run_in_process", "self_check"]
