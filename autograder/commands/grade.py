"""``grade.py grade SUBMISSION``: grade one submission and write its results.

A submission is what a batch and Gradescope accept: a notebook, otter's
export zip, or a student's folder; the notebook inside is found by the batch's
rule (:func:`autograder.batch.discover.submission`). Results go to
``--results FILE``, or, as a batch writes them, to ``OUT/<id>/results.json``
(with ``results.staff.json`` and ``feedback.html``) where ``OUT`` is ``--out``
or ``results`` in the current folder; folders are created. The grading and the
writing are :mod:`autograder.grading`'s, as for a batch and Gradescope.
"""

import sys
import tempfile
from pathlib import Path

from ..batch.discover import SubmissionError, submission
from ..batch.feedback import render_feedback
from ..batch.page import context_of
from ..config import load_config
from ..errors import ExitCode
from ..grading import grade_safely, specs_of, write_safely
from ..i18n import use as use_language
from ..lab import load_lab
from ..results import GradingResult, clean_text, staff_path, write_text_atomic
from ..sandbox.protocol import Status

USAGE_ERROR = ExitCode.USAGE
DEFAULT_OUT = "results"      # grade.py grade X writes results/<id>/results.json


def _notebook_of(sub, tmp):
    """The notebook file of ``sub`` (a zip's member copied into ``tmp``), or
    the student's reason why there is none (a SubmissionError)."""
    if sub.member is None:
        return sub.path
    path = Path(tmp) / Path(sub.member).name
    path.write_bytes(sub.read())
    return path


def grade_submission(path, results, cfg, device=None, lab=None):
    """Grade the submission at ``path`` (a notebook, a zip or a folder) into
    ``results``; returns ``(submission, result, exit_status)``. A submission
    without a notebook to grade gets every test at zero with the reason."""
    path = Path(path)
    sub = submission(path.parent, path, cfg.lab.notebook)
    with tempfile.TemporaryDirectory(prefix="nndl-grade-") as tmp:
        try:
            notebook = _notebook_of(sub, tmp) if sub.ok else None
        except SubmissionError as e:
            sub.status, sub.message = e.status, e.message
            notebook = None
        if notebook is None:
            result, code = GradingResult.not_graded(sub.source, specs_of(cfg), sub.message,
                                                    cfg.lab.language), 0
        else:
            result, code = grade_safely(notebook, cfg, device=device, lab=lab,
                                         staff_log=staff_path(results))
            result.submission = str(path) if notebook == path else sub.source
            if sub.message:            # several notebooks: which one was graded
                result.problems.insert(0, sub.message)
    return sub, result, max(code, write_safely(result, Path(results), cfg))


def main(notebook, results=None, out=None, config=None, device=None, quiet=False):
    """Grade one submission (see the module doc) into ``results``, or into
    ``out``/<id>/ as a batch does; print the summary, or with ``quiet`` the total."""
    cfg = load_config(config)
    lab = load_lab(cfg)    # a config that does not match the lab is the instructor's to fix
    use_language(cfg.lab.language)     # the notes about the submission, for the student
    path = Path(notebook)
    found = submission(path.parent, path, cfg.lab.notebook)
    if path.is_dir() and found.status == Status.MULTIPLE_NOTEBOOKS:     # a class, most likely
        print(clean_text(f"{path} holds several notebooks and none is named "
                         f"{cfg.lab.notebook}: to grade a class, grade.py batch {path} --out "
                         "OUT_DIR; for one student, keep one notebook"), file=sys.stderr)
        return USAGE_ERROR
    as_batch = results is None            # OUT/<id>/, the batch's layout
    if as_batch:
        results = Path(out or DEFAULT_OUT) / found.sid / "results.json"
    sub, result, code = grade_submission(notebook, results, cfg, device=device, lab=lab)
    written = [results, staff_path(results)]
    if as_batch:
        try:               # the student's page, as in a batch
            write_text_atomic(Path(results).parent / "feedback.html",
                              render_feedback(sub.sid, result, context_of(cfg)))
            written.append(Path(results).parent / "feedback.html")
        except Exception as e:  # noqa: BLE001 - the results are written; the page is extra
            print(clean_text(f"could not write feedback.html: {e!r}"), file=sys.stderr)
    if quiet:
        print(clean_text(f"{sub.sid}: {result.score:g} / {result.max_score:g} "
                         f"(results in {results})"))
    else:
        sys.stdout.write(result.to_text())
        print(clean_text("results written to " + ", ".join(map(str, written))))
    return code
