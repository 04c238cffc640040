"""Which of a submission's notebooks is graded: the same rule for a batch and
for Gradescope."""

from pathlib import PurePosixPath


def choose_notebook(names, expected):
    """The one of ``names`` (paths inside a submission) to grade: the only one,
    or, among several, the only one named ``expected``; None when there is none
    or the choice is ambiguous."""
    if len(names) == 1:
        return names[0]
    named = [n for n in names if PurePosixPath(n).name == expected]
    return named[0] if len(named) == 1 else None
