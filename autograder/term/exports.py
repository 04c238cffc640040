"""The files each LMS imports, as it imports them, with each roster student's
final score (``scores``); students with no final score (missing, not gradable)
get an empty cell, which the LMS leaves as it is.

- canvas: ``Student, ID, SIS User ID, SIS Login ID, Section``, then the
  assignment (``Title (assignment id)`` when the roster, a Canvas gradebook
  export, has that column), a ``    Points Possible`` row, the score in the
  sixth column.
- moodle: the grading worksheet's ``Identifier`` ("Participant N"), ``Full name``,
  ``Email address``, ``Grade``, ``Maximum Grade``, ``Last modified (grade)``
  (needs a Moodle roster: the participant ids).
- gradescope: ``Name, SID, Email, Score``.
- csv: every id, the automatic points, the late penalty, the adjustments, the
  final score, the status and the review flag of an adjustment.
"""

import csv
import io
import re
import time

from . import TermError

FORMATS = ("canvas", "moodle", "gradescope", "csv")
CANVAS_ASSIGNMENT = re.compile(r"^(?P<title>.*) \((?P<id>\d+)\)$")


def _number(x):
    return "" if x is None else f"{round(x, 4):g}"


def _csv(rows):
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def canvas_column(assignment, roster_columns, default):
    """The assignment's column title: the roster's ``Title (id)`` column whose
    title or whole name is ``assignment`` (when not given: the roster's only
    assignment), else ``assignment`` (or ``default``) itself."""
    known = [c for c in roster_columns if CANVAS_ASSIGNMENT.match(c)]
    if assignment is None:
        return known[0] if len(known) == 1 else default
    for column in known:
        if assignment in (CANVAS_ASSIGNMENT.match(column)["title"], column):
            return column
    return assignment


def canvas(students, standings, max_points, assignment, roster_columns=(), default=""):
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
             canvas_column(assignment, roster_columns, default)],
            ["    Points Possible", "", "", "", "", _number(max_points)]]
    rows += [[s.name, s.lms_id, s.sis_id, s.login, s.section, _number(standings[s.key].final)]
             for s in students]
    return _csv(rows)


def moodle(students, standings, max_points, assignment, roster_columns=(), default=""):
    if any(not s.participant for s in students):
        raise TermError("the Moodle export needs the Moodle grading worksheet as the roster "
                        "(its Identifier column gives each student's participant id): "
                        "run the batch with --roster WORKSHEET.csv")
    stamp = time.strftime("%A, %d %B %Y, %I:%M %p")
    rows = [["Identifier", "Full name", "Email address", "Grade", "Maximum Grade",
             "Last modified (grade)"]]
    rows += [[f"Participant {s.participant}", s.name, s.email,
              _number(standings[s.key].final), _number(max_points),
              stamp if standings[s.key].final is not None else ""] for s in students]
    return _csv(rows)


def gradescope(students, standings, max_points, assignment, roster_columns=(), default=""):
    rows = [["Name", "SID", "Email", "Score"]]
    rows += [[s.name, s.sis_id, s.email, _number(standings[s.key].final)] for s in students]
    return _csv(rows)


def plain(students, standings, max_points, assignment, roster_columns=(), default=""):
    rows = [["student_id", "name", "lms_id", "sis_id", "login", "email", "automatic",
             "late_penalty", "adjustments", "final", "max_points", "status", "review"]]
    for s in students:
        st = standings[s.key]
        rows.append([s.key, s.name, s.lms_id, s.sis_id, s.login, s.email,
                     _number(st.automatic), _number(st.late_points if st.automatic is not None
                                                    else None),
                     _number(st.adjustment_points if st.final is not None else None),
                     _number(st.final), _number(max_points), st.status,
                     getattr(st, "review", "")])
    return _csv(rows)


WRITERS = {"canvas": canvas, "moodle": moodle, "gradescope": gradescope, "csv": plain}


def render(fmt, students, standings, max_points, assignment=None, roster_columns=(), default=""):
    """The import file ``fmt`` for ``students`` (roster order) with their
    ``standings``; ``assignment``: its name (``default`` when not given)."""
    if fmt not in WRITERS:
        raise TermError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return WRITERS[fmt](students, standings, max_points, assignment, roster_columns, default)
