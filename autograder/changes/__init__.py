"""``grade.py changes OUT [--all]``: each student whose automatic total or any
question changed in the last grading run (old -> new); with ``--all``, every
entry of the log: gradings, regrades, adjustments, extensions, roster, times."""

from ..term import db
from ..term.commands import open_out


def _points(conn, grading):
    return {**db.question_points(conn, grading["id"]), "total": grading["total"]}


def changed(conn):
    """[(student, {what: (old, new)})] of the last run that graded anyone."""
    run = db.last_grading_run(conn)
    found = []
    for s in db.students(conn):
        gradings = db.gradings_of(conn, s.key)
        if len(gradings) < 2 or gradings[-1]["run"] != run:
            continue
        old, new = _points(conn, gradings[-2]), _points(conn, gradings[-1])
        diff = {k: (old.get(k), new.get(k)) for k in {**old, **new}
                if old.get(k) is None or new.get(k) is None or abs(old[k] - new[k]) > 1e-9}
        if diff:
            found.append((s.key, diff))
    return run, found


def _cell(x):
    return "-" if x is None else f"{x:g}"


def main(out, everything=False, config=None, quiet=False):
    conn, _ = open_out(out, config)
    if everything:
        for e in db.log_entries(conn):
            change = f"{e['old'] or '-'} -> {e['new'] or '-'}"
            print(f"{e['at']}  {e['by']}  {e['student'] or '(class)'}  {e['what']}: {change}"
                  + (f"  ({e['reason']})" if e["reason"] else ""))
        return 0
    run, found = changed(conn)
    if run is None:
        print("nothing has been graded yet")
        return 0
    for key, diff in found:
        order = sorted(diff, key=lambda k: (k == "total", k))
        print(f"{key}: " + ", ".join(f"{k} {_cell(diff[k][0])} -> {_cell(diff[k][1])}"
                                     for k in order))
    if not found and not quiet:
        print(f"no automatic score changed in the last grading (run {run})")
    return 0
