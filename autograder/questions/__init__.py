"""The instructor side of each question, one package per question, named by
its id (the public side is the module of the same name in ``nndl/checks/``):

    <id>/grading.py     grader side: ``SLOT`` (the part of the reference model
                        the class replaces), ``REFERENCE`` (its class in
                        reference.py) and ``hidden_checks(config)`` (hidden
                        exact checks and the accuracy check)
    <id>/reference.py   sandbox side: the reference implementation of the class,
                        never loaded in its own question's worker
    <id>/probes.py      sandbox side (optional): probes of the hidden checks

Questions are discovered (``autograder.lab``), not listed; their points are
in ``grading.toml`` under ``[questions.<id>]``. See docs/adding-a-question.md.
"""
