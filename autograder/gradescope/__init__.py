"""Gradescope packaging of the grader.

``python grade.py gradescope --out autograder.zip`` (:mod:`.build`) writes the
zip Gradescope wants (``setup.sh``, ``run_autograder``, ``requirements.txt``
and the engine). On Gradescope, ``run_autograder`` calls :mod:`.run`, which
finds the notebook in ``submission/``, grades it with the engine, with the
student's code dropped to an unprivileged user (:mod:`.isolation`), and always
writes ``results/results.json``.
"""
