"""Instructor-side grading engine for the NNDL regularization lab.

Parent side (never runs student code): :mod:`autograder.engine` orchestrates,
:mod:`autograder.checks` judges, :mod:`autograder.results` writes results.
Child side (runs next to student code, in a sandboxed process):
:mod:`autograder.reference` and :mod:`autograder.probes`.
"""

__version__ = "0.1.0"
