"""``feedback.html`` for one student: the total, notes about the notebook and,
per question, each test's result. Visible tests show their diagnosis; hidden
tests show only passed/failed (their diagnoses are for staff)."""

from .page import Raw, page, table, tag, with_code

MAX_MESSAGE = 2000


def _clip(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 20] + " [... truncated]"


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
        items = "".join(tag("li", with_code(_clip(p, 500))) for p in result.problems[:20])
        parts += [tag("h2", "Notes about your notebook"), Raw(f"<ul>{items}</ul>")]
    scores = result.question_scores()
    for question, (got, out_of) in scores.items():
        rows = []
        for t in result.tests:
            if t.question != question:
                continue
            details = ("hidden test: only whether it passed is shown" if t.hidden
                       else with_code(_clip(t.message, MAX_MESSAGE)))
            rows.append([t.title, f"{t.score:g} / {t.max_score:g}", _result(t.passed), details])
        parts += [tag("h2", f"{question}: {got:g} / {out_of:g}"),
                  table(["Test", "Points", "Result", "Details"], rows, msg_columns={3})]
    return page(f"Feedback for {sid}", parts)
