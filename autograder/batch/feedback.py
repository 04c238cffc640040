"""``feedback.html`` for one student: the total, notes about the notebook and,
per question, each test's result (``templates/feedback.html.j2``), in the
language of the grading (``result.language``: ``<html lang>`` and every label)."""

from ..i18n import N_, messages
from ..results import MAX_PROBLEMS
from .page import render


def render_feedback(sid, result):
    say = messages(result.language).say
    return render("feedback.html.j2", title=say(N_("Feedback for %(sid)s"), sid=sid),
                  result=result, max_problems=MAX_PROBLEMS, lang=result.language, _=say)
