"""Finite-difference gradient checking (in the spirit of CS231n's gradient_check.py).

Centered differences:  df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h),
with error O(h^2) for smooth f; in float64 with h = 1e-6 the estimate is good
to ~1e-8 relative, far below the thresholds used by the checks.
"""

import numpy as np

H = 1e-6  # step for float64 centered differences


def numerical_gradient(f, x, h=H):
    """Gradient of the scalar function ``f`` at ``x`` (a float64 array, restored
    after use) by centered differences."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def parameter_gradients(loss, params, h=H):
    """Finite-difference gradients of ``loss(params)`` with respect to every
    weight and bias of a layer stack ``params = [(W0, b0), (W1, b1), ...]``:
    a list of ``(name, gradient)`` in the order W0, b0, W1, b1, ...  ``loss``
    receives the stack with one array replaced by the perturbed copy."""
    gradients = []
    for i, (W, b) in enumerate(params):
        for name, arr in ((f"W{i}", W), (f"b{i}", b)):
            def f(v, name=name):
                return loss([(v if f"W{j}" == name else Wj, v if f"b{j}" == name else bj)
                             for j, (Wj, bj) in enumerate(params)])
            gradients.append((name, numerical_gradient(f, np.array(arr, dtype=np.float64), h)))
    return gradients


def scaled_error(actual, expected):
    """max |actual - expected| / max(max |expected|, 1e-12): the largest error
    relative to the scale of the expected array (robust to zero entries, which
    ReLU and dropout gradients have many of)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or not np.all(np.isfinite(actual)):
        return float("inf")
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-12)
    return float(np.max(np.abs(actual - expected))) / scale if actual.size else 0.0
