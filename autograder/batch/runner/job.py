"""One per-submission job: grade one notebook exactly as ``grade.py NOTEBOOK``
does (:func:`autograder.grading.grade_safely`), and return the result (no file
is written to the output folder here, so the job can run on any machine).

A grader failure becomes status "grader_error" with the same zero-score
result ``grade.py`` writes in that case.
"""

import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ...engine import open_sandbox
from ...grading import grade_safely, specs_of
from ...results import GradingResult
from ...sandbox.protocol import Status


@dataclass
class Job:
    sid: str
    notebook: bytes
    digest: str            # sha256 of the notebook bytes + the config file bytes
    config: object         # autograder.config.Config
    device: str = None
    device_note: str = ""  # why the batch grades on the CPU though a GPU was asked for


@dataclass
class Outcome:
    status: str            # "graded" or "grader_error"
    result: object         # autograder.results.GradingResult
    error: str = ""


def grader_failure(job, error):
    return Outcome(Status.GRADER_ERROR,
                   GradingResult.grader_failed(job.sid, specs_of(job.config), error,
                                               job.config.lab.language), error)


_WARM = {}    # (config, device, thread) -> a sandbox kept open for this process's life


def warm_sandbox(job, under=None):
    """This thread's sandbox for ``job``'s config and device, started once (a
    zygote that dies is restarted by the sandbox itself). Its work folder is
    made in ``under`` when given: whoever owns ``under`` removes it, even if
    this process is killed."""
    key = (job.config.source, job.device, threading.get_ident())
    if key not in _WARM:
        stack = ExitStack()
        workdir = tempfile.mkdtemp(prefix="nndl-grade-", dir=under) if under else None
        _WARM[key] = (stack, stack.enter_context(open_sandbox(job.config, device=job.device,
                                                              workdir=workdir)))
    return _WARM[key][1]


def run_job(job, warm=False, under=None):
    """Grade ``job``'s notebook; with ``warm``, in this process's warm sandbox
    (:func:`warm_sandbox`), which later jobs reuse. The notebook's copy and the
    sandbox's work folder are made in ``under`` when given."""
    with tempfile.TemporaryDirectory(prefix="nndl-batch-", dir=under) as tmp:
        path = Path(tmp) / "submission.ipynb"
        path.write_bytes(job.notebook)
        try:
            sandbox = warm_sandbox(job, under) if warm else None
        except Exception:  # noqa: BLE001 - e.g. no GPU: the same failure grade.py reports
            sandbox = None
        result, code = grade_safely(path, job.config, device=job.device, sandbox=sandbox,
                                    staff_log=f"the batch's {job.sid}/results.staff.json")
    if job.device_note:
        result.staff["device_note"] = job.device_note
    if code:
        return Outcome(Status.GRADER_ERROR, result, result.grader_error or "")
    return Outcome(Status.GRADED, result)
