"""``report.html`` for staff: score histogram, per-question and per-test pass
rates, the most common diagnoses of failed tests (hidden ones included, from
the staff sidecars), similar answers, timeouts, crashes and errors. This module
computes the tables and plots (matplotlib PNGs, embedded as base64);
``templates/report.html.j2`` lays them out, escaping every text."""

import base64
import io
import re
import statistics
from collections import Counter

from .page import code, render

TOP_DIAGNOSES = 20


def _image(png, alt="plot"):
    """(alt text, base64 data) of a PNG, as the template embeds it."""
    return alt, base64.b64encode(png).decode()


def _plot(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return _image(buf.getvalue())


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
    return _plot(fig)


def _bars(labels, rates, xlabel):
    fig, ax = _figure(0.6 + 0.3 * len(labels))
    ax.barh(labels[::-1], rates[::-1], color="#4a7ab5")
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    return _plot(fig)


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
    return {"rows": [summary], "plot": _histogram(totals, max_score)}


def _questions(graded, maxima):
    rows, rates = [], []
    for q, points in maxima.items():
        got = [e.result.question_scores().get(q, (0.0, points))[0] for e in graded]
        full = sum(g >= points for g in got)
        rows.append([q, f"{points:g}", f"{statistics.mean(got):.1f}", _pct(full, len(got)),
                     _pct(sum(g == 0 for g in got), len(got))])
        rates.append(100 * full / len(got))
    return {"rows": rows, "plot": _bars(list(maxima), rates, "% of students with full marks")}


def _tests(graded):
    tests = {}                                   # name -> [hidden, students, passed]
    for e in graded:
        for t in e.result.tests:
            tests.setdefault(t.name, [t.hidden, 0, 0])
            tests[t.name][1] += 1
            tests[t.name][2] += bool(t.passed)
    rows = [[name, "hidden" if hidden else "public", f"{passed}/{n}", _pct(passed, n)]
            for name, (hidden, n, passed) in tests.items()]
    return {"rows": rows, "plot": _bars(list(tests), [100 * p / n for _, n, p in tests.values()],
                                        "% of students passing")}


def _diagnoses(graded):
    counts, example = Counter(), {}
    for e in graded:
        for t in e.result.tests:
            if not t.passed:
                # the diagnosis' message key: the same mistake in any language groups
                # together (results without one: the message, its numbers masked)
                key = (t.name, t.key or _pattern(t.message))
                counts[key] += 1
                example.setdefault(key, t.message)
    return [[n, key[0], code(example[key][:1000])]
            for key, n in counts.most_common(TOP_DIAGNOSES)]


def _incidents(entries):
    return [[e.sid, e.source, e.status, code(e.message)] for e in entries
            if e.status != "graded" or e.message]


def _similar(similar):
    """Clusters of similar answers per graded class, and a heat map of each class's
    pairwise similarity (``autograder.batch.similarity``)."""
    from .similarity import THRESHOLD, heatmap_png

    clusters, matrices = similar
    rows = [[c.cls, len(c.students), f"{c.score:.2f}", ", ".join(c.matches) or "-",
             ", ".join(c.students)] for c in clusters]
    maps = [_image(heatmap_png(matrix, students, cls), f"{cls} similarity")
            for cls, (students, matrix) in matrices.items() if len(students) >= 2]
    return {"threshold": f"{THRESHOLD:g}", "rows": rows, "plots": maps}


def render_report(entries, maxima, similar=None, title="Batch grading report"):
    graded = [e for e in entries if e.result is not None]
    sections = {}
    if graded:
        sections = {"scores": _scores(graded, sum(maxima.values())),
                    "questions": _questions(graded, maxima), "tests": _tests(graded),
                    "diagnoses": _diagnoses(graded)}
    return render("report.html.j2", title=title,
                  statuses=sorted(Counter(e.status for e in entries).items()),
                  graded=sections, similar=_similar(similar) if similar is not None else None,
                  incidents=_incidents(entries))
