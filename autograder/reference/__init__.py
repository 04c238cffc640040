"""Reference implementations of the graded operators and of the models,
one module per graded class, used **inside the sandboxed child** so that each
question's tests plug the student's class into otherwise-correct code
(isolation: a bug in one question costs points only there). The judges in the
parent never use these: they use the numpy formulas of :mod:`nndl.checks.formulas`.

Formulas (section 7.6 of the book):

- ReLU (relu.py):        A = max(Z, 0);            dZ = dA * (Z > 0)
- Dropout (dropout.py):  X~ = X * M / (1 - p);     dX = dX~ * M / (1 - p)   (M ~ Bernoulli(1 - p))
- Loss (loss.py):        R = CE(y, sigma(o)) + lambda / (2N) * sum_l ||W_l||^2   (W only, not b)
                         dR/do = (sigma(o) - y) / N;   dR/dW_l += lambda * W_l / N
- BatchGD (optimizer.py): theta <- (1 - beta) * theta - alpha * g

A question's worker loads every module **but the one of the class it grades**
(:func:`load`), so nothing a notebook digs out of that worker's memory
(``object.__subclasses__()``, ``gc``, frames, ``__globals__``) is a working
version of the class being graded there. Importing this package loads none
of them. The classes do not derive from ``nndl.op.Op`` either.
"""

import importlib

MODULES = {"ReLU": "relu", "Dropout": "dropout", "BinaryCrossEntropyWithLogits": "loss",
           "BatchGD": "optimizer"}


def load(exclude=None):
    """The reference classes by name (and the models ``MLP_3L``,
    ``MLP_3L_dropout``), without the class ``exclude``, whose module is not
    even imported."""
    classes = {}
    for name, module in MODULES.items():
        if name != exclude:
            classes[name] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    models = importlib.import_module(f"{__name__}.models")
    classes["MLP_3L"], classes["MLP_3L_dropout"] = models.MLP_3L, models.MLP_3L_dropout
    return classes
