"""Instructor-side grading engine for the NNDL regularization lab.

Parent side (never runs student code): :mod:`autograder.engine` grades one
notebook with the checks of :mod:`autograder.lab`'s question units and
:mod:`autograder.results` writes the results; :mod:`autograder.grading` is
the one way a submission is graded and written. The commands
(:mod:`autograder.commands`, under the thin :mod:`autograder.cli`) and
Gradescope's entry (:mod:`autograder.gradescope.run`) are the ways in.
Child side (runs next to student code, in a sandboxed process):
:mod:`autograder.sandbox`, the probes of ``nndl.checks`` and of
``autograder.questions``, and :mod:`autograder.reference`.
"""

__version__ = "0.1.0"
