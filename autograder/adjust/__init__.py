"""``grade.py adjust OUT STUDENT [--question Q] (--points ±N | --set N | --undo)
--reason TEXT [--private] [--by WHO]``: a manual adjustment, kept in
``OUT/gradebook.db`` apart from the automatic points, so it survives every
regrade and is in the next export at once (docs/term.md)."""

import sys

from ..term import TermError, db
from ..term.commands import find_student, open_out, refresh, summary
from ..term.scores import standing
from ..term.session import db_status


def main(out, student=None, question=None, points=None, set_to=None, undo=False, reason=None,
         private=False, by=None, config=None, quiet=False):
    conn, cfg = open_out(out, config)
    key = find_student(conn, student).key
    by = db.who(by)
    if undo:
        row = db.undo_adjustment(conn, key, by, reason or "undone")
        if row is None:
            raise TermError(f"{key} has no adjustment to undo")
    else:
        if not reason:
            raise TermError("adjust needs --reason (the student sees it unless --private)")
        if question is not None and question not in cfg.questions:
            raise TermError(f"unknown question {question!r}: one of {', '.join(cfg.questions)}")
        before = standing(conn, cfg, key, db_status(conn, key), cfg.max_score)
        base = (before.questions.get(question, 0.0) if question else before.automatic) \
            if before.automatic is not None else None
        kind, value = ("set", set_to) if set_to is not None else ("points", points)
        db.add_adjustment(conn, key, question, kind, value, reason, private, base, by)
    st = refresh(out, conn, cfg, key)
    if not quiet:
        print(summary(st), file=sys.stderr)
    return 0
