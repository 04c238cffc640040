"""q3_l2, sandbox side: the loss on the book's MLP with the reference ReLU."""

from autograder.reference.training import mlp_from
from nndl.checks import q3_l2 as public


def mlp_loss_and_grads(ns, inputs):
    """Like the public loss probe, on the book's MLP with the reference ReLU."""
    return public.loss_and_grads(ns, inputs, model=mlp_from)
