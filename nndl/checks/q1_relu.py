"""q1_relu, public side: ``ReLU.forward`` and ``ReLU.backward`` (probes,
judges with their diagnoses, and the public checks).

forward:  A = max(Z, 0)
backward: dR/dZ = dR/dA * (Z > 0), checked against centered finite
          differences of f(Z) = sum(G * max(Z, 0)) with a random upstream
          gradient G (so a backward that ignores G is caught). Inputs are kept
          at least 0.1 away from the kink, where the difference quotient with
          h = 1e-6 is exact.
"""

import numpy as np

from ..i18n import N_
from .core import (Question, Verdict, call_student, closest_mistake, output, say, student_class,
                   tensor, to_numpy)
from .formulas import relu
from .gradcheck import numerical_gradient, scaled_error

QUESTION = Question("q1_relu", "ReLU", N_("The ReLU operator"))

# Finite differences of a piecewise-linear function away from its kink are
# exact up to float64 rounding (~1e-10 here); 1e-5 leaves room for student
# code that casts to float32 (relative rounding ~6e-8) and is 100x below the
# smallest wrong variant (errors of order 1).
TOL = 1e-5
MISTAKE_TOL = 1e-3


# -- probes (run next to the student's code) ------------------------------------------
def probe_forward(ns, inputs):
    """``ReLU().forward(x)``."""
    relu_op = call_student("ReLU()", student_class(ns, QUESTION.graded_class))
    return {"out": to_numpy(call_student("ReLU.forward", relu_op.forward, tensor(inputs["x"])))}


def probe_forward_backward(ns, inputs):
    """``forward(x)`` then ``backward(g)`` on the same object."""
    relu_op = call_student("ReLU()", student_class(ns, QUESTION.graded_class))
    out = call_student("ReLU.forward", relu_op.forward, tensor(inputs["x"]))
    grad = call_student("ReLU.backward", relu_op.backward, tensor(inputs["g"]))
    return {"out": to_numpy(out), "grad": to_numpy(grad)}


# -- inputs and judges ------------------------------------------------------------------
def away_from_kink(rng, shape, margin=0.1, dtype=np.float64):
    """Uniform values in [-2, -margin] U [margin, 2]."""
    return (rng.uniform(margin, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def make_inputs(seed, shape=(8, 6), dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"x": away_from_kink(rng, shape, dtype=dtype),
            "g": rng.standard_normal(shape).astype(dtype)}


def judge_forward(inputs, outputs):
    x = inputs["x"]
    out = output(outputs, "out", x.shape)
    err = scaled_error(out, relu(x))
    if err <= TOL:
        return verdict(True, N_("forward returns `max(x, 0)`"), err)
    mistake = closest_mistake(out, [
        (N_("forward returns the 0/1 mask `(x > 0)` instead of `max(x, 0)`"),
         (x > 0).astype(float)),
        (N_("forward returns its input unchanged"), x),
        (N_("forward keeps the negative part: `min(x, 0)` instead of `max(x, 0)`"),
         np.minimum(x, 0)),
    ], MISTAKE_TOL)
    return verdict(False, mistake or N_("forward does not return `max(x, 0)`"), err)


def verdict(passed, key, err):
    """The verdict saying ``key``, with the scaled error against TOL."""
    return Verdict(passed, say(key), err, TOL, key=key)


def judge_backward(inputs, outputs):
    x, g = np.asarray(inputs["x"], np.float64), np.asarray(inputs["g"], np.float64)
    grad = output(outputs, "grad", x.shape)
    fd = numerical_gradient(lambda v: float(np.sum(g * relu(v))), x.copy())
    err = scaled_error(grad, fd)
    if err <= TOL:
        return verdict(True, N_("backward matches finite differences"), err)
    mistake = closest_mistake(grad, [
        (N_("backward ignores the upstream gradient: it returns the mask `(x > 0)` "
            "instead of `outputs_grads * (x > 0)`"), (x > 0).astype(float)),
        (N_("backward returns the upstream gradient unchanged: it must be 0 where "
            "the forward's input was negative"), g),
        (N_("backward builds the mask from the upstream gradient; use the forward's "
            "input (`self.inputs > 0`)"), g * (g > 0)),
        (N_("the mask is inverted: the gradient passes where the input was negative"),
         g * (x < 0)),
        (N_("backward multiplies by the forward's output `max(x, 0)` instead of the 0/1 mask"),
         g * relu(x)),
    ], MISTAKE_TOL)
    return verdict(False, mistake or N_("backward does not match finite differences of "
                                        "`max(x, 0)`"), err)


CHECKS = [
    QUESTION.check("forward", N_("`ReLU.forward` returns `max(x, 0)`"),
                   probe_forward, make_inputs, judge_forward),
    QUESTION.check("backward_fd",
                   N_("`ReLU.backward` matches finite differences (random upstream gradient)"),
                   probe_forward_backward, make_inputs, judge_backward),
]
