"""The output folder, one subfolder per student::

    OUT/<id>/results.json         Gradescope format, exactly as grade.py NOTEBOOK writes it
    OUT/<id>/results.staff.json   the staff sidecar (hidden-test diagnoses, logs)
    OUT/<id>/feedback.html        for the student
    OUT/<id>/batch.json           written last: which notebook bytes + config were graded
    OUT/batch.log                 one JSON line per grading, in the order they finished
    OUT/gradebook.csv, OUT/report.html, OUT/similarity.csv   the class's files
    OUT/batch-settings.json       the settings a rerun keeps (``settings``)
    OUT/gradebook.db, OUT/items.csv                          the term's (autograder.term)

Every file is written atomically (temporary file + rename) and ``batch.json``
last, so a batch killed at any moment leaves each student either completely
saved or not saved at all; a rerun regrades only the latter.
"""

import hashlib
import json
import time
from pathlib import Path

from ..sandbox.protocol import Status
from ..i18n import DEFAULT as DEFAULT_LANGUAGE
from .feedback import render_feedback
from .page import context_of
from ..results import (GradingResult, TestResult, staff_path, write_json_atomic,
                       write_results, write_text_atomic)

MARKER = "batch.json"
LOG, GRADEBOOK, REPORT, SIMILARITY = "batch.log", "gradebook.csv", "report.html", "similarity.csv"
SETTINGS = "batch-settings.json"
CLASS_FILES = (GRADEBOOK, REPORT, SIMILARITY, LOG, SETTINGS,   # no student id may take these
               "gradebook.db", "items.csv")                    # names (autograder.term's)


def digest(notebook, config_bytes):
    """The content hash deciding whether a saved grading is still valid."""
    return hashlib.sha256(notebook + config_bytes).hexdigest()


def read_marker(out, sid):
    try:
        return json.loads((Path(out) / sid / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_done(out, sid, sha):
    """Graded before from the same notebook and config (grader errors are retried)."""
    marker = read_marker(out, sid)
    folder = Path(out) / sid
    return (marker is not None and marker.get("sha256") == sha
            and marker.get("status") == Status.GRADED
            and (folder / "results.json").is_file()
            and staff_path(folder / "results.json").is_file())


def save(out, sub, job, outcome):
    folder = Path(out) / sub.sid
    for leftover in folder.glob(".*.tmp"):      # from a batch killed while writing
        leftover.unlink(missing_ok=True)
    result = outcome.result
    result.submission = sub.source
    write_results(result, folder / "results.json")
    write_text_atomic(folder / "feedback.html", render_feedback(sub.sid, result,
                                                                     context_of(job.config)))
    marker = {"student_id": sub.sid, "source": sub.source, "sha256": job.digest,
              "status": outcome.status, "error": outcome.error, "score": result.score,
              "max_score": result.max_score, "execution_time": round(result.execution_time, 2),
              "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json_atomic(folder / MARKER, marker)
    line = {k: marker[k] for k in ("graded_at", "student_id", "status", "score", "sha256")}
    with open(Path(out) / LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def load_result(out, sid):
    """The GradingResult saved for ``sid`` (from the staff sidecar)."""
    staff = json.loads(staff_path(Path(out) / sid / "results.json").read_text(encoding="utf-8"))
    fields = {"submission", "score", "grader_error", "problems", "tests", "execution_time",
              "term", "language"}
    result = GradingResult(submission=staff.get("submission", sid),
                           tests=[TestResult(**t) for t in staff.get("tests", [])],
                           problems=list(staff.get("problems", [])),
                           grader_error=staff.get("grader_error"), term=staff.get("term"),
                           language=staff.get("language", DEFAULT_LANGUAGE),
                           staff={k: v for k, v in staff.items() if k not in fields})
    result.execution_time = staff.get("execution_time") or 0.0
    return result

