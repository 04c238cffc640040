"""``feedback.html`` for one student: the total, notes about the notebook and,
per question, each test's result. Visible tests show their diagnosis; hidden
tests show only passed/failed (their diagnoses are for staff)."""

from ..results import MAX_PROBLEMS, clip
from .page import Raw, page, table, tag, with_code


def _result(passed):
    return tag("span", "passed" if passed else "failed", "passed" if passed else "failed")


def render_feedback(sid, result):
    parts = [tag("h1", f"Feedback for {sid}"),
             tag("p", f"Total: {result.score:g} / {result.max_score:g}", "total")]
    if result.grader_error:
        parts.append(tag("p", "The autograder could not grade your submission. The course "
                              "staff knows and will grade it; you do not need to do anything.",
                         "notice"))
    if result.problems:
        items = "".join(tag("li", with_code(clip(p, 500))) for p in result.problems[:MAX_PROBLEMS])
        parts += [tag("h2", "Notes about your notebook"), Raw(f"<ul>{items}</ul>")]
    for question, (got, out_of) in result.question_scores().items():
        rows = [[t.title, f"{t.score:g} / {t.max_score:g}", _result(t.passed),
                 "hidden test: only whether it passed is shown" if t.hidden
                 else with_code(clip(t.message))]
                for t in result.tests if t.question == question]
        parts += [tag("h2", f"{question}: {got:g} / {out_of:g}"),
                  table(["Test", "Points", "Result", "Details"], rows, msg_columns={3})]
    return page(f"Feedback for {sid}", parts)
