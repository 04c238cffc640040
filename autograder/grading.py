"""Grade one notebook and write its results, whatever happens.

:func:`grade_safely` and :func:`write_safely` are the one result path of the
product: the command line, batch jobs and Gradescope all grade through them,
so that a results file is written in every case. A failure of the grader
itself (a bug, no paddle, a GPU asked for where there is none) gives every
test zero with "Autograder failed, contact staff" and exit status 2; a
student's bad file grades to zero with a message and exit status 0. A fault's
traceback goes to the staff log only (the result's ``grader_error``, written to
the staff sidecar ``results.staff.json``); the terminal gets one line.
"""

import sys
import traceback
from pathlib import Path

from .errors import ExitCode
from .engine import GraderError, grade_notebook, test_specs
from .lab import load_lab
from .results import GradingResult, clean_text, staff_path, write_results

GRADER_FAILED = ExitCode.GRADER
STAFF_LOG = "results.staff.json"      # where a fault's details are, when the caller does not say


def specs_of(cfg):
    """The test specs of ``cfg``'s lab, or none when the lab cannot be loaded."""
    try:
        return test_specs(cfg, load_lab(cfg))
    except Exception:  # noqa: BLE001 - even a broken lab gets a results file
        return []


def grade_safely(notebook, cfg, staff_log=STAFF_LOG, **kwargs):
    """``(result, exit_status)``: the engine's result, or the grader-failure
    result when the grader itself fails. Never raises (but for KeyboardInterrupt).
    A fault prints one line on stderr naming ``staff_log``, where its details
    (the traceback) go with the result's ``grader_error``."""
    try:
        return grade_notebook(notebook, cfg, **kwargs), 0
    except GraderError as e:         # the grader's own diagnosis: its message says it all
        error, summary = str(e), str(e)
    except Exception as e:  # noqa: BLE001 - always a result
        error, summary = traceback.format_exc(), f"{type(e).__name__}: {e}"
    summary = " ".join(clean_text(summary).split())
    print(f"grader error: {summary} (details in {staff_log})", file=sys.stderr)
    return GradingResult.grader_failed(clean_text(notebook), specs_of(cfg), error,
                                       cfg.lab.language), GRADER_FAILED


def write_safely(result, path, cfg):
    """Write ``result`` to ``path`` (and the staff sidecar). If that fails, try
    the grader-failure result instead. Returns the exit status: 0, or 2 when
    the grader failed at any point."""
    code = GRADER_FAILED if result.grader_error else 0
    try:
        write_results(result, path)
        return code
    except Exception:  # noqa: BLE001 - never leave without a results file
        tb = traceback.format_exc()
        print(clean_text(f"could not write the results:\n{tb}"), file=sys.stderr)
    failed = GradingResult.grader_failed(clean_text(result.submission), specs_of(cfg),
                                         clean_text(f"writing the results failed:\n{tb}"),
                                         cfg.lab.language)
    try:
        write_results(failed, path)
    except Exception as e:  # noqa: BLE001 - e.g. the folder is not writable
        print(clean_text(f"could not write {path} either: {e!r}"), file=sys.stderr)
    return GRADER_FAILED


def grade_and_write(notebook, results_path, cfg, **kwargs):
    """Grade ``notebook`` and write ``results_path``, whatever happens;
    returns ``(result, exit_status)``."""
    result, code = grade_safely(notebook, cfg, staff_log=staff_path(results_path), **kwargs)
    return result, max(code, write_safely(result, Path(results_path), cfg))
