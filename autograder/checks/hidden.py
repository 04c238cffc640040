"""Hidden exact checks: the public checks' judges on other inputs (other
shapes, dtypes, p, lambda, alpha/beta) and on the book's full MLP with ReLU.
A student who hard-codes the public inputs' answers fails these."""

from functools import partial

from nndl.checks import q1_relu, q2_dropout, q3_l2, q4_weight_decay
from nndl.checks.core import Check

import numpy as np


def checks():
    return [
        Check("q1_relu.backward_fd_hidden", "q1_relu",
              "ReLU.backward on float32 inputs of another shape",
              q1_relu.PROBE, lambda s: q1_relu.make_inputs(s + 100, (64, 20), np.float32),
              q1_relu.judge_backward),
        Check("q2_dropout.forward_stats_hidden", "q2_dropout", "Dropout.forward with p = 0.6",
              "nndl.checks.probes:dropout_forward",
              lambda s: q2_dropout.make_forward_inputs(s + 100, p=0.6, shape=(500, 200)),
              q2_dropout.judge_forward),
        Check("q2_dropout.backward_hidden", "q2_dropout",
              "Dropout.backward with p = 0.6 and another shape",
              "nndl.checks.probes:dropout_backward",
              lambda s: q2_dropout.make_backward_inputs(s + 100, p=0.6, shape=(4, 9)),
              q2_dropout.judge_backward),
        Check("q3_l2.loss_value_mlp", "q3_l2",
              "loss value on the book's MLP for lambda in {0, 0.3, 2.5}",
              "autograder.probes:mlp_loss_and_grads",
              lambda s: q3_l2.make_inputs(s + 100, (2, 20, 3, 1), 20, (0.0, 0.3, 2.5), True),
              partial(q3_l2.judge_loss, relu_between=True)),
        Check("q3_l2.gradient_fd_mlp", "q3_l2",
              "gradients of the book's MLP + l2 loss match finite differences",
              "autograder.probes:mlp_loss_and_grads",
              lambda s: q3_l2.make_inputs(s + 200, (2, 20, 3, 1), 20, (2.5,), True),
              partial(q3_l2.judge_gradient, relu_between=True)),
        Check("q4_weight_decay.gradient_descent_hidden", "q4_weight_decay",
              "gradient_descent for other learning rates, decays and a float32 input",
              "nndl.checks.probes:gradient_descent_values",
              lambda s: q4_weight_decay.make_formula_inputs(
                  s + 100, ((0.05, 0.2), (0.7, 0.01), (0.2, 0.001)), (5, 2), np.float32),
              q4_weight_decay.judge_formula),
    ]
