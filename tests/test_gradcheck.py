import numpy as np

from nndl.checks.gradcheck import numerical_gradient, scaled_error


def test_numerical_gradient_of_a_smooth_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    fd = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x.copy())
    assert scaled_error(fd, np.cos(x) * x + np.sin(x)) < 1e-8


def test_numerical_gradient_restores_its_input():
    x = np.arange(6, dtype=float).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    assert np.array_equal(x, before)


def test_scaled_error_flags_shape_nan_and_difference():
    a = np.ones((2, 2))
    assert scaled_error(a, a) == 0
    assert scaled_error(a, np.ones((4,))) == float("inf")
    assert scaled_error(np.full((2, 2), np.nan), a) == float("inf")
    assert abs(scaled_error(a * 1.01, a) - 0.01) < 1e-12
