"""Building one grading's result: each check's verdict recorded as its test,
a question failed as a whole, the notebook's problems and the staff log added
at the end (:class:`ResultBuilder`)."""

import time

from nndl.checks.core import Verdict

from .diagnoses import statement_problem
from .i18n import say
from .results import GradingResult


class ResultBuilder:
    """The :class:`GradingResult` of one notebook as its grading goes."""

    def __init__(self, path, specs, language):
        self.result = GradingResult(submission=str(path), language=language)
        self.specs = specs             # {check name: TestSpec}
        self.language = language
        self.failures = {}             # statement index -> (why, [questions])
        self.logs = {}                 # the staff log of each question (and the grading's)

    def not_graded(self, path, message):
        """The notebook cannot be graded: every test at zero, saying ``message``."""
        self.result = GradingResult.not_graded(path, self.specs.values(), message,
                                               self.language)

    def record(self, check, verdict):
        self.result.tests.append(self.specs[check.name].result(
            verdict.passed, verdict.describe(), verdict.measured, verdict.threshold,
            verdict.plain, key=verdict.key))

    def fail(self, unit, key, **params):
        """Every check of ``unit`` failed, saying the message ``key``."""
        for check in unit.checks:
            self.record(check, Verdict(False, say(key, **params), key=key))

    def note_failures(self, run):
        """Remember the statements that failed, for the notebook's problems."""
        for index in set(run.skipped) | set(run.errors):
            why, questions = self.failures.setdefault(index, (run.failed_statement(index), []))
            questions.append(run.unit.id)

    def finish(self, program, profile, start):
        """The result: the failed statements as problems, the staff log and profile."""
        for index, (why, questions) in sorted(self.failures.items()):
            self.result.problems.append(
                statement_problem(program.statements[index], why, questions))
        self.result.staff["questions"] = self.logs
        self.result.staff["profile"] = profile
        self.result.execution_time = time.monotonic() - start
        return self.result
