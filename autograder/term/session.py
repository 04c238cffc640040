"""What a batch run and the term commands do with ``OUT/gradebook.db``: match
the submissions to the roster, record them and their gradings, work out each
student's standing, and keep the student's files (``results.json``,
``feedback.html``) showing their late penalty and adjustments."""

import csv
import hashlib
import json
from pathlib import Path

from ..batch.discover import Submission
from ..batch.feedback import render_feedback
from ..batch.gradebook import Entry, one_line
from ..batch.page import context_of
from ..config import grading_bytes
from ..results import write_results, write_text_atomic
from . import TermError, db
from ..sandbox.protocol import Status
from .items import item_rows, render_items
from .late import parse_time
from .roster import resolve
from .scores import standing

MISSING, NOT_ON_ROSTER = Status.MISSING, Status.NOT_ON_ROSTER
ITEMS = "items.csv"
ID_KINDS = {"canvas": ("lms_id", "Canvas user id"), "moodle": ("participant",
                                                                "Moodle participant id")}


def config_digest(config_path):
    """The hash of what a grading depends on in the config (not [late], [gradebook])."""
    return hashlib.sha256(grading_bytes(Path(config_path).read_bytes())).hexdigest()


def read_times(path, students):
    """{student key: ISO time} from a ``student_id,submitted_at`` CSV; every id must
    name one student (any roster id) and every time carry its time zone."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TermError(f"cannot read the times file {path}: {e}") from None
    if rows and not {"student_id", "submitted_at"} <= set(rows[0]):
        raise TermError(f"the times file {path} needs the columns student_id,submitted_at")
    times = {}
    for line, row in enumerate(rows, start=2):
        student = resolve(students, row["student_id"] or "")
        at = parse_time(row["submitted_at"], f"{path} line {line}: the time")
        times[student.key] = at.isoformat()
    return times


def _match_one(sub, students):
    """The roster student ``sub`` (a submission named by the LMS's id, or by its
    file name) belongs to, and how it was matched; (None, "") if none."""
    kind = getattr(sub, "id_kind", "")
    if kind == "canvas_anonymous":
        return None, ""
    if kind in ID_KINDS:
        field, label = ID_KINDS[kind]
        found = [s for s in students if getattr(s, field) == sub.lms_id]
        if len(found) == 1:
            return found[0], f"{label} {sub.lms_id}"
    if kind == "gradescope":     # the email first: verified, while a student may edit the SID
        for submitter in sub.submitters or [{"sid": sub.lms_id}]:
            for field, key in (("email", "email"), ("sis_id", "sid")):
                value = (submitter.get(key) or "").casefold()
                found = [s for s in students if value and getattr(s, field).casefold() == value]
                if len(found) == 1:
                    return found[0], f"Gradescope {key} {submitter.get(key)}"
    name = getattr(sub, "lms_id", "") or sub.sid
    try:
        return resolve(students, name), f"roster id {name}"
    except TermError:
        return None, ""


def match(subs, students):
    """Rename each submission to its roster student's key; returns {key: on roster}.
    Two submissions of one student become one ``duplicate_id`` row."""
    listed, by_key = {}, {}
    for sub in subs:
        student, how = _match_one(sub, students) if students else (None, "")
        if student is not None:
            sub.sid, sub.matched_by = student.key, how
        listed[sub.sid] = student is not None
        by_key.setdefault(sub.sid, []).append(sub)
    merged = []
    for key, same in sorted(by_key.items()):
        if len(same) == 1:
            merged.append(same[0])
            continue
        sources = ", ".join(s.source for s in same)
        merged.append(Submission(key, sources, status=Status.DUPLICATE_ID,
                                 message=f"several submissions for this student: {sources}"))
    return merged, listed


class Term:
    """The database side of one batch run (the coordinating process only)."""

    def __init__(self, out, cfg, config_path, by, command="batch"):
        self.out, self.cfg = Path(out), cfg
        self.by = db.who(by)
        self.conn = db.connect(out)
        self.config_digest = config_digest(config_path)
        self.run = db.start_run(self.conn, command, self.by, self.config_digest)
        with db.transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)",
                              (str(Path(config_path).resolve()),))

    def set_roster(self, roster_path, roster):
        fmt, students, extra = roster
        db.set_roster(self.conn, fmt, students, extra, roster_path, self.by, self.run)

    def roster(self):
        return db.students(self.conn, roster_only=True)

    def record(self, subs, listed):
        db.record_submissions(self.conn, [(s.sid, s, listed.get(s.sid, False)) for s in subs],
                              self.by, self.run)

    def set_times(self, times, source):
        db.set_times(self.conn, times, str(source), self.by, self.run)

    def graded(self, sid, digest, outcome, imported=False):
        db.record_grading(self.conn, sid, digest, self.config_digest, outcome.status,
                          outcome.result, self.by, self.run, imported)

    def has_grading(self, sid, digest):
        return db.latest_grading(self.conn, sid, digest) is not None

    def finish(self):
        db.finish_run(self.conn, self.run)
        self.conn.close()


def class_rows(conn, entries, has_roster):
    """The batch's entries (``gradebook.Entry``) with the roster's view: a
    stranger's entry becomes ``not_on_roster``, a roster student without one
    gets a ``missing`` entry."""
    by_key = {e.sid: e for e in entries}
    if not has_roster:
        return entries
    for e in entries:
        if not db.on_roster(conn, e.sid):
            detail = e.message if e.status == Status.GRADED else f"{e.status}: {e.message}"
            e.status, e.message = NOT_ON_ROSTER, one_line(
                "no roster student has this id, so it is not exported"
                + (f" ({detail})" if detail else ""))
    for s in db.students(conn, roster_only=True):
        if s.key not in by_key:
            entries.append(Entry(s.key, "", MISSING, "nothing was submitted"))
    return sorted(entries, key=lambda e: e.sid)


def standings(conn, cfg, statuses):
    """{key: Standing} for {key: status}."""
    return {key: standing(conn, cfg, key, status, cfg.max_score)
            for key, status in statuses.items()}


def db_status(conn, key):
    """A student's status from the database alone (for the commands)."""
    sub = db.current_submission(conn, key)
    if not db.on_roster(conn, key) and db.has_roster(conn):
        return NOT_ON_ROSTER
    if sub is None:
        return MISSING
    if sub["status"] != Status.OK:
        return sub["status"]
    grading = db.latest_grading(conn, key, sub["digest"]) if sub["digest"] else None
    return grading["status"] if grading is not None else Status.NOT_GRADED


def all_standings(conn, cfg):
    return standings(conn, cfg, {s.key: db_status(conn, s.key) for s in db.students(conn)})


def term_view(st):
    """What the student's files show of the term, or None when nothing applies."""
    view = st.student_view()
    return view if (view["late"] or view["adjustments"]) else None


def publish(out, key, result, st, cfg):
    """Rewrite ``key``'s results.json and feedback.html when what they show of
    the term (late penalty, adjustments, final score) is not ``st``'s (pages as
    the batch makes them with ``cfg``); returns whether they were rewritten."""
    view = term_view(st)
    if json.loads(json.dumps(view)) == result.term:
        return False
    result.term = view
    folder = Path(out) / key
    write_results(result, folder / "results.json")
    write_text_atomic(folder / "feedback.html", render_feedback(key, result, context_of(cfg)))
    return True


def items(conn, keys):
    """The rows of items.csv over the graded students ``keys``."""
    gradings = []
    for key in keys:
        sub = db.current_submission(conn, key)
        grading = db.latest_grading(conn, key, sub["digest"]) if sub and sub["digest"] else None
        if grading is None or grading["status"] != Status.GRADED:
            continue
        gradings.append({t["test"]: (t["points"], t["max_points"], bool(t["passed"]),
                                     bool(t["hidden"]), t["question"])
                         for t in db.grading_tests(conn, grading["id"])})
    return item_rows(gradings) if gradings else []


def write_items(out, rows):
    write_text_atomic(Path(out) / ITEMS, render_items(rows))

