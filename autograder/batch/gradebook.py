"""The class's state, one entry per student, and ``gradebook.csv``.

Columns: ``student_id``, one per question (its points), ``total`` (automatic),
``scaled_total`` when ``--scale`` is given, ``late_penalty``, ``adjustments``,
``final``, ``status`` and ``message``. With ``standings`` (from the gradebook
database, ``autograder.term``) the points are the database's grading of each
student. Score cells are empty unless the student was graded ("graded", or
"not_on_roster" for a graded stranger), so importing the file never turns a
grader or packaging problem into a zero.
"""

import csv
import io
from dataclasses import dataclass

from ..sandbox.protocol import Outcome, Report, Status
from .store import is_done, load_result, read_marker

GRADED = Status.GRADED


@dataclass
class Entry:
    sid: str
    source: str
    status: str
    message: str = ""
    result: object = None        # GradingResult when status is "graded"


def question_maxima(cfg, lab):
    """{question: points}, in the assignment's order."""
    maxima = {}
    for check in lab.checks():
        maxima[check.question] = maxima.get(check.question, 0.0) + cfg.checks[check.name].points
    return maxima


def incidents(result):
    """Questions whose sandboxed run did not end normally ("<question>: time limit")."""
    found = []
    for question, log in result.staff.get("questions", {}).items():
        data = log.get("report") if isinstance(log, dict) else None
        if not isinstance(data, dict):           # the question did not run
            continue
        report = Report.from_json(data)
        outcome, code = report.ended, report.code
        if outcome is not None and outcome.out_of_time:
            found.append(f"{question}: time limit")
        elif outcome is Outcome.SIGNAL:
            found.append(f"{question}: crashed (signal {code})")
        elif outcome is Outcome.DISK_LIMIT:
            found.append(f"{question}: disk limit")
        elif outcome is Outcome.EXITED and code != 0:
            found.append(f"{question}: exited early (code {code})")
        elif outcome is Outcome.LOST:
            found.append(f"{question}: sandbox stopped responding")
    return found


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def collect(out, subs):
    entries = []
    for sub in subs:
        if not sub.ok:
            entries.append(Entry(sub.sid, sub.source, sub.status, sub.message))
            continue
        marker = read_marker(out, sub.sid)
        if marker and marker.get("sha256") == sub.digest and marker.get("status") != GRADED:
            entries.append(Entry(sub.sid, sub.source, marker["status"],
                                 one_line(f"autograder failed: {marker.get('error', '')}")))
        elif is_done(out, sub.sid, sub.digest):
            result = load_result(out, sub.sid)
            notes = ([sub.message] if sub.message else []) + result.problems + incidents(result)
            entries.append(Entry(sub.sid, sub.source, GRADED, one_line("; ".join(notes)), result))
        else:
            entries.append(Entry(sub.sid, sub.source, Status.NOT_GRADED,
                                 "not graded yet: run the batch again"))
    return entries


def csv_cell(value):
    """A CSV text cell that spreadsheets will not run as a formula."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(x):
    return f"{round(x, 4):g}"


def _term_cells(st):
    """late_penalty, adjustments, final of a Standing (empty without a grading,
    but for a final score the staff set by hand)."""
    if st is None or st.final is None:
        return ["", "", ""]
    if st.automatic is None:
        return ["", _number(st.adjustment_points), _number(st.final)]
    return [_number(st.late_points), _number(st.adjustment_points), _number(st.final)]


def _term_notes(st):
    if st is None or st.automatic is None:
        return []
    late = [st.late.note] if st.late.fraction or (st.late.note and not st.submitted_at) else []
    return late + ([st.review] if st.review else [])


def render_gradebook(entries, maxima, scale=None, standings=None):
    """``standings``: {student id: autograder.term.scores.Standing}."""
    standings = standings or {}
    columns = ["student_id", *maxima, "total"] + (["scaled_total"] if scale else []) + \
              ["late_penalty", "adjustments", "final", "status", "message"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for e in entries:
        scores = [""] * (len(columns) - 6)
        st = standings.get(e.sid)
        if e.result is not None:
            got = {q: points for q, (points, _) in e.result.question_scores().items()}
            total, out_of = e.result.score, e.result.max_score
            if st is not None and st.automatic is not None:     # the database's grading
                got, total = st.questions, st.automatic
            scores = [_number(got.get(q, 0.0)) for q in maxima]
            scores.append(_number(total))
            if scale:
                scores.append(f"{round(total * scale / out_of, 2):g}" if out_of else "")
        message = one_line("; ".join(_term_notes(st) + ([e.message] if e.message else [])))
        writer.writerow([csv_cell(e.sid), *scores, *_term_cells(st), csv_cell(e.status),
                         csv_cell(message)])
    return buf.getvalue()
