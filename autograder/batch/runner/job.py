"""One per-submission job: grade one notebook with the engine, exactly as
``grade.py NOTEBOOK`` does, and return the result (no file is written to the
output folder here, so the job can run on any machine).

A grader failure (``GraderError`` or any bug) becomes status "grader_error"
with the same zero-score result ``grade.py`` writes in that case.
"""

import ctypes
import os
import signal
import tempfile
import traceback
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ...cli import failed_result
from ...engine import GraderError, grade_notebook
from ...sandbox.runner import Sandbox

PR_SET_PDEATHSIG = 1


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


def die_with_parent(parent_pid):
    """Have the kernel SIGKILL this process when the process that started it
    dies (Linux; elsewhere a no-op). Safe to call between fork and exec."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:      # the parent died before prctl
        os.kill(os.getpid(), signal.SIGKILL)


try:   # looked up once, before any fork
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def sandbox_dying_with_us(*args, **kwargs):
    """The engine's Sandbox, but its zygote dies when this process dies, so a
    killed batch leaves no grading processes behind (the zygote's question
    workers already die with the zygote)."""
    return Sandbox(*args, preexec_fn=partial(die_with_parent, os.getpid()), **kwargs)


def grader_failure(job, error):
    return Outcome("grader_error", failed_result(job.sid, job.config, error), error)


def run_job(job):
    with tempfile.TemporaryDirectory(prefix="nndl-batch-") as tmp:
        path = Path(tmp) / "submission.ipynb"
        path.write_bytes(job.notebook)
        try:
            result = grade_notebook(path, job.config, device=job.device,
                                    sandbox_factory=sandbox_dying_with_us)
        except GraderError as e:
            return grader_failure(job, str(e))
        except Exception:  # noqa: BLE001 - one student's grader bug must not stop the batch
            return grader_failure(job, traceback.format_exc())
    return Outcome("graded", result)
