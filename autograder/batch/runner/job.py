"""One per-submission job: grade one notebook exactly as ``grade.py NOTEBOOK``
does (:func:`autograder.grade.grade_safely`), and return the result (no file
is written to the output folder here, so the job can run on any machine).

A grader failure becomes status "grader_error" with the same zero-score
result ``grade.py`` writes in that case.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...grade import grade_safely, specs_of
from ...results import GradingResult

@dataclass
class Job:
    sid: str
    notebook: bytes
    digest: str            # sha256 of the notebook bytes + the config file bytes
    config: object         # autograder.config.Config
    device: str = None


@dataclass
class Outcome:
    status: str            # "graded" or "grader_error"
    result: object         # autograder.results.GradingResult
    error: str = ""


def grader_failure(job, error):
    return Outcome("grader_error",
                   GradingResult.grader_failed(job.sid, specs_of(job.config), error), error)


def run_job(job, sandbox=None):
    """Grade ``job``'s notebook (in ``sandbox`` when given: a warm one)."""
    with tempfile.TemporaryDirectory(prefix="nndl-batch-") as tmp:
        path = Path(tmp) / "submission.ipynb"
        path.write_bytes(job.notebook)
        result, code = grade_safely(path, job.config, device=job.device, sandbox=sandbox)
    if code:
        return Outcome("grader_error", result, result.grader_error or "")
    return Outcome("graded", result)
