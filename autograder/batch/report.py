"""``report.html`` for staff: score histogram, per-question and per-test pass
rates, the most common diagnoses of failed tests (hidden ones included, from
the staff sidecars), timeouts, crashes and errors. Plots are matplotlib PNGs
embedded as base64; every text is HTML-escaped."""

import base64
import io
import re
import statistics
from collections import Counter

from .page import Raw, html, page, table, tag, with_code

TOP_DIAGNOSES = 20


def _img(png, alt="plot"):
    data = base64.b64encode(png).decode()
    return Raw(f'<img alt="{html(alt)}" src="data:image/png;base64,{data}">')


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return _img(buf.getvalue())


def _figure(height=3.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height))
    return fig, fig.subplots()


def _histogram(totals, max_score):
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure()
    ax.hist(totals, bins=20, range=(0, max_score), color="#4a7ab5", edgecolor="white")
    ax.set_xlabel(f"total score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(fig)


def _bars(labels, rates, xlabel):
    fig, ax = _figure(0.6 + 0.3 * len(labels))
    ax.barh(labels[::-1], rates[::-1], color="#4a7ab5")
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    return _png(fig)


def _pct(part, whole):
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _pattern(message):
    """A failed test's message with its numbers masked, to group similar ones."""
    return re.sub(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "#", " ".join(str(message).split()))[:300]


def _scores(graded, max_score):
    totals = [e.result.score for e in graded]
    times = [e.result.execution_time for e in graded]
    summary = [len(totals), f"{statistics.mean(totals):.1f}", f"{statistics.median(totals):g}",
               f"{min(totals):g}", f"{max(totals):g}", sum(t >= max_score for t in totals),
               f"{statistics.mean(times):.1f}"]
    return [tag("h2", "Scores"),
            table(["graded", "mean", "median", "min", "max", "full marks",
                   "mean grading time (s)"], [summary]),
            _histogram(totals, max_score)]


def _questions(graded, maxima):
    rows, rates = [], []
    for q, points in maxima.items():
        got = [e.result.question_scores().get(q, (0.0, points))[0] for e in graded]
        full = sum(g >= points for g in got)
        rows.append([q, f"{points:g}", f"{statistics.mean(got):.1f}", _pct(full, len(got)),
                     _pct(sum(g == 0 for g in got), len(got))])
        rates.append(100 * full / len(got))
    return [tag("h2", "Questions"),
            table(["question", "points", "mean", "full marks", "zero"], rows),
            _bars(list(maxima), rates, "% of students with full marks")]


def _tests(graded):
    tests = {}                                   # name -> [hidden, students, passed]
    for e in graded:
        for t in e.result.tests:
            tests.setdefault(t.name, [t.hidden, 0, 0])
            tests[t.name][1] += 1
            tests[t.name][2] += bool(t.passed)
    rows = [[name, "hidden" if hidden else "public", f"{passed}/{n}", _pct(passed, n)]
            for name, (hidden, n, passed) in tests.items()]
    return [tag("h2", "Tests"),
            table(["test", "visibility", "passed", "pass rate"], rows),
            _bars(list(tests), [100 * p / n for _, n, p in tests.values()],
                  "% of students passing")]


def _diagnoses(graded):
    counts, example = Counter(), {}
    for e in graded:
        for t in e.result.tests:
            if not t.passed:
                key = (t.name, _pattern(t.message))
                counts[key] += 1
                example.setdefault(key, t.message)
    rows = [[n, key[0], with_code(example[key][:1000])]
            for key, n in counts.most_common(TOP_DIAGNOSES)]
    return [tag("h2", "Most common diagnoses of failed tests"),
            tag("p", "Numbers are ignored when grouping; one example message is shown. "
                     "Hidden tests' diagnoses are included: this report is for staff."),
            table(["students", "test", "example message"], rows, msg_columns={2})]


def _incidents(entries):
    rows = [[e.sid, e.source, e.status, with_code(e.message)] for e in entries
            if e.status != "graded" or e.message]
    return [tag("h2", "Timeouts, crashes and errors"),
            tag("p", "Submissions not graded, grader errors, and graded notebooks with "
                     "problems (unreadable file, failing cells, questions that hit the time "
                     "limit or crashed)."),
            table(["student", "submitted", "status", "details"], rows, msg_columns={3})
            if rows else tag("p", "None.")]


def _similar(similar):
    """Clusters of similar answers per graded class, and a heat map of each class's
    pairwise similarity (``autograder.batch.similarity``)."""
    from .similarity import THRESHOLD, heatmap_png

    clusters, matrices = similar
    parts = [tag("h2", "Similar answers"),
             tag("p", f"Students whose code for a graded class is the same or lightly "
                      f"disguised (renamed variables, reordered methods, comments, formatting): "
                      f"similarity at least {THRESHOLD:g} after normalization, linked into "
                      "clusters. \"matches\" names the code every student could have (the "
                      "book's, the solution, the template) that the cluster resembles. A flag "
                      "for a closer look, never a penalty. All pairs: similarity.csv.")]
    rows = [[c.cls, len(c.students), f"{c.score:.2f}", ", ".join(c.matches) or "-",
             ", ".join(c.students)] for c in clusters]
    parts.append(table(["class", "students", "lowest similarity", "matches", "who"], rows,
                       msg_columns={4}) if rows else tag("p", "No cluster."))
    for cls, (students, matrix) in matrices.items():
        if len(students) >= 2:
            parts.append(_img(heatmap_png(matrix, students, cls), f"{cls} similarity"))
    return parts


def render_report(entries, maxima, similar=None, title="Batch grading report"):
    graded = [e for e in entries if e.result is not None]
    statuses = Counter(e.status for e in entries)
    parts = [tag("h1", title), table(["status", "students"], sorted(statuses.items()))]
    if graded:
        parts += (_scores(graded, sum(maxima.values())) + _questions(graded, maxima)
                  + _tests(graded) + _diagnoses(graded))
    if similar is not None:
        parts += _similar(similar)
    return page(title, parts + _incidents(entries))
