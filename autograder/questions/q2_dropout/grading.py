"""q2_dropout, grader side: hidden checks and the accuracy run of ``Dropout``
(public checks, probes and diagnoses: ``nndl/checks/q2_dropout.py``)."""

from autograder.i18n import N_
from autograder.reference import accuracy
from nndl.checks import q2_dropout as public

QUESTION = public.QUESTION
SLOT = "dropout"             # the dropout layers of the book's MLP_3L_dropout
REFERENCE = "Dropout"        # reference.py
DROP_RATE = 0.3              # the book's dropout experiment


def hidden_checks(config):
    return [
        # p = 0.6 (a title never describes a hidden test's inputs)
        QUESTION.check("forward_stats_hidden", N_("`Dropout.forward` on other inputs"),
                       public.probe_forward,
                       lambda s: public.make_forward_inputs(s + 100, p=0.6, shape=(500, 200)),
                       public.judge_forward),
        # p = 0.6 and another shape
        QUESTION.check("backward_hidden", N_("`Dropout.backward` on other inputs"),
                       public.probe_backward,
                       lambda s: public.make_backward_inputs(s + 100, p=0.6, shape=(4, 9)),
                       public.judge_backward),
        accuracy.check(QUESTION, SLOT, config.accuracy, model="mlp_dropout", p=DROP_RATE),
    ]
