"""What a check is, and how its verdict is reached.

A check has three parts, so that the official grader can keep student code
out of its own process:

- ``make_inputs(seed)``: plain numpy arrays chosen by the grader;
- ``probe``: the name (``"module:function"``) of a function that runs the
  student's code on those inputs and returns plain arrays. It runs in the
  sandboxed child when grading, or in the student's kernel for a self-check;
- ``judge(inputs, outputs)``: numpy-only comparison with the lab's formulas,
  returning a :class:`Verdict` with a diagnosis a student can act on.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


class StudentError(Exception):
    """Raised by a probe when the student's code cannot be run as asked
    (class missing, not implemented, wrong return type); its message is meant
    for the student."""


@dataclass
class Verdict:
    passed: bool
    message: str
    measured: Optional[float] = None
    threshold: Optional[float] = None

    def describe(self):
        extra = ""
        if self.measured is not None and self.threshold is not None:
            extra = f" (measured {self.measured:.3g}, threshold {self.threshold:.3g})"
        return self.message + extra


@dataclass(frozen=True)
class Check:
    name: str                       # test name, starts with the question id
    question: str                   # q1_relu, q2_dropout, q3_l2, q4_weight_decay
    title: str                      # one line shown to students
    probe: str                      # "module:function" run next to student code
    make_inputs: Callable[[int], dict]
    judge: Callable[[dict, dict], Verdict]
    outputs: tuple = field(default=())  # names the probe must return


def output(outputs, key, shape=None):
    """Fetch ``outputs[key]`` as a float64 array of the expected ``shape``.
    A 0-d, [1] or [1, 1] loss all count as a scalar when ``shape == ()``.
    Raises :class:`StudentError` with a clear message otherwise."""
    if key not in outputs:
        raise StudentError(f"no value for '{key}' was returned")
    arr = np.asarray(outputs[key])
    if arr.dtype.kind not in "fiub":
        raise StudentError(f"'{key}' is not numeric (dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    if shape == ():
        if arr.size != 1:
            raise StudentError(f"'{key}' should be a single number, got shape {list(arr.shape)}")
        return arr.reshape(())
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise StudentError(f"'{key}' has shape {list(arr.shape)}, expected {list(shape)}")
    return arr


def closest_mistake(actual, candidates, tol):
    """Return the message of the first ``candidates`` entry ``(message, array)``
    that ``actual`` matches within scaled error ``tol``, else None."""
    from .gradcheck import scaled_error

    for message, expected in candidates:
        if scaled_error(actual, expected) <= tol:
            return message
    return None


def judged(check, inputs, outputs):
    """Run ``check.judge`` and turn a StudentError into a failed Verdict."""
    try:
        return check.judge(inputs, outputs)
    except StudentError as e:
        return Verdict(False, str(e))


def resolve(probe_name):
    """Import the probe function named ``"module:function"``."""
    import importlib

    module, _, func = probe_name.partition(":")
    return getattr(importlib.import_module(module), func)


def to_numpy(value):
    """A paddle tensor / numpy array / python number as a numpy array."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def student_class(ns, name):
    """The class ``name`` from the student's namespace, or a StudentError."""
    obj = ns.get(name)
    if obj is None:
        raise StudentError(f"class {name} is not defined in the notebook")
    if not isinstance(obj, type):
        raise StudentError(f"{name} is defined but is not a class")
    return obj


def call_student(what, func, *args, returns=True):
    """Call student code; translate NotImplementedError / ``...`` stubs and other
    exceptions into a StudentError naming ``what``. With ``returns`` the call
    must return a value (a stub returns None or ``...``)."""
    try:
        result = func(*args)
    except NotImplementedError:
        raise StudentError(f"{what} is not implemented yet") from None
    except StudentError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of student code is reported
        raise StudentError(f"{what} raised {type(e).__name__}: {e}") from None
    if returns and (result is None or result is Ellipsis):
        raise StudentError(f"{what} returned {result!r}: not implemented yet?")
    return result
