"""The words the sandbox's two sides exchange, defined once: how a worker
ended (:class:`Outcome`), the progress mark a worker writes while it runs
(``"s N"`` for slice statement N, then :data:`MARK_PROBES`, then
:data:`MARK_DONE`) and the set-up step it reached (:data:`SETUP_READY` once the
student's code may start). Used by the zygote (``child.py``), the runner, the
engine and the gradebook; the messages themselves are JSON, so a report read
back holds plain strings, which compare equal to these values.

Imported by the sandbox's child: standard library only.
"""

import re
from enum import Enum


class Outcome(str, Enum):
    """How a worker ended (the report's ``outcome``)."""
    EXITED = "exited"                        # by itself, with an exit status (``code``)
    TIMEOUT = "timeout"                      # the question's CPU or wall time ran out
    STATEMENT_TIMEOUT = "statement_timeout"  # one statement ran past its limit
    SIGNAL = "signal"                        # killed by a signal (``code``)
    DISK_LIMIT = "disk_limit"                # wrote more to its scratch than allowed
    LOST = "lost"                            # the zygote stopped answering

    @classmethod
    def of(cls, value):
        """The outcome a (untrusted) report names, or None."""
        try:
            return cls(value)
        except ValueError:
            return None

    @property
    def out_of_time(self):
        return self in (Outcome.TIMEOUT, Outcome.STATEMENT_TIMEOUT)


SETUP_READY = "ready"        # the worker's set-up is done: the student's code may run
MARK_PROBES = "p"            # the slice ran; the probes are running
MARK_DONE = "d"              # the probes are done
_STATEMENT = re.compile(r"s [0-9]{1,9}")


def statement_mark(index):
    """The mark a worker writes before running slice statement ``index``."""
    return f"s {int(index)}"


def marked_statement(mark):
    """The statement index of a well-formed statement mark, else None."""
    mark = str(mark)
    return int(mark[2:]) if _STATEMENT.fullmatch(mark) else None
