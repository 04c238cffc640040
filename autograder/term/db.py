"""``OUT/gradebook.db``: the term's data in SQLite (the standard library's
``sqlite3``).

Tables: ``students`` (the roster, and anyone who submitted without being on
it), ``submissions`` (each file seen: source, sha256, submission time and where
it came from, how it was matched to the student, the LMS layout, resubmission
history), ``runs`` (each batch or command), ``gradings`` with
``grading_tests`` (automatic points per test, hence per question), ``adjustments``,
``extensions`` and ``log``: what changed, old -> new, why, when and by whom.
The log is append-only (triggers refuse UPDATE and DELETE).

Every change is one transaction (:func:`transaction`): a process killed at any
moment leaves the database as it was before or after that change (SQLite's
rollback journal), never in between. Only the coordinating batch process and
the term commands write it.
"""

import getpass
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from ..results import clean_text
from .roster import Student

FILE = "gradebook.db"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30        # a command waiting for a batch's transaction (each is short)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS students (
    key TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', lms_id TEXT NOT NULL DEFAULT '',
    sis_id TEXT NOT NULL DEFAULT '', login TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', participant TEXT NOT NULL DEFAULT '',
    section TEXT NOT NULL DEFAULT '', on_roster INTEGER NOT NULL, position INTEGER);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, by TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, config_digest TEXT);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, student TEXT NOT NULL, source TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '', digest TEXT, layout TEXT NOT NULL,
    lms_id TEXT NOT NULL DEFAULT '', matched_by TEXT NOT NULL DEFAULT '', submitted_at TEXT,
    time_source TEXT,
    flagged_late INTEGER NOT NULL DEFAULT 0, history TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL, current INTEGER NOT NULL DEFAULT 0,
    UNIQUE (student, source, sha256));
CREATE TABLE IF NOT EXISTS gradings (
    id INTEGER PRIMARY KEY, run INTEGER REFERENCES runs(id), student TEXT NOT NULL,
    digest TEXT NOT NULL, config_digest TEXT, status TEXT NOT NULL, total REAL NOT NULL,
    max_total REAL NOT NULL, graded_at TEXT NOT NULL, imported INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS gradings_student ON gradings (student, id);
CREATE TABLE IF NOT EXISTS grading_tests (
    grading INTEGER NOT NULL REFERENCES gradings(id), test TEXT NOT NULL,
    question TEXT NOT NULL, points REAL NOT NULL, max_points REAL NOT NULL,
    passed INTEGER NOT NULL, hidden INTEGER NOT NULL, PRIMARY KEY (grading, test));
CREATE TABLE IF NOT EXISTS adjustments (
    id INTEGER PRIMARY KEY, student TEXT NOT NULL, question TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('points', 'set')), value REAL NOT NULL,
    reason TEXT NOT NULL, private INTEGER NOT NULL, base REAL, by TEXT NOT NULL,
    at TEXT NOT NULL, undone_at TEXT, undone_by TEXT);
CREATE TABLE IF NOT EXISTS extensions (
    id INTEGER PRIMARY KEY, student TEXT NOT NULL, until TEXT NOT NULL, reason TEXT NOT NULL,
    by TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, by TEXT NOT NULL, student TEXT,
    what TEXT NOT NULL, old TEXT, new TEXT, reason TEXT NOT NULL DEFAULT '', run INTEGER);
CREATE TRIGGER IF NOT EXISTS log_append_only_update BEFORE UPDATE ON log
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_append_only_delete BEFORE DELETE ON log
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"""


class _Connection(sqlite3.Connection):
    """A connection that stores, and looks up, text UTF-8 cannot encode (a file
    name that is not UTF-8 gives an id with lone surrogates) escaped as the
    result files write it (``results.clean_text``)."""

    def execute(self, sql, params=()):
        return super().execute(sql, _clean(params))

    def executemany(self, sql, rows):
        return super().executemany(sql, (_clean(p) for p in rows))


def _clean(params):
    return [clean_text(p) if isinstance(p, str) else p for p in params]


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def who(by=None):
    """``by``, or the OS user running the command."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def connect(out, create=True):
    """The database of the output folder ``out`` (made, with its schema, if
    ``create``); None when it does not exist and ``create`` is false."""
    path = Path(out) / FILE
    if not create and not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           factory=_Connection)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return conn                       # made before: reading it writes nothing
    with transaction(conn):
        for statement in SCHEMA.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return conn


@contextmanager
def transaction(conn):
    """One atomic change: committed when the block ends, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def log(conn, what, *, by, student=None, old=None, new=None, reason="", run=None):
    conn.execute("INSERT INTO log (at, by, student, what, old, new, reason, run) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (now(), by, student, what, None if old is None else str(old),
                  None if new is None else str(new), reason, run))


# -- runs, roster ---------------------------------------------------------------------

def start_run(conn, command, by, config_digest=None):
    with transaction(conn):
        return conn.execute("INSERT INTO runs (command, by, started_at, config_digest) "
                            "VALUES (?, ?, ?, ?)", (command, by, now(), config_digest)).lastrowid


def finish_run(conn, run):
    with transaction(conn):
        conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (now(), run))


def set_roster(conn, fmt, students, extra, source, by, run):
    """Replace the roster (students who submitted without being on it stay); a
    roster that changed is logged."""
    with transaction(conn):
        fields = ("key", "name", "lms_id", "sis_id", "login", "email", "participant", "section")
        before = [tuple(r) for r in conn.execute(
            f"SELECT {', '.join(fields)} FROM students WHERE on_roster ORDER BY position")]
        after = [tuple(getattr(s, f) for f in fields) for s in students]
        conn.execute("UPDATE students SET on_roster = 0, position = NULL")
        for position, row in enumerate(after):
            conn.execute(
                f"INSERT INTO students ({', '.join(fields)}, on_roster, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (key) DO UPDATE SET "
                + ", ".join(f"{f} = excluded.{f}" for f in fields[1:])
                + ", on_roster = 1, position = excluded.position", (*row, position))
        for key, value in (("roster_format", fmt), ("roster_columns", "\t".join(extra)),
                           ("roster_source", str(source))):
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        if before != after:
            log(conn, "roster", by=by, old=f"{len(before)} students",
                new=f"{len(after)} students", reason=f"from {source} ({fmt})", run=run)


def meta(conn, key, default=""):
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def _student(row):
    return Student(**{k: row[k] for k in ("key", "name", "lms_id", "sis_id", "login", "email",
                                          "participant", "section")})


def students(conn, roster_only=False):
    """[Student]: the roster in its order, then (unless ``roster_only``) the others."""
    rows = conn.execute("SELECT * FROM students " + ("WHERE on_roster " if roster_only else "")
                        + "ORDER BY on_roster DESC, position, key").fetchall()
    return [_student(r) for r in rows]


def has_roster(conn):
    return conn.execute("SELECT 1 FROM students WHERE on_roster LIMIT 1").fetchone() is not None


def on_roster(conn, key):
    row = conn.execute("SELECT on_roster FROM students WHERE key = ?", (key,)).fetchone()
    return bool(row and row[0])


# -- submissions ---------------------------------------------------------------------

def record_submissions(conn, found, by, run):
    """``found``: [(student key, Submission, on_roster)] seen in this run. Each
    file (source + content) gets a row once; the seen ones are the current ones;
    a student's new file is logged."""
    stamp = now()
    with transaction(conn):
        conn.execute("UPDATE submissions SET current = 0")
        for key, sub, listed in found:
            if not listed:
                conn.execute("INSERT OR IGNORE INTO students (key, name, lms_id, on_roster) "
                             "VALUES (?, ?, ?, 0)", (key, getattr(sub, "who", ""),
                                                     getattr(sub, "lms_id", "")))
            sha = getattr(sub, "file_sha256", None) or ""
            row = conn.execute("SELECT id, sha256 FROM submissions WHERE student = ? AND "
                               "source = ? AND sha256 = ?", (key, sub.source, sha)).fetchone()
            fields = (getattr(sub, "layout", "") or "folder", getattr(sub, "lms_id", ""),
                      getattr(sub, "matched_by", ""), getattr(sub, "submitted_at", None),
                      "LMS metadata" if getattr(sub, "submitted_at", None) else None,
                      int(getattr(sub, "flagged_late", False)), getattr(sub, "history", ""),
                      sub.status, sub.message)
            if row is None:
                previous = conn.execute("SELECT source FROM submissions WHERE student = ? "
                                        "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
                conn.execute(
                    "INSERT INTO submissions (layout, lms_id, matched_by, submitted_at, "
                    "time_source, flagged_late, history, status, message, student, source, "
                    "sha256, digest, first_seen, last_seen, current) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (*fields, key, sub.source, sha, sub.digest, stamp, stamp))
                if previous is not None:
                    log(conn, "submission", by=by, student=key, old=previous[0],
                        new=sub.source, reason="a new file", run=run)
            else:
                conn.execute("UPDATE submissions SET status = ?, message = ?, matched_by = ?, "
                             "digest = ?, last_seen = ?, current = 1 WHERE id = ?",
                             (sub.status, sub.message, fields[2], sub.digest, stamp, row["id"]))
                if fields[3]:
                    conn.execute("UPDATE submissions SET submitted_at = ?, time_source = ? "
                                 "WHERE id = ? AND (time_source IS NULL OR time_source = ?)",
                                 (fields[3], fields[4], row["id"], fields[4]))


def current_submission(conn, key):
    return conn.execute("SELECT * FROM submissions WHERE student = ? AND current "
                        "ORDER BY id DESC LIMIT 1", (key,)).fetchone()


def set_times(conn, times, source, by, run):
    """``times``: {student key: ISO time} from a --times file, for their current
    submissions; each change logged."""
    with transaction(conn):
        for key, at in times.items():
            row = current_submission(conn, key)
            if row is None or row["submitted_at"] == at:
                continue
            conn.execute("UPDATE submissions SET submitted_at = ?, time_source = ? WHERE id = ?",
                         (at, source, row["id"]))
            log(conn, "submitted_at", by=by, student=key, old=row["submitted_at"], new=at,
                reason=f"from {source}", run=run)


# -- gradings ------------------------------------------------------------------------

def record_grading(conn, key, digest, config_digest, status, result, by, run, imported=False):
    """One grading of ``key`` (a GradingResult), logged with the total before -> after."""
    with transaction(conn):
        previous = latest_grading(conn, key)
        grading = conn.execute(
            "INSERT INTO gradings (run, student, digest, config_digest, status, total, "
            "max_total, graded_at, imported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run, key, digest, config_digest, status, result.score, result.max_score, now(),
             int(imported))).lastrowid
        conn.executemany(
            "INSERT OR REPLACE INTO grading_tests (grading, test, question, points, max_points, "
            "passed, hidden) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(grading, t.name, t.question, t.score, t.max_score, int(bool(t.passed)),
              int(bool(t.hidden))) for t in result.tests])
        old = None if previous is None else f"{previous['total']:g} ({previous['status']})"
        log(conn, "regrade" if previous is not None else "grading", by=by, student=key,
            old=old, new=f"{result.score:g} ({status})",
            reason="from the saved results" if imported else "", run=run)
    return grading


def latest_grading(conn, key, digest=None):
    sql = "SELECT * FROM gradings WHERE student = ?" + (" AND digest = ?" if digest else "")
    return conn.execute(sql + " ORDER BY id DESC LIMIT 1",
                        (key, digest) if digest else (key,)).fetchone()


def grading_tests(conn, grading_id):
    return conn.execute("SELECT * FROM grading_tests WHERE grading = ? ORDER BY rowid",
                        (grading_id,)).fetchall()


def question_points(conn, grading_id):
    """{question: points} of one grading."""
    points = {}
    for t in grading_tests(conn, grading_id):
        points[t["question"]] = points.get(t["question"], 0.0) + t["points"]
    return points


def gradings_of(conn, key):
    return conn.execute("SELECT * FROM gradings WHERE student = ? ORDER BY id",
                        (key,)).fetchall()


def last_grading_run(conn):
    row = conn.execute("SELECT max(run) FROM gradings WHERE NOT imported").fetchone()
    return row[0]


# -- adjustments, extensions ------------------------------------------------------------

def add_adjustment(conn, key, question, kind, value, reason, private, base, by):
    with transaction(conn):
        conn.execute("INSERT INTO adjustments (student, question, kind, value, reason, private, "
                     "base, by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (key, question, kind, value, reason, int(private), base, by, now()))
        log(conn, "adjustment", by=by, student=key, old=None,
            new=describe({"question": question, "kind": kind, "value": value}), reason=reason)


def describe(adjustment):
    """``q3_l2: +3 points``, ``total: set to 80``."""
    a = adjustment
    change = f"{a['value']:+g} points" if a["kind"] == "points" else f"set to {a['value']:g}"
    return f"{a['question'] or 'total'}: {change}"


def undo_adjustment(conn, key, by, reason="undone"):
    """Undo ``key``'s latest active adjustment; returns it, or None when there is none."""
    with transaction(conn):
        row = conn.execute("SELECT * FROM adjustments WHERE student = ? AND undone_at IS NULL "
                           "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE adjustments SET undone_at = ?, undone_by = ? WHERE id = ?",
                     (now(), by, row["id"]))
        log(conn, "undo adjustment", by=by, student=key, old=describe(row), new=None,
            reason=reason)
    return row


def adjustments(conn, key):
    """The active adjustments of ``key``, oldest first."""
    return conn.execute("SELECT * FROM adjustments WHERE student = ? AND undone_at IS NULL "
                        "ORDER BY id", (key,)).fetchall()


def set_extension(conn, key, until, reason, by):
    with transaction(conn):
        old = extension(conn, key)
        conn.execute("INSERT INTO extensions (student, until, reason, by, at) "
                     "VALUES (?, ?, ?, ?, ?)", (key, until, reason, by, now()))
        log(conn, "extension", by=by, student=key, old=old, new=until, reason=reason)


def extension(conn, key):
    row = conn.execute("SELECT until FROM extensions WHERE student = ? ORDER BY id DESC LIMIT 1",
                       (key,)).fetchone()
    return row[0] if row else None


def log_entries(conn):
    return conn.execute("SELECT * FROM log ORDER BY id").fetchall()
