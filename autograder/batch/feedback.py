"""``feedback.html`` for one student: the total, notes about the notebook and,
per question (named as the lab names it), each test's result
(``templates/feedback.html.j2``), in the language of the grading
(``result.language``: ``<html lang>``, every label, the questions' titles)."""

from ..i18n import N_, messages
from ..results import MAX_PROBLEMS
from .page import render


def render_feedback(sid, result, context=None):
    """The page of ``sid``; ``context`` (:class:`.page.Context`) gives the lab's
    name, question titles and the grader's version."""
    say = messages(result.language).say
    return render("feedback.html.j2", context, title=say(N_("Feedback for %(sid)s"), sid=sid),
                  result=result, max_problems=MAX_PROBLEMS, lang=result.language, _=say)
