"""One per-submission job: grade one notebook with the engine, exactly as
``grade.py NOTEBOOK`` does, and return the result (no file is written to the
output folder here, so the job can run on any machine).

A grader failure (``GraderError`` or any bug) becomes status "grader_error"
with the same zero-score result ``grade.py`` writes in that case.
"""

import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from ...engine import GraderError, failed_result, grade_notebook

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
    return Outcome("grader_error", failed_result(job.sid, job.config, error), error)


def run_job(job):
    with tempfile.TemporaryDirectory(prefix="nndl-batch-") as tmp:
        path = Path(tmp) / "submission.ipynb"
        path.write_bytes(job.notebook)
        try:
            result = grade_notebook(path, job.config, device=job.device)
        except GraderError as e:
            return grader_failure(job, str(e))
        except Exception:  # noqa: BLE001 - one student's grader bug must not stop the batch
            return grader_failure(job, traceback.format_exc())
    return Outcome("graded", result)
