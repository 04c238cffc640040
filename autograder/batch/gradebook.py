"""The class's state, one entry per student, and ``gradebook.csv``.

Columns: ``student_id``, one per question (its points), ``total``, then
``scaled_total`` when ``--scale`` is given, ``status`` and ``message``.
Score cells are empty unless the status is "graded", so importing the file
never turns a grader or packaging problem into a zero.
"""

import csv
import io
from dataclasses import dataclass

from .store import is_done, load_result, read_marker

GRADED = "graded"


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
        report = log.get("report", {}) if isinstance(log, dict) else {}
        outcome, code = report.get("outcome"), report.get("code")
        if outcome in ("timeout", "statement_timeout"):
            found.append(f"{question}: time limit")
        elif outcome == "signal":
            found.append(f"{question}: crashed (signal {code})")
        elif outcome == "disk_limit":
            found.append(f"{question}: disk limit")
        elif outcome == "exited" and code != 0:
            found.append(f"{question}: exited early (code {code})")
        elif outcome == "lost":
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
            entries.append(Entry(sub.sid, sub.source, "not_graded",
                                 "not graded yet: run the batch again"))
    return entries


def csv_cell(value):
    """A CSV text cell that spreadsheets will not run as a formula."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(x):
    return f"{round(x, 4):g}"


def render_gradebook(entries, maxima, scale=None):
    columns = ["student_id", *maxima, "total"] + (["scaled_total"] if scale else []) + \
              ["status", "message"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for e in entries:
        scores = [""] * (len(columns) - 3)
        if e.result is not None:
            got = e.result.question_scores()
            scores = [_number(got.get(q, (0.0, 0.0))[0]) for q in maxima]
            scores.append(_number(e.result.score))
            if scale:
                scores.append(f"{round(e.result.score * scale / e.result.max_score, 2):g}"
                              if e.result.max_score else "")
        writer.writerow([csv_cell(e.sid), *scores, csv_cell(e.status), csv_cell(e.message)])
    return buf.getvalue()
