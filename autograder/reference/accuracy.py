"""Accuracy-threshold checks (grader side): the book's MLP trained with the
student's class in its slot (and the reference parts elsewhere) must learn.

Accuracy = mean(1[o > 0] == y), computed here from the logits the sandbox
returns; the test labels never enter the sandbox. The thresholds and the
number of iterations are calibrated by ``grade.py calibrate`` (see
``autograder/calibration/accuracy.md``) and set in ``grading.toml``'s
``[accuracy]``; each question's ``grading.py`` gives its model and
hyper-parameters (the book's: p = 0.3, lambda = 0.7, beta = 0.001).
"""

import numpy as np

from nndl.checks.core import Verdict, output

from ..i18n import N_, say
from nndl.data import moons_arrays

PROBE = f"{__package__}.training:train"     # sandbox side, never imported here

LAYERS = (2, 20, 3, 1)
LEARNING_RATE = 0.2
# A run that misses a threshold by less than NEAR (on every accuracy it misses)
# is "near": the grader runs it again with other initial weights and training
# seeds (init and train seed + RERUN_SEED_STEP * attempt, at most RERUNS more
# runs) and the check passes if any run passes. Broken training (~0.51 / 0.48)
# misses the thresholds by more than 0.15, so it is never run again. The
# false-fail rate of every correct implementation under this rule is measured
# by `grade.py calibrate` (autograder/calibration/accuracy.md).
NEAR = 0.08
RERUNS = 2
RERUN_SEED_STEP = 1000


def initial_params(init_seed, layers=LAYERS):
    """W standard normal, b zero, drawn on the CPU by numpy so that every device
    (and every student) starts from the same weights."""
    rng = np.random.default_rng(init_seed)
    return [(rng.standard_normal((layers[i], layers[i + 1])).astype(np.float32),
             np.zeros((1, layers[i + 1]), np.float32)) for i in range(len(layers) - 1)]


BOOK_HYPER = {"p": 0.0, "lambd": 0.0, "beta": 0.0}   # what the book's parts are built with


def make_inputs(question, slot, settings, model="mlp", attempt=0, iterations=None, **hyper):
    """Inputs for the sandbox; keys starting with '_' stay in the grader. Run
    ``attempt`` > 0 uses other initial weights and training seeds. ``hyper``: the
    question's hyper-parameters, each a number its training probe reads by name
    (the book's parts: ``p``, ``lambd``, ``beta``, 0 when not given)."""
    X_train, y_train, X_test, y_test = moons_arrays(settings.data_seed)
    shift = RERUN_SEED_STEP * attempt
    inputs = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "_y_test": y_test,
              "iterations": np.array(iterations or settings.iterations),
              "lr": np.array(LEARNING_RATE), "seed": np.array(settings.train_seed + shift),
              "slot": np.array(slot), "graded_class": np.array(question.graded_class),
              "model": np.array(model),
              **{key: np.array(value) for key, value in {**BOOK_HYPER, **hyper}.items()}}
    for i, (W, b) in enumerate(initial_params(settings.init_seed + shift)):
        inputs[f"W{i}"], inputs[f"b{i}"] = W, b
    return inputs


def accuracy(logits, labels):
    return float(np.mean((logits.reshape(-1) > 0) == (labels.reshape(-1) > 0.5)))


def judge(inputs, outputs, train_threshold, test_threshold):
    y_train, y_test = inputs["y_train"], inputs["_y_test"]
    train_logits = output(outputs, "train_logits", y_train.shape)
    test_logits = output(outputs, "test_logits", y_test.shape)
    if not (np.all(np.isfinite(train_logits)) and np.all(np.isfinite(test_logits))):
        key = N_("training diverged: the logits contain NaN or inf")
        return Verdict(False, say(key), key=key)
    acc_train, acc_test = accuracy(train_logits, y_train), accuracy(test_logits, y_test)
    margin = min(acc_train - train_threshold, acc_test - test_threshold)
    passed = margin >= 0
    key = (N_("after %(iterations)s iterations: train accuracy %(train)s (needs >= "
              "%(train_threshold)s), test accuracy %(test)s (needs >= %(test_threshold)s)")
           if passed else
           N_("the model does not learn: after %(iterations)s iterations: train accuracy "
              "%(train)s (needs >= %(train_threshold)s), test accuracy %(test)s (needs >= "
              "%(test_threshold)s)"))
    msg = say(key, iterations=str(int(inputs["iterations"])), train=f"{acc_train:.2f}",
              train_threshold=f"{train_threshold:.2f}", test=f"{acc_test:.2f}",
              test_threshold=f"{test_threshold:.2f}")
    return Verdict(passed, msg, margin, 0.0, near=not passed and margin > -NEAR, key=key)


def check(question, slot, settings, probe=PROBE, **hyper):
    """The accuracy check of ``question`` (its class in ``slot``; ``hyper``:
    ``model`` and the hyper-parameters, e.g. ``p``, ``lambd``, ``beta``), with
    ``settings`` the config's ``[accuracy]``. ``probe``: the sandbox-side training
    (``"module:function"``); a question whose class the book's model does not
    build (a new layer, a new optimizer) names its own, which builds the model
    with :mod:`autograder.reference.training`'s parts and trains it with
    :func:`~autograder.reference.training.run_training`."""
    def make(seed):  # noqa: ARG001 - the accuracy run has its own seeds
        return make_inputs(question, slot, settings, **hyper)

    def rerun(seed, attempt):  # noqa: ARG001
        return make_inputs(question, slot, settings, **hyper, attempt=attempt) \
            if attempt <= RERUNS else None

    def judge_it(inputs, outputs):
        return judge(inputs, outputs, settings.train_threshold, settings.test_threshold)

    return question.check("accuracy", N_("the MLP trained with your %(cls)s learns"),
                          probe, make, judge_it, rerun, cls=question.graded_class)
