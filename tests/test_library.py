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


def test_the_near_threshold_rule_runs_again_until_a_pass_or_no_more_inputs():
    """Check.rerun_if_near, the one re-run rule of grading and calibrate: only a
    near fail runs again; it stops at a pass, at the end of the inputs, or when
    a run could not happen; and the probe never sees a key starting with _."""
    from nndl.checks.core import Check, Verdict

    seen = []
    check = Check("q.acc", "q", "t", probe=None, make_inputs=None, judge=None,
                  rerun=lambda seed, attempt: {"attempt": attempt} if attempt <= 3 else None)

    def run(outcomes):
        def one(inputs):
            seen.append(inputs["attempt"])
            return outcomes.pop(0)
        return one

    near, far, ok = Verdict(False, "near", near=True), Verdict(False, "far"), Verdict(True, "ok")
    assert check.rerun_if_near(ok, 0, run([])) == (ok, 0)
    assert check.rerun_if_near(far, 0, run([])) == (far, 0)
    assert check.rerun_if_near(near, 0, run([near, ok])) == (ok, 2) and seen == [1, 2]
    seen.clear()
    assert check.rerun_if_near(near, 0, run([near, near, near])) == (near, 3) and seen == [1, 2, 3]
    assert check.rerun_if_near(near, 0, run([None])) == (near, 0)
    assert check.probe_inputs({"x": 1, "_y": 2}) == {"x": 1}
