"""``grade.py batch SUBMISSIONS_DIR --out OUT_DIR``: batch grading of a whole class.

One isolated grading per submission (``runner.job``), run in a local process
pool (``runner.pool``) or on a Dask cluster (``runner.cluster``); each result
is saved as soon as it is done (``store``), so an interrupted batch resumes
where it stopped. At the end: ``gradebook.csv`` (``gradebook``) and
``report.html`` (``report``), and the similar answers of each graded class in
``similarity.csv`` and the report (``similarity``: flags, never penalties);
each student also gets ``feedback.html`` (``feedback``). See docs/batch.md.
"""

import fcntl
import hashlib
import os
import sys
import traceback
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

try:
    from tqdm import tqdm
except ImportError:     # Gradescope's bundle (grade.py selftest there) runs no batch
    tqdm = None

from ..config import DEFAULT_CONFIG, grading_bytes, load_config
from ..engine import GraderError, choose_device
from ..errors import ExitCode
from ..i18n import use as use_language
from ..lab import load_lab
from ..notebook import NotebookError, class_sources, parse, read_notebook
from ..paths import REPOSITORY
from ..batch import settings as saved_settings
from ..batch import store
from ..batch.discover import SubmissionError
from ..batch.discover import discover as find_submissions
from ..batch.page import context as page_context
from ..batch.gradebook import collect, one_line, question_maxima, render_gradebook
from ..batch.lms import NAMES as LMS_NAMES
from ..batch.lms import DownloadError, recognise
from ..batch.lms import submissions as lms_submissions
from ..batch.runner.cluster import run_dask
from ..batch.runner.job import Job, Outcome, grader_failure
from ..batch.runner.pool import run_local
from ..sandbox.protocol import Status
from ..term import TermError
from ..term import db as term_db
from ..term.roster import Student, read_roster, resolve
from ..term.session import (Term, class_rows, items, match, publish, read_times, standings,
                            write_items)



def _say(args, text):
    if not args.quiet:
        print(text, file=sys.stderr)


def _hash_all(subs, config_bytes):
    """Give each gradable submission its content hash (and its file's, for the
    gradebook database); unreadable ones get a status."""
    for sub in subs:
        if sub.ok:
            try:
                notebook = sub.read()
            except SubmissionError as e:
                sub.status, sub.message = e.status, e.message
                continue
            sub.digest = store.digest(notebook, config_bytes)
            sub.file_sha256 = hashlib.sha256(notebook).hexdigest()


def known_code(cfg, lab, root):
    """{label: {class: source}} of the code every student may have (``[lab]
    known_code``: the book's, the solution, the template); missing files are
    left out."""
    known = {}
    for label, rel in cfg.lab.known_code.items():
        path = Path(root) / rel
        try:
            notebook = (read_notebook(path) if path.suffix == ".ipynb" else  # .py: one cell
                        {"cells": [{"cell_type": "code", "source": path.read_text("utf-8")}]})
            program = parse(notebook, lab.grader_modules())
        except (OSError, NotebookError):
            continue
        known[label] = class_sources(program, lab.graded_classes)
    return known


def _similarity(similarity, out, entries, cfg, lab):
    """Compare the graded students' classes; write ``similarity.csv``; return
    (clusters, matrices) for the report."""
    compare, to_csv = similarity.compare, similarity.to_csv
    sources = {e.sid: e.result.staff.get("class_sources", {}) for e in entries
               if e.result is not None and e.status == Status.GRADED}
    pairs, clusters, matrices = compare(sources, known_code(cfg, lab, REPOSITORY))
    store.write_text_atomic(out / store.SIMILARITY, to_csv(pairs, clusters))
    return clusters, matrices


def _class_report(args, out, entries, cfg, lab, maxima, config_file_bytes, item_table):
    """``similarity.csv`` and ``report.html``."""
    # matplotlib (the report's plots) is imported here, by the one command that draws
    # them: not by every command of the command line, nor on the grading path
    from ..batch import report, similarity

    try:
        similar = _similarity(similarity, out, entries, cfg, lab)
    except Exception:  # noqa: BLE001 - a flag for staff must not cost the gradebook
        _say(args, f"similarity could not be computed:\n{traceback.format_exc()}")
        similar = None
    store.write_text_atomic(out / store.REPORT, report.render_report(
        entries, maxima, similar, context=page_context(cfg, lab, config_file_bytes),
        items=item_table))


def _jobs(todo, cfg, config_bytes, device, device_note=""):
    """Jobs made lazily, so only the running ones' notebooks are in memory."""
    for sub in todo:
        try:
            notebook = sub.read()
        except SubmissionError as e:     # changed since it was hashed
            sub.status, sub.message = e.status, e.message
            continue
        yield Job(sub.sid, notebook, store.digest(notebook, config_bytes), cfg, device,
                  device_note)


def _run(args, todo, cfg, config_bytes, out, by_id, unsaved, term):
    """Grade ``todo``, saving each result as it comes. A student whose results
    cannot be saved is saved as a grader error instead; ``unsaved`` gets
    {sid: error} for each, so the gradebook says so even if that failed too."""
    tqdm.monitor_interval = 0           # no monitor thread in the process that forks
    errors = 0
    bar = tqdm(total=len(todo), desc="grading", unit="nb", disable=args.quiet,
               file=sys.stderr, dynamic_ncols=True)

    def on_done(job, outcome):
        nonlocal errors
        try:
            store.save(out, by_id[job.sid], job, outcome)
        except Exception:  # noqa: BLE001 - one student's results must not stop the batch
            error = f"saving the results failed:\n{traceback.format_exc()}"
            _say(args, f"\n{job.sid}: {error}")
            outcome = grader_failure(job, error)
            unsaved[job.sid] = error
            try:
                store.save(out, by_id[job.sid], job, outcome)
            except Exception:  # noqa: BLE001 - the gradebook still says grader_error
                _say(args, f"{job.sid}: saving the failure notice failed too:\n"
                           f"{traceback.format_exc()}")
        if job.sid not in unsaved:
            try:
                term.graded(job.sid, job.digest, outcome)
            except Exception:  # noqa: BLE001 - the end of the batch imports it from the files
                _say(args, f"\n{job.sid}: recording the grading in the database failed:\n"
                           f"{traceback.format_exc()}")
        errors += outcome.status != Status.GRADED
        bar.set_postfix_str(f"last={job.sid} grader_errors={errors}", refresh=False)
        bar.update(1)

    jobs = _jobs(todo, cfg, config_bytes, args.device, args.device_note)
    try:
        if args.scheduler:
            run_dask(jobs, args.scheduler, on_done)
        else:
            run_local(jobs, args.jobs or os.cpu_count() or 1, on_done)
    finally:
        bar.close()


def _find(args, out, cfg):
    """(layout, submissions, skipped entries): an LMS download (``lms``) or today's
    layouts (``discover``)."""
    layout, download = recognise(args.submission, exclude=[out])
    if layout is None:
        subs, skipped = find_submissions(args.submission, exclude=[out],
                                         expected=cfg.lab.notebook)
        return "folder", subs, skipped
    return layout, lms_submissions(layout, download, cfg.lab.notebook), []


def _roster(args, out):
    """The roster students of ``--roster``, else of the database's saved roster (none:
    []), and the parsed roster to save; raises TermError for a bad roster."""
    if args.roster:
        roster = read_roster(args.roster)
        return roster[1], roster
    conn = term_db.connect(out, create=False)
    if conn is None:
        return [], None
    try:
        return term_db.students(conn, roster_only=True), None
    finally:
        conn.close()


def _term_end(args, out, cfg, term, entries, subs):
    """The roster's rows, each student's standing, items.csv, and the student
    files that must show a late penalty or an adjustment. Returns (entries,
    standings, item rows)."""
    for sub in subs:                         # saved on disk, not yet in the database
        if sub.ok and store.is_done(out, sub.sid, sub.digest) \
                and not term.has_grading(sub.sid, sub.digest):
            term.graded(sub.sid, sub.digest,
                        Outcome(Status.GRADED, store.load_result(out, sub.sid)), imported=True)
    entries = class_rows(term.conn, entries, bool(term.roster()))
    standing = standings(term.conn, cfg, {e.sid: e.status for e in entries})
    for e in entries:
        if e.result is not None and publish(out, e.sid, e.result, standing[e.sid], cfg):
            _say(args, f"{e.sid}: results.json and feedback.html now show the late penalty "
                       "and adjustments")
    rows = items(term.conn, [e.sid for e in entries if e.result is not None])
    write_items(out, rows)
    return entries, standing, rows


def _key_of(students, name):
    try:
        return resolve(students, name).key
    except TermError:
        return name                           # reported below as having no submission


def main(submissions, out, config=None, jobs=None, force=False, only=None, scale=None,
         scheduler=None, device=None, quiet=False, roster=None, times=None, by=None):
    """Grade every submission in the folder or LMS download ``submissions`` into
    ``out`` (see the module doc); returns the exit status."""
    args = SimpleNamespace(submission=submissions, out=out, config=config, jobs=jobs, force=force,
                           only=only, scale=scale, scheduler=scheduler, device=device, quiet=quiet,
                           roster=roster, times=times, by=by, device_note="")
    kept, notes = saved_settings.resolve(out, {"config": config, "scale": scale})
    args.config, args.scale = kept["config"], kept["scale"]
    for note in notes:               # even with -q: they change what is graded or written
        print(f"keeping {note}", file=sys.stderr)
    config_path = Path(args.config or DEFAULT_CONFIG)
    cfg = load_config(config_path)
    lab = load_lab(cfg)
    use_language(cfg.lab.language)     # the notes about submissions, for the students
    config_file_bytes = config_path.read_bytes()
    config_bytes = grading_bytes(config_file_bytes)       # [late] edits regrade nothing
    out = Path(args.out)
    try:
        layout, subs, skipped = _find(args, out, cfg)
    except DownloadError as e:
        print(e, file=sys.stderr)
        return ExitCode.USAGE
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".batch.lock", "w")      # released by the kernel however we exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another batch is already writing to {out}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        students, roster = _roster(args, out)
        subs, listed = match(subs, students)
        times = read_times(args.times, students or [Student(s.sid) for s in subs]) \
            if args.times else None
    except TermError as e:
        print(e, file=sys.stderr)
        return ExitCode.USAGE
    if args.only and students:                 # any roster id names a student
        args.only = [_key_of(students, name) for name in args.only]
    saved_settings.save(out, kept)
    if args.only:
        unknown = sorted(set(args.only) - {s.sid for s in subs})
        if unknown:
            print(f"--only: no submission for {', '.join(unknown)} in {args.submission}",
                  file=sys.stderr)
            return ExitCode.USAGE
    if layout in LMS_NAMES:
        _say(args, f"recognised {LMS_NAMES[layout]} in {args.submission}")
    for name in skipped:
        _say(args, f"not a submission: {name} (not a notebook, a zip or a folder); its "
                   "student gets a gradebook row with the status not_a_notebook")
    _hash_all(subs, config_bytes)
    term = Term(out, cfg, config_path, args.by)
    if roster is not None:
        term.set_roster(args.roster, roster)
    term.record(subs, listed)
    if times:
        term.set_times(times, args.times)
    if args.only:
        todo = [s for s in subs if s.ok and s.sid in args.only]    # regraded, whatever was saved
    else:
        todo = [s for s in subs
                if s.ok and (args.force or not store.is_done(out, s.sid, s.digest))]
    gradable = sum(s.ok for s in subs)
    _say(args, f"{len(subs)} submissions: {len(todo)} to grade, {gradable - len(todo)} already "
               f"graded, {len(subs) - gradable} not gradable")

    if todo and not args.scheduler:    # the preflight, once, before grading anyone
        try:
            args.device, args.device_note = choose_device(cfg, args.device)
        except GraderError as e:
            print(f"grader error: {e}", file=sys.stderr)
            return ExitCode.GRADER
    unsaved = {}
    try:                     # Ctrl-C, or SIGTERM (made a KeyboardInterrupt by autograder.cli)
        _run(args, todo, cfg, config_bytes, out, {s.sid: s for s in subs}, unsaved, term)
    except KeyboardInterrupt:
        _say(args, "interrupted: the submissions graded so far are saved; run the same "
                   "command again to grade the rest (gradebook.csv and report.html are "
                   "written when all are graded)")
        return ExitCode.INTERRUPTED

    entries = collect(out, subs)
    for entry in entries:
        if entry.sid in unsaved and entry.status != Status.GRADER_ERROR:   # nothing saved
            entry.status, entry.message, entry.result = (
                Status.GRADER_ERROR, one_line(f"autograder failed: {unsaved[entry.sid]}"), None)
    entries, standing, item_table = _term_end(args, out, cfg, term, entries, subs)
    maxima = question_maxima(cfg, lab)
    store.write_text_atomic(out / store.GRADEBOOK,
                            render_gradebook(entries, maxima, args.scale, standing))
    _class_report(args, out, entries, cfg, lab, maxima, config_file_bytes, item_table)
    term.finish()
    statuses = Counter(e.status for e in entries)
    _say(args, f"done: {len(todo)} graded in this run; the gradebook holds "
               + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) +
         "".join(f"\n  {out / name}" for name in store.CLASS_FILES[:3]))
    if args.device_note:
        _say(args, f"note: {args.device_note}")
    return ExitCode.GRADER if statuses.get(Status.GRADER_ERROR) else ExitCode.OK
