"""``grade.py extend OUT STUDENT --until TIME --reason TEXT [--by WHO]``: the
student's due time becomes TIME (ISO 8601 with its offset); the late penalty
follows at once in exports and the student's files (docs/term.md)."""

import sys

from ..term import db
from ..term.commands import find_student, open_out, refresh, summary
from ..term.late import parse_time


def main(out, student=None, until=None, reason=None, by=None, config=None, quiet=False):
    when = parse_time(until, "--until").isoformat()
    conn, cfg = open_out(out, config)
    key = find_student(conn, student).key
    db.set_extension(conn, key, when, reason, db.who(by))
    st = refresh(out, conn, cfg, key)
    if not quiet:
        print(summary(st), file=sys.stderr)
    return 0
