"""``grade.py grade SUBMISSION``: grade one submission and write its results.

A submission is what a batch and Gradescope accept: a notebook, otter's
export zip, or a student's folder; the notebook inside is found by the batch's
rule (:func:`autograder.batch.discover.submission`). Results go to
``--results FILE``, or, as a batch writes them, to ``OUT/<id>/results.json``
(with ``results.staff.json`` and ``feedback.html``) where ``OUT`` is ``--out``
or ``results`` in the current folder; folders are created.

:func:`grade_safely` and :func:`write_safely` are the one result path of the
product: the command line, batch jobs and Gradescope all grade through them,
so that a results file is written in every case. A failure of the grader
itself (a bug, no paddle, a GPU asked for where there is none) gives every
test zero with "Autograder failed, contact staff" and exit status 2; a
student's bad file grades to zero with a message and exit status 0.
"""

import sys
import tempfile
import traceback
from pathlib import Path

from ..engine import GraderError, grade_notebook, test_specs
from ..i18n import use as use_language
from ..lab import load_lab
from ..results import GradingResult, clean_text, write_results

GRADER_FAILED = 2
USAGE_ERROR = 2
DEFAULT_OUT = "results"      # grade.py grade X writes results/<id>/results.json


def specs_of(cfg):
    """The test specs of ``cfg``'s lab, or none when the lab cannot be loaded."""
    try:
        return test_specs(cfg, load_lab(cfg))
    except Exception:  # noqa: BLE001 - even a broken lab gets a results file
        return []


def grade_safely(notebook, cfg, **kwargs):
    """``(result, exit_status)``: the engine's result, or the grader-failure
    result when the grader itself fails. Never raises (but for KeyboardInterrupt)."""
    try:
        return grade_notebook(notebook, cfg, **kwargs), 0
    except GraderError as e:
        error = str(e)
    except Exception:  # noqa: BLE001 - always a result
        error = traceback.format_exc()
    print(clean_text(f"grader error: {error}"), file=sys.stderr)
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
    result, code = grade_safely(notebook, cfg, **kwargs)
    return result, max(code, write_safely(result, Path(results_path), cfg))


def _notebook_of(sub, tmp):
    """The notebook file of ``sub`` (a zip's member copied into ``tmp``), or
    the student's reason why there is none (a SubmissionError)."""
    if sub.member is None:
        return sub.path
    path = Path(tmp) / Path(sub.member).name
    path.write_bytes(sub.read())
    return path


def grade_submission(path, results, cfg, device=None):
    """Grade the submission at ``path`` (a notebook, a zip or a folder) into
    ``results``; returns ``(submission, result, exit_status)``. A submission
    without a notebook to grade gets every test at zero with the reason."""
    from ..batch.discover import SubmissionError, submission

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
            result, code = grade_safely(notebook, cfg, device=device)
            result.submission = str(path) if notebook == path else sub.source
            if sub.message:            # several notebooks: which one was graded
                result.problems.insert(0, sub.message)
    return sub, result, max(code, write_safely(result, Path(results), cfg))


def main(notebook, results=None, out=None, config=None, device=None, quiet=False):
    """Grade one submission (see the module doc) into ``results``, or into
    ``out``/<id>/ as a batch does; print the summary, or with ``quiet`` the total."""
    from ..config import load_config
    from ..results import write_text_atomic

    cfg = load_config(config)
    load_lab(cfg)          # a config that does not match the lab is the instructor's to fix
    use_language(cfg.lab.language)     # the notes about the submission, for the student
    from ..batch.discover import submission

    path = Path(notebook)
    found = submission(path.parent, path, cfg.lab.notebook)
    if path.is_dir() and found.status == "multiple_notebooks":     # a class, most likely
        print(clean_text(f"{path} holds several notebooks and none is named "
                         f"{cfg.lab.notebook}: to grade a class, grade.py batch {path} --out "
                         "OUT_DIR; for one student, keep one notebook"), file=sys.stderr)
        return USAGE_ERROR
    as_batch = results is None            # OUT/<id>/, the batch's layout
    if as_batch:
        results = Path(out or DEFAULT_OUT) / found.sid / "results.json"
    sub, result, code = grade_submission(notebook, results, cfg, device=device)
    written = [results, Path(results).with_name(Path(results).stem + ".staff.json")]
    if as_batch:
        try:               # the student's page, as in a batch
            from ..batch.feedback import render_feedback
            from ..batch.page import context_of

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
