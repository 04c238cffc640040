"""The lab's reference model, into which each question's worker plugs the
student's class (runs **inside the sandboxed child**; the judges in the
parent never use it, they use the numpy formulas of the public checks).

The book's MLP has four pluggable *parts*, each filled by one graded class:

    slot          class (reference in autograder/questions/<id>/reference.py)
    activation    ReLU                           A = max(Z, 0)
    dropout       Dropout                        X~ = X * M / (1 - p)
    loss          BinaryCrossEntropyWithLogits   CE + lambda/(2N) sum ||W||^2
    optimizer     BatchGD                        theta <- (1 - beta) theta - alpha g

A question declares its slot in its ``grading.py``. In a question's worker,
:data:`PARTS` holds the reference class of every *other* slot (filled by the
sandbox from the request) and never a working version of the class graded
there: its module is not even imported. Importing this package loads none of
them; the reference classes do not derive from ``nndl.op.Op`` either.

- ``models.py``: the book's ``MLP_3L`` and ``MLP_3L_dropout``, with the
  activation and dropout classes passed in;
- ``training.py``: building the model from the parts, and the accuracy
  probe (``train``) that trains it with the student's class in its slot;
- ``accuracy.py`` (grader side): the accuracy-threshold checks.
"""

PARTS = {}     # slot -> reference class, set by the sandbox worker (see the module doc)
