"""A submission's time budget and the engine's re-run policy, in one unit.

Each question runs under its own limits (:func:`autograder.limits.question_limits`);
the submission as a whole under ``[run] total_time_limit``, less nothing of the
workers' set-up (never the student's time). A question's worker that dies in a
statement of its slice is run again without that statement, at most
:data:`MAX_SKIPPED` times; re-runs of one question (a skip, a runtime binding,
a check near its threshold) never take the first runs' time of the questions
after it. The near-threshold rule itself is the check's
(``nndl.checks.core.Check.rerun_if_near``), used by the engine and by
``calibrate`` alike.
"""

import time

MAX_SKIPPED = 3       # statements of one slice skipped for killing or hanging the worker
MIN_ATTEMPT_TIME = 1  # seconds: a question with less time left is not run (again)


class Budget:
    """The time of one submission: ``total`` seconds from now, plus the workers'
    set-up time (:meth:`add_setup`); ``limits`` {question id: Limits}, in the
    order the questions run."""

    def __init__(self, total, limits=None):
        self.total, self.start = total, time.monotonic()
        self.limits = dict(limits or {})
        self.setup_time = 0.0          # the workers' set-up: never the student's time

    def add_setup(self, seconds):
        self.setup_time += seconds

    def elapsed(self):
        return time.monotonic() - self.start

    def left(self, question=None, again=False):
        """Seconds left of the submission's time; for running ``question``
        ``again`` (a re-run or a skip), less the first runs of the questions after
        it, so that no question's re-runs take the time of the others."""
        left = self.total - self.elapsed() + self.setup_time
        if again:
            ids = list(self.limits)
            left -= sum(self.limits[q].wall for q in ids[ids.index(question) + 1:])
        return left

    def attempts(self, question, again=False):
        """The runs a question's worker may have (the first, then one per skipped
        statement, at most MAX_SKIPPED more): yields the seconds left before each;
        stops early when less than MIN_ATTEMPT_TIME is left."""
        for attempt in range(MAX_SKIPPED + 1):
            left = self.left(question, again or attempt > 0)
            if left < MIN_ATTEMPT_TIME:
                return
            yield left
