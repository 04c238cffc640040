"""``grade.py export OUT --to canvas|moodle|gradescope|csv [--assignment NAME]
[-o FILE]``: the file the LMS imports, one row per roster student with the final
score (automatic - late penalty + adjustments), from ``OUT/gradebook.db``
(``autograder.term.exports``; docs/term.md)."""

import sys
from pathlib import Path

from ..results import write_text_atomic
from ..term import TermError, db
from ..term.commands import open_out
from ..term.exports import FORMATS, render
from ..term.session import all_standings


def main(out, fmt=None, assignment=None, output=None, config=None, quiet=False):
    if fmt not in FORMATS:
        raise TermError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    conn, cfg = open_out(out, config)
    students = db.students(conn, roster_only=True) or db.students(conn)
    standings = all_standings(conn, cfg)
    columns = [c for c in db.meta(conn, "roster_columns").split("\t") if c]
    text = render(fmt, students, standings, cfg.max_score, assignment, columns, cfg.lab.name)
    path = Path(output or Path(out) / f"{fmt}_import.csv")
    write_text_atomic(path, text)
    if not quiet:
        empty = [s.key for s in students if standings[s.key].final is None]
        print(f"wrote {path}: {len(students)} students" + (
            f"; no score for {len(empty)} ({', '.join(empty[:10])}"
            f"{', ...' if len(empty) > 10 else ''}): left empty" if empty else ""),
            file=sys.stderr)
    return 0
