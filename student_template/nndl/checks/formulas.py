"""The lab's formulas in numpy: what the judges compare student outputs with.

Only the *forward* quantities and the update rule stated in the lab text are
written out here; gradients are obtained from them by finite differences
(:mod:`nndl.checks.gradcheck`), not from hand-written backward code.
"""

import numpy as np


def relu(z):
    """A = max(Z, 0)."""
    return np.maximum(z, 0.0)


def sigmoid(o):
    """sigma(o) = 1 / (1 + e^-o), computed without overflow."""
    return np.exp(-np.logaddexp(0.0, -o))


def cross_entropy_with_logits(o, y):
    """R = -(1/N) [y^T log sigma(o) + (1-y)^T log(1 - sigma(o))]
         = (1/N) sum( log(1 + e^o) - y o )    (stable softplus form)."""
    o = np.asarray(o, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    return float(np.mean(np.logaddexp(0.0, o) - y * o))


def l2_penalty(weights, lambd, n):
    """lambda / (2N) * sum_l ||W_l||^2  (weights only, no biases)."""
    return float(lambd) / (2.0 * n) * float(sum(np.sum(np.square(W)) for W in weights))


def stack_forward(params, X, relu_between=True):
    """Logits of a stack of Linear layers ``params = [(W, b), ...]`` with a ReLU
    between consecutive layers (none when ``relu_between`` is False)."""
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        a = a @ W + b
        if relu_between and i < len(params) - 1:
            a = relu(a)
    return a


def regularized_loss(params, X, y, lambd, relu_between=True):
    """CE(y, sigma(o)) + lambda/(2N) sum ||W||^2 for the stack ``params``."""
    o = stack_forward(params, X, relu_between)
    return cross_entropy_with_logits(o, y) + l2_penalty([W for W, _ in params], lambd, len(X))


def decayed_step(x, g, lr, beta):
    """theta_t = (1 - beta) theta_{t-1} - alpha g_t."""
    return (1.0 - beta) * np.asarray(x, dtype=np.float64) - lr * np.asarray(g, dtype=np.float64)
