"""The course library's own pieces that grading relies on."""

import numpy as np
import pytest

from nndl.data import make_moons, moons_arrays


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_make_moons_draws_scikit_learns_points(seed):
    from sklearn.datasets import make_moons as sklearn_moons

    X, y = sklearn_moons(n_samples=300, shuffle=True, noise=0.5, random_state=seed)
    ours = make_moons(300, 0.5, seed)
    assert np.array_equal(ours[0], X) and np.array_equal(ours[1], y)


def test_moons_arrays_split_200_train_100_test_as_float32():
    X_train, y_train, X_test, y_test = moons_arrays(0)
    assert X_train.shape == (200, 2) and y_train.shape == (200, 1)
    assert X_test.shape == (100, 2) and y_test.shape == (100, 1)
    assert {a.dtype for a in (X_train, y_train, X_test, y_test)} == {np.dtype(np.float32)}


def test_the_checks_model_says_how_to_reach_its_layers():
    """A loss written for the book's MLP_3L (``model.fc1``) is told to use
    ``model.layers`` by the checks' plain stack, not shown an internal error."""
    from nndl.checks.core import LinearStack

    model = LinearStack([(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))])
    assert [layer.name for layer in model.layers] == ["fc1", "fc2"]
    with pytest.raises(AttributeError, match=r"no `fc1`.*`model\.layers`"):
        model.fc1
    assert not hasattr(model, "__deepcopy__")       # copy/pickle protocols still see no attribute


def test_known_paddle_pitfalls_get_a_hint_without_paddles_source_location():
    import paddle

    from nndl.checks.core import StudentError, call_student

    if paddle.__version__.startswith("2."):
        pytest.skip("paddle 2.x words these errors differently (the hints are for 3.x)")
    x = paddle.to_tensor([1.0, -1.0], dtype="float64")
    with pytest.raises(StudentError) as e:
        call_student("ReLU.backward", lambda: x * (x > 0))
    text = str(e.value)
    assert text.startswith("ReLU.backward raised TypeError") and "/paddle/" not in text
    assert "hint: paddle does not mix bool and float tensors" in text
    with pytest.raises(StudentError) as e:
        call_student("f", lambda: paddle.matmul(x.astype("float32").reshape([1, 2]),
                                                 x.reshape([2, 1])))
    assert "hint: the two operands have different float types" in str(e.value)
    with pytest.raises(StudentError) as e:
        call_student("f", lambda: 1 / 0)
    assert str(e.value) == "f raised ZeroDivisionError: division by zero"
