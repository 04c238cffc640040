"""q4_weight_decay, grader side: hidden checks and the accuracy run of
``BatchGD`` (public checks, probes and diagnoses:
``nndl/checks/q4_weight_decay.py``)."""

import numpy as np

from autograder.i18n import N_
from autograder.reference import accuracy
from nndl.checks import q4_weight_decay as public

QUESTION = public.QUESTION
SLOT = "optimizer"
REFERENCE = "BatchGD"        # reference.py
WEIGHT_DECAY = 0.001         # the book's weight-decay experiment


def hidden_checks(config):
    return [
        # other learning rates and decays, and a float32 input (a title never describes
        # a hidden test's inputs)
        QUESTION.check("gradient_descent_hidden", N_("`gradient_descent` on other inputs"),
                       public.gradient_descent_values,
                       lambda s: public.make_formula_inputs(
                           s + 100, ((0.05, 0.2), (0.7, 0.01), (0.2, 0.001)), (5, 2), np.float32),
                       public.judge_formula),
        accuracy.check(QUESTION, SLOT, config.accuracy, model="mlp", beta=WEIGHT_DECAY),
    ]
