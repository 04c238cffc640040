"""q1_relu, grader side: hidden checks and the accuracy run of ``ReLU``
(public checks, probes and diagnoses: ``nndl/checks/q1_relu.py``)."""

import numpy as np

from autograder.i18n import N_
from autograder.reference import accuracy
from nndl.checks import q1_relu as public

QUESTION = public.QUESTION
SLOT = "activation"          # the ReLU of the book's MLP
REFERENCE = "ReLU"           # reference.py


def hidden_checks(config):
    return [
        # float32 inputs of another shape (a title never describes a hidden test's inputs)
        QUESTION.check("backward_fd_hidden", N_("`ReLU.backward` on other inputs"),
                       public.probe_forward_backward,
                       lambda s: public.make_inputs(s + 100, (64, 20), np.float32),
                       public.judge_backward),
        accuracy.check(QUESTION, SLOT, config.accuracy, model="mlp"),
    ]
