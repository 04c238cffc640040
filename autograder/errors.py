"""The grader's error model and its exit statuses, in one place.

- :class:`InstructorError`: a mistake of whoever runs the grader (a usage,
  config, lab or term mistake). The command line prints one line, writes no
  results file and exits :attr:`ExitCode.USAGE`.
- :class:`GraderFault`: the grader itself failed (a bug, a sandbox or
  isolation that cannot be set up, no GPU where one was asked for). The
  submission gets the "Autograder failed, contact staff" results file and the
  command exits :attr:`ExitCode.GRADER`.
- A student's problem (a broken notebook, a failing check, a hang) is no
  exception here: it is a result, graded and written, exit :attr:`ExitCode.OK`.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit statuses of every command (``grade.py``, ``nndl-grade``, Gradescope's run)."""
    OK = 0               # grading happened, whatever the score
    FAILED = 1           # selftest: a verdict differs from the expected one
    USAGE = 2            # an instructor's mistake: one line, no results file
    GRADER = 2           # the grader failed: a results file says so (same status as USAGE)
    INTERRUPTED = 130    # Ctrl-C or SIGTERM: 128 + SIGINT, the shell's convention


class AutograderError(Exception):
    """Base of the grader's own errors."""


class InstructorError(AutograderError):
    """A usage, config, lab or term mistake: the instructor's to fix."""


class GraderFault(AutograderError):
    """The grader itself (not the student) failed."""


class GraderError(GraderFault):
    """The grader itself cannot work (bad config, no paddle, no GPU asked for)."""
