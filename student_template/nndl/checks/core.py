"""What a question and a check are, and how a verdict is reached.

A question grades one class of the notebook (``Question``). A check has three
parts, so that the official grader can keep student code out of its own
process:

- ``make_inputs(seed)``: plain numpy arrays chosen by the grader;
- ``probe(ns, inputs)``: runs the student's class (found in the notebook's
  namespace ``ns``) on those inputs and returns plain arrays. It runs in the
  sandboxed child when grading, or in the student's kernel for a self-check;
  the grader sends it there by name (``check.probe_name``). A check may give
  its probe as ``"module:function"`` so that the grader never imports it;
- ``judge(inputs, outputs)``: numpy-only comparison with the lab's formulas,
  returning a :class:`Verdict` with a diagnosis a student can act on.
"""

import pkgutil
import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..i18n import N_, say
from .gradcheck import scaled_error


PRIVATE_PREFIX = "_"      # an input key so named is never given to the probe


class StudentError(Exception):
    """Raised by a probe when the student's code cannot be run as asked
    (class missing, not implemented, wrong return type); its message is meant
    for the student (translated), ``key`` its message key (the English msgid)."""

    def __init__(self, message, key=""):
        super().__init__(message)
        self.key = key


def student_error(key, /, **params):
    """A :class:`StudentError` saying ``key`` (see :func:`say`)."""
    return StudentError(say(key, **params), key)


@dataclass
class Verdict:
    passed: bool
    message: str
    measured: Optional[float] = None
    threshold: Optional[float] = None
    near: bool = False          # failed close to its threshold: worth another run (``Check.rerun``)
    plain: bool = False         # the message quotes the student's code or its exceptions
    key: str = ""               # the diagnosis' message key (its English msgid), same in
                                # every language: what reports group mistakes by

    def describe(self):
        if self.measured is None or self.threshold is None:
            return self.message
        return say(N_("%(message)s (measured %(measured)s, threshold %(threshold)s)"),
                   message=self.message, measured=f"{self.measured:.3g}",
                   threshold=f"{self.threshold:.3g}")


@dataclass(frozen=True)
class Check:
    name: str                       # "<question>.<short name>"
    question: str                   # the question's id
    title: str                      # one line shown to students: its English msgid, shown
                                    # translated by :attr:`label`
    probe: object                   # probe(ns, inputs) -> {name: array}, or its "module:function"
    make_inputs: Callable[[int], dict]
    judge: Callable[[dict, dict], Verdict]
    rerun: Optional[Callable[[int, int], dict]] = None   # inputs of another run (seed, attempt)
    title_params: tuple = ()        # ((name, value), ...): the title's %(name)s placeholders

    @property
    def label(self):
        """The title in the current language."""
        return say(self.title, **dict(self.title_params))

    @property
    def short_name(self):
        return self.name.split(".", 1)[1]

    @property
    def probe_name(self):
        """``"module:function"``: how the grader names the probe to the sandbox
        (a probe given by name is not imported by the grader)."""
        if isinstance(self.probe, str):
            return self.probe
        return f"{self.probe.__module__}:{self.probe.__name__}"

    def probe_function(self):
        """The probe itself (imported, when given by name)."""
        return pkgutil.resolve_name(self.probe) if isinstance(self.probe, str) else self.probe

    def probe_inputs(self, inputs):
        """What the probe (the student's side) is given of ``inputs``: a key that
        starts with ``_`` is the judge's only (expected values, test labels)."""
        return {k: v for k, v in inputs.items() if not k.startswith(PRIVATE_PREFIX)}

    def rerun_if_near(self, verdict, seed, run):
        """The near-threshold rule: a run that failed close to its threshold (an
        accuracy run, say) is run again with the inputs of ``self.rerun``
        (attempt 1, 2, ...) until one passes or they run out. ``run(inputs)`` is
        the Verdict of one more run, or None when it could not run. Returns
        ``(last verdict, runs after the first)``."""
        runs = 0
        while not verdict.passed and verdict.near and self.rerun is not None:
            inputs = self.rerun(seed, runs + 1)
            again = None if inputs is None else run(inputs)
            if again is None:
                break
            runs, verdict = runs + 1, again
        return verdict, runs


@dataclass(frozen=True)
class Question:
    """One graded class: ``id`` (``q1_relu``) and the class name the notebook defines."""
    id: str
    graded_class: str
    title: str = ""

    def check(self, name, title, probe, make_inputs, judge, rerun=None, **title_params):
        """A :class:`Check` of this question named ``<id>.<name>``; ``title`` is
        a message key, its placeholders filled with ``title_params``."""
        return Check(f"{self.id}.{name}", self.id, title, probe, make_inputs, judge, rerun,
                     tuple(sorted(title_params.items())))


def output(outputs, key, shape=None):
    """Fetch ``outputs[key]`` as a float64 array of the expected ``shape``.
    A 0-d, [1] or [1, 1] loss all count as a scalar when ``shape == ()``.
    Raises :class:`StudentError` with a clear message otherwise."""
    if key not in outputs:
        raise student_error(N_("no value for '%(name)s' was returned"), name=key)
    arr = np.asarray(outputs[key])
    if arr.dtype.kind not in "fiub":
        raise student_error(N_("'%(name)s' is not numeric (dtype %(dtype)s)"), name=key,
                            dtype=str(arr.dtype))
    arr = arr.astype(np.float64)
    if shape == ():
        if arr.size != 1:
            raise student_error(N_("'%(name)s' should be a single number, got shape %(shape)s"),
                                name=key, shape=str(list(arr.shape)))
        return arr.reshape(())
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise student_error(N_("'%(name)s' has shape %(shape)s, expected %(expected)s"),
                            name=key, shape=str(list(arr.shape)), expected=str(list(shape)))
    return arr


def closest_mistake(actual, candidates, tol):
    """Return the message key of the first ``candidates`` entry ``(key, array)``
    that ``actual`` matches within scaled error ``tol``, else None (the caller
    shows it with :func:`say`)."""
    return next((message for message, expected in candidates
                 if scaled_error(actual, expected) <= tol), None)


def joined(messages, keys, passed_key, worst, tol):
    """One verdict of a judge's per-case ``messages`` (passed when there are
    none; else their ``keys[0]`` is its key), with the worst error against ``tol``."""
    if not messages:
        return Verdict(True, say(passed_key), worst, tol, key=passed_key)
    return Verdict(False, say(N_("; ")).join(messages), worst, tol, key=keys[0])


def judged(check, inputs, outputs):
    """Run ``check.judge`` and turn a StudentError into a failed Verdict."""
    try:
        return check.judge(inputs, outputs)
    except StudentError as e:
        return Verdict(False, str(e), plain=True, key=e.key)


def to_numpy(value):
    """A paddle tensor / numpy array / python number as a numpy array."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def student_class(ns, name):
    """The class ``name`` from the student's namespace, or a StudentError."""
    obj = ns.get(name)
    if obj is None:
        raise student_error(N_("class %(name)s is not defined in the notebook"), name=name)
    if not isinstance(obj, type):
        raise student_error(N_("%(name)s is defined but is not a class"), name=name)
    return obj


# Paddle errors students meet in these operators, and what to do about them.
HINTS = [
    (re.compile(r"Type promotion .*data type x: \w+, y: bool|data type x: bool, y: \w+"),
     N_("paddle does not mix bool and float tensors: cast the mask first, e.g. "
        "`paddle.cast(x > 0, x.dtype)`")),
    (re.compile(r"matmul.*(float32|float64).*(float64|float32)|does not match the type of data",
                re.IGNORECASE),
     N_("the two operands have different float types: cast one, e.g. `y.astype(x.dtype)`")),
]
PADDLE_SOURCE = re.compile(r"\s*\(at /paddle/[^)]*\)")


def describe_error(e):
    """``Type: message`` of a student's exception, without paddle's C++ source
    location, with a hint when it is a known paddle pitfall."""
    text = PADDLE_SOURCE.sub("", f"{type(e).__name__}: {e}").strip()
    hint = next((h for pattern, h in HINTS if pattern.search(text)), None)
    return say(N_("%(error)s (hint: %(hint)s)"), error=text, hint=say(hint)) if hint else text


def call_student(what, func, *args, returns=True):
    """Call student code; translate NotImplementedError / ``...`` stubs and other
    exceptions into a StudentError naming ``what``. With ``returns`` the call
    must return a value (a stub returns None or ``...``)."""
    try:
        result = func(*args)
    except NotImplementedError:
        raise student_error(N_("%(what)s is not implemented yet"), what=what) from None
    except StudentError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of student code is reported
        raise student_error(N_("%(what)s raised %(error)s"), what=what,
                            error=describe_error(e)) from None
    if returns and (result is None or result is Ellipsis):
        raise student_error(N_("%(what)s returned %(value)s: not implemented yet?"), what=what,
                            value=repr(result))
    return result


def tensor(a):
    """A numpy array as a paddle tensor (same dtype)."""
    import paddle

    return paddle.to_tensor(np.asarray(a))


def seed_everything(seed):
    """Seed paddle, numpy's global RNG and ``random`` so that a forward pass
    can be repeated with the same random mask."""
    import random

    import paddle

    paddle.seed(int(seed))
    np.random.seed(int(seed))
    random.seed(int(seed))


def stack_params(inputs):
    """[(W0, b0), (W1, b1), ...] from the input arrays ``W0``, ``b0``, ..."""
    n = sum(1 for k in inputs if k.startswith("W") and k[1:].isdigit())
    return [(inputs[f"W{i}"], inputs[f"b{i}"]) for i in range(n)]


class LinearStack:
    """A model of ``nndl.op.Linear`` layers only (no activation): ``layers`` and
    ``backward`` as the book's models have them, so that a loss or an optimizer
    can be checked on its own, without any other graded class."""

    def __init__(self, params):
        import nndl.op as op

        self.layers = []
        for i, (W, b) in enumerate(params):
            layer = op.Linear(W.shape[0], W.shape[1], name=f"fc{i + 1}")
            layer.params["W"], layer.params["b"] = tensor(W), tensor(b)
            self.layers.append(layer)

    def __getattr__(self, name):      # only for names it does not have, e.g. fc1, act_fn1
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(say(N_("the model in this check is a stack of Linear layers, not "
                                    "the book's MLP_3L: it has no `%(name)s`; reach the layers "
                                    "through `model.layers`, as the notebook's code does"),
                                 name=name))

    def __call__(self, X):
        for layer in self.layers:
            X = layer(X)
        return X

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad
