"""``feedback.html`` for one student: the total, notes about the notebook and,
per question, each test's result (``templates/feedback.html.j2``)."""

from ..results import MAX_PROBLEMS
from .page import render


def render_feedback(sid, result):
    return render("feedback.html.j2", title=f"Feedback for {sid}", result=result,
                  max_problems=MAX_PROBLEMS)
