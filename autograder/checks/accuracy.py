"""Accuracy-threshold tests: the book's MLP trained with the student's class
(and the reference implementation of everything else) must learn.

Accuracy = mean(1[o > 0] == y), computed here from the logits the child
returns; the test labels never enter the child. The thresholds and the number
of iterations are calibrated by ``scripts/calibrate_accuracy.py`` (see
``autograder/calibration/accuracy.md``) and set in ``grading.toml``.
"""

from functools import partial

import numpy as np

from nndl.checks import GRADED_CLASS
from nndl.checks.core import Check, Verdict, output
from nndl.data import moons_arrays

LAYERS = (2, 20, 3, 1)
SETUPS = {  # question -> (probe, hyper-parameter given to the child)
    "q1_relu": ("autograder.probes:train_relu", {}),
    "q2_dropout": ("autograder.probes:train_dropout", {"p": 0.3}),
    "q3_l2": ("autograder.probes:train_l2", {"lambd": 0.7}),
    "q4_weight_decay": ("autograder.probes:train_decay", {"beta": 0.001}),
}


def initial_params(init_seed, layers=LAYERS):
    """W standard normal, b zero, drawn on the CPU by numpy so that every device
    (and every student) starts from the same weights."""
    rng = np.random.default_rng(init_seed)
    return [(rng.standard_normal((layers[i], layers[i + 1])).astype(np.float32),
             np.zeros((1, layers[i + 1]), np.float32)) for i in range(len(layers) - 1)]


def make_inputs(question, settings):
    """Inputs for the child; keys starting with '_' stay in the parent."""
    X_train, y_train, X_test, y_test = moons_arrays(settings["data_seed"])
    inputs = {"X_train": X_train, "y_train": y_train, "X_test": X_test,
              "iterations": np.array(settings["iterations"]), "lr": np.array(0.2),
              "seed": np.array(settings["train_seed"]), "_y_test": y_test}
    for i, (W, b) in enumerate(initial_params(settings["init_seed"])):
        inputs[f"W{i}"], inputs[f"b{i}"] = W, b
    for key, value in SETUPS[question][1].items():
        inputs[key] = np.array(value)
    return inputs


def accuracy(logits, labels):
    return float(np.mean((logits.reshape(-1) > 0) == (labels.reshape(-1) > 0.5)))


def judge(inputs, outputs, train_threshold, test_threshold):
    y_train, y_test = inputs["y_train"], inputs["_y_test"]
    train = output(outputs, "train_logits", y_train.shape)
    test = output(outputs, "test_logits", y_test.shape)
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))):
        return Verdict(False, "training diverged: the logits contain NaN or inf")
    acc_train, acc_test = accuracy(train, y_train), accuracy(test, y_test)
    msg = (f"after {int(inputs['iterations'])} iterations: train accuracy {acc_train:.2f} "
           f"(needs >= {train_threshold:.2f}), test accuracy {acc_test:.2f} "
           f"(needs >= {test_threshold:.2f})")
    passed = acc_train >= train_threshold and acc_test >= test_threshold
    return Verdict(passed, msg if passed else "the model does not learn: " + msg,
                   min(acc_train - train_threshold, acc_test - test_threshold), 0.0)


def checks(settings):
    """One accuracy check per question, with ``settings`` from the config."""
    return [
        Check(f"{q}.accuracy", q, f"the MLP trained with your {GRADED_CLASS[q]} learns",
              probe, partial(lambda seed, q: make_inputs(q, settings), q=q),
              partial(judge, train_threshold=settings["train_threshold"],
                      test_threshold=settings["test_threshold"]))
        for q, (probe, _) in SETUPS.items()
    ]
