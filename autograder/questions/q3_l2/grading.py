"""q3_l2, grader side: the loss on the book's MLP (with the reference ReLU)
and the accuracy run of ``BinaryCrossEntropyWithLogits`` (public checks,
probes and diagnoses: ``nndl/checks/q3_l2.py``)."""

from functools import partial

from autograder.i18n import N_
from autograder.reference import accuracy
from nndl.checks import q3_l2 as public

MLP_PROBE = f"{__package__}.probes:mlp_loss_and_grads"   # sandbox side, never imported here

QUESTION = public.QUESTION
SLOT = "loss"
REFERENCE = "BinaryCrossEntropyWithLogits"   # reference.py
LAMBDA = 0.7                                 # the book's l2 experiment
MLP = (2, 20, 3, 1)


def hidden_checks(config):
    return [
        # lambda in {0, 0.3, 2.5} (a title never describes a hidden test's inputs)
        QUESTION.check("loss_value_mlp", N_("the loss on the book's MLP, on other inputs"),
                       MLP_PROBE,
                       lambda s: public.make_inputs(s + 100, MLP, 20, (0.0, 0.3, 2.5), True),
                       partial(public.judge_loss, relu_between=True)),
        QUESTION.check("gradient_fd_mlp",
                       N_("gradients of the book's MLP with the l2 loss match finite differences"),
                       MLP_PROBE,
                       lambda s: public.make_inputs(s + 200, MLP, 20, (2.5,), True),
                       partial(public.judge_gradient, relu_between=True)),
        accuracy.check(QUESTION, SLOT, config.accuracy, model="mlp", lambd=LAMBDA),
    ]
