"""Course support library for the NNDL regularization lab (section 7.6).

What is here is *given* to students: the building blocks the book takes from
``nndl.op`` (``Op``, ``Linear``, ``Logistic``, the ``Optimizer`` base class),
the make_moons data, ``accuracy_logits``, the training loop and the
decision-boundary plot, plus the public self-checks in :mod:`nndl.checks`.

It deliberately holds **no working version of a graded method** (``ReLU``,
``Dropout``, the l2 loss, ``BatchGD``): deleting one of those classes from the
notebook cannot be undone by an import.

Importing the package does not import paddle; the submodules that need it do.
"""

__all__ = ["op", "data", "metrics", "training", "plot", "checks"]
