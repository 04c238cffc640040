"""The lab's shared formulas in numpy, used by more than one question's
judges. Each question's own formula (the l2 penalty, the decayed step) sits
in its module, next to the checks that use it.

Only *forward* quantities are written out; gradients are obtained from them
by finite differences (:mod:`nndl.checks.gradcheck`), not from hand-written
backward code.
"""

import numpy as np


def relu(z):
    """A = max(Z, 0)."""
    return np.maximum(z, 0.0)


def cross_entropy_with_logits(o, y):
    """R = -(1/N) [y^T log sigma(o) + (1-y)^T log(1 - sigma(o))]
         = (1/N) sum( log(1 + e^o) - y o )    (stable softplus form)."""
    o = np.asarray(o, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    return float(np.mean(np.logaddexp(0.0, o) - y * o))


def stack_forward(params, X, relu_between=True):
    """Logits of a stack of Linear layers ``params = [(W, b), ...]`` with a ReLU
    between consecutive layers (none when ``relu_between`` is False)."""
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        a = a @ W + b
        if relu_between and i < len(params) - 1:
            a = relu(a)
    return a
