"""Each student's standing: the automatic points of the grading of their
current submission, the late penalty, the manual adjustments, and

    final = automatic - late penalty + adjustments,

clamped to [0, maximum] (to [0, ...) with ``[gradebook] allow_extra_credit``).
A question's adjustment changes that question's points (``--points``: by so
much; ``--set``: to so much); an adjustment without a question changes the total
after the late penalty. An adjustment made when the automatic score under it was
different is flagged for review.
"""

from dataclasses import dataclass, field

from ..i18n import N_, messages
from . import db
from ..sandbox.protocol import Status
from .late import Late, assess

GRADED = (Status.GRADED, Status.NOT_ON_ROSTER)


@dataclass
class Standing:
    key: str
    status: str                      # "graded", "missing", "not_on_roster", or the batch's
    max_points: float
    automatic: float = None          # None: no grading
    questions: dict = field(default_factory=dict)
    late: Late = field(default_factory=Late)
    late_points: float = 0.0
    adjustments: list = field(default_factory=list)     # db rows
    adjustment_points: float = 0.0
    final: float = None
    review: str = ""
    submitted_at: str = None

    def student_view(self):
        """What the student is shown (results.json, feedback.html): the late penalty
        and each adjustment with its reason, private reasons left out."""
        return {"automatic": self.automatic, "max": self.max_points, "final": self.final,
                "late": ({"days": self.late.days, "points": round(self.late_points, 4),
                          "note": self.late.note} if self.late.note else None),
                "adjustments": [{"question": a["question"] or "",
                                 "change": (f"{a['value']:+g}" if a["kind"] == "points"
                                            else f"set to {a['value']:g}"),
                                 "reason": "" if a["private"] else a["reason"]}
                                for a in self.adjustments]}



def _apply(questions, adjustments):
    """Question adjustments applied to ``questions`` (a copy)."""
    questions = dict(questions)
    for a in adjustments:
        if a["question"]:
            q = a["question"]
            questions[q] = a["value"] if a["kind"] == "set" else questions.get(q, 0.0) + a["value"]
    return questions


def _review(adjustments, questions, automatic):
    notes = []
    for a in adjustments:
        now = questions.get(a["question"], 0.0) if a["question"] else automatic
        if a["base"] is not None and now is not None and abs(now - a["base"]) > 1e-9:
            notes.append(f"review: the automatic score of {a['question'] or 'the total'} "
                         f"changed from {a['base']:g} to {now:g} since the adjustment "
                         f"of {a['at']}")
    return "; ".join(notes)


def _total_adjusted(total, adjustments):
    """``total`` (None: no automatic score) after the adjustments without a question:
    ``--set`` sets it, ``--points`` adds to it (to nothing, nothing)."""
    for a in adjustments:
        if not a["question"]:
            total = a["value"] if a["kind"] == "set" else \
                None if total is None else total + a["value"]
    return total


def _clamp(total, cfg, max_points):
    high = float("inf") if cfg.gradebook.allow_extra_credit else max_points
    return round(min(max(total, 0.0), high), 4)


def standing(conn, cfg, key, status, max_points):
    """The :class:`Standing` of ``key`` from the database, ``status`` being the
    gradebook's status of the student's current submission. A student with no
    automatic score (missing, not gradable) has a final score only when the
    staff set one (``adjust --set``)."""
    s = Standing(key, status, max_points, adjustments=db.adjustments(conn, key))
    sub = db.current_submission(conn, key)
    grading = db.latest_grading(conn, key, sub["digest"]) if sub and sub["digest"] else None
    if grading is None or grading["status"] != Status.GRADED or status not in GRADED:
        manual = _total_adjusted(None, s.adjustments)
        if manual is not None:
            s.final = s.adjustment_points = _clamp(manual, cfg, max_points)
        return s
    s.submitted_at = sub["submitted_at"]
    s.automatic = grading["total"]
    s.questions = db.question_points(conn, grading["id"])
    language = getattr(getattr(cfg, "lab", None), "language", None)   # None: the one in use
    s.late = assess(cfg.late, sub["submitted_at"], db.extension(conn, key), language)
    if cfg.late.deadline and sub["flagged_late"] and not sub["submitted_at"]:
        s.late.note = messages(language).say(N_(
            "The LMS marked this submission late, but its time is not known, so no late "
            "penalty was applied."))
    s.late_points = round(s.late.fraction * max_points, 4)
    adjusted = sum(_apply(s.questions, s.adjustments).values())
    total = _total_adjusted(adjusted - s.late_points, s.adjustments)
    s.adjustment_points = round(total - (s.automatic - s.late_points), 4)
    s.final = _clamp(total, cfg, max_points)
    s.review = _review(s.adjustments, s.questions, s.automatic)
    return s
