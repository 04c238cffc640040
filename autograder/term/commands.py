"""What the term commands (``adjust``, ``extend``, ``changes``, ``export``) share:
the output folder's database and config, naming a student, and refreshing that
student's files after a change."""

from pathlib import Path

from ..batch.store import load_result
from ..config import DEFAULT_CONFIG, load_config
from ..results import staff_path
from . import TermError, db
from .roster import resolve
from .session import db_status, publish
from .scores import standing


def open_out(out, config=None):
    """(connection, config) of the batch output folder ``out``: the config given,
    else the one its last batch used."""
    conn = db.connect(out, create=False)
    if conn is None:
        raise TermError(f"{out} has no {db.FILE}: run `grade.py batch SUBMISSIONS --out {out}` "
                        "first")
    path = config or db.meta(conn, "config") or DEFAULT_CONFIG
    if not Path(path).exists():
        path = DEFAULT_CONFIG
    return conn, load_config(path)


def find_student(conn, name):
    """The student any of whose ids is ``name`` (roster, or submitted without one)."""
    return resolve(db.students(conn), name)


def refresh(out, conn, cfg, key):
    """Rewrite ``key``'s results.json and feedback.html if what they show of the
    term changed; returns the student's Standing."""
    st = standing(conn, cfg, key, db_status(conn, key), cfg.max_score)
    if staff_path(Path(out) / key / "results.json").exists() and st.automatic is not None:
        publish(out, key, load_result(out, key), st, cfg)
    return st


def summary(st):
    if st.automatic is None:
        return f"{st.key}: {st.status}, no automatic score" + (
            f"; final {st.final:g} / {st.max_points:g}, set by hand" if st.final is not None
            else "")
    return (f"{st.key}: automatic {st.automatic:g}, late penalty {st.late_points:g}, "
            f"adjustments {st.adjustment_points:+g}, final {st.final:g} / {st.max_points:g}"
            + (f" ({st.review})" if st.review else ""))
