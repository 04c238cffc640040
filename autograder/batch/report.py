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

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import clip
from ..sandbox.protocol import Status
from .fonts import drawable, plotting
from .page import Context, code, render
from .similarity import THRESHOLD, heatmap_png

MAX_DIAGNOSES = 40     # distinct diagnoses listed per question; more are counted, not listed
MAX_NAMES = 12         # student ids listed per diagnosis; more are counted
MAX_EXAMPLE = 1000     # characters of a diagnosis's example message
STUB = re.compile(r"not implemented")                 # nndl.checks.core.call_student's words
NOT_RUN = ("not graded:", "Autograder failed")        # GradingResult.not_graded / grader_failed
# The same by message key (results in any language; the words above: results without keys)
STUB_KEYS = ("%(what)s is not implemented yet", "%(what)s returned %(value)s: not implemented yet?")
NOT_RUN_KEYS = ("not graded: %(message)s", "Autograder failed, contact staff")


def _image(png, alt="plot"):
    """(alt text, base64 data) of a PNG, as the template embeds it."""
    return alt, base64.b64encode(png).decode()


def _plot(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return _image(buf.getvalue())


def _figure(height=3.2):
    fig = Figure(figsize=(8, height))
    return fig, fig.subplots()


def _histogram(totals, max_score):
    fig, ax = _figure()
    ax.hist(totals, bins=20, range=(0, max_score), color="#4a7ab5", edgecolor="white")
    ax.set_xlabel(f"total score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _plot(fig)


def _bars(labels, rates, xlabel):
    labels = [drawable(label) for label in labels]
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


def _kind(message, key=""):
    """How a failed test's message is counted: a stub, a test that did not run
    (the notebook could not be read, the grader failed), or a diagnosis; by its
    message ``key`` when it has one (in any language), else by its English words."""
    if key in STUB_KEYS or (not key and STUB.search(message)):
        return "stub"
    if key in NOT_RUN_KEYS or (not key and message.startswith(NOT_RUN)):
        return "not_run"
    return "diagnosis"


def _who(students):
    shown = ", ".join(students[:MAX_NAMES])
    return shown if len(students) <= MAX_NAMES else \
        f"{shown} and {len(students) - MAX_NAMES} more"


def _diagnoses(graded, context):
    """Per question: every distinct diagnosis of its failed tests (numbers masked),
    with how many students got it, in which tests, and one example; stubs and
    tests that did not run counted apart; what is cut off is counted."""
    found = {}      # question -> {pattern: {"tests": [...], "students": [...], "example": str}}
    apart = {}      # question -> {kind: [students]}
    for e in graded:
        for t in e.result.tests:
            if t.passed:
                continue
            kind = _kind(t.headline, t.key)
            if kind != "diagnosis":
                who = apart.setdefault(t.question, {}).setdefault(kind, [])
                if e.sid not in who:
                    who.append(e.sid)
                continue
            # by the diagnosis' message key: one mistake is one group in any language
            # (results without a key: by the message, its numbers masked)
            group = found.setdefault(t.question, {}).setdefault(
                t.key or _pattern(t.headline),
                {"tests": [], "students": [], "example": t.headline})
            if t.name not in group["tests"]:
                group["tests"].append(t.name)
            if e.sid not in group["students"]:
                group["students"].append(e.sid)
    sections = []
    for question in dict.fromkeys([*context.questions, *found, *apart]):
        groups = sorted(found.get(question, {}).values(), key=lambda g: -len(g["students"]))
        shown, hidden = groups[:MAX_DIAGNOSES], groups[MAX_DIAGNOSES:]
        kinds = apart.get(question, {})
        if not groups and not kinds:
            continue
        sections.append({
            "heading": context.heading(question), "id": question,
            "rows": [[len(g["students"]), ", ".join(g["tests"]), _who(g["students"]),
                      code(clip(g["example"], MAX_EXAMPLE))] for g in shown],
            "cut": (len(hidden), sum(len(g["students"]) for g in hidden)),
            "stubs": _who(kinds.get("stub", [])), "stub_count": len(kinds.get("stub", [])),
            "not_run": _who(kinds.get("not_run", [])),
            "not_run_count": len(kinds.get("not_run", []))})
    return sections


def _device_notes(entries):
    """Why some students were graded on the CPU though a GPU was asked for
    (``--device auto`` after a failed GPU preflight), once each."""
    notes = (e.result.staff.get("device_note") for e in entries if e.result is not None)
    return sorted({note for note in notes if note})


def _incidents(entries):
    return [[e.sid, e.source, e.status, code(e.message)] for e in entries
            if e.status != Status.GRADED or e.message]


def _similar(similar):
    """Clusters of similar answers per graded class, and a heat map of each class's
    pairwise similarity (``autograder.batch.similarity``)."""
    clusters, matrices = similar
    rows = [[c.cls, len(c.students), f"{c.score:.2f}", ", ".join(c.matches) or "-",
             ", ".join(c.students)] for c in clusters]
    maps = [_image(heatmap_png(matrix, students, cls), f"{cls} similarity")
            for cls, (students, matrix) in matrices.items() if len(students) >= 2]
    return {"threshold": f"{THRESHOLD:g}", "rows": rows, "plots": maps}


def render_report(entries, maxima, similar=None, title="Batch grading report", context=None,
                  items=None):
    """The page; ``context`` (:class:`.page.Context`) gives the lab's name,
    question titles and the grader's version; ``items``: the rows of items.csv
    (``autograder.term.items``), shown as a table."""
    context = context or Context()
    graded = [e for e in entries if e.result is not None]
    sections = {}
    if graded:
        with plotting():     # fonts for any script (CJK ids, test names)
            sections = {"scores": _scores(graded, sum(maxima.values())),
                        "questions": _questions(graded, maxima), "tests": _tests(graded),
                        "diagnoses": _diagnoses(graded, context)}
    return render("report.html.j2", context, title=title,
                  statuses=sorted(Counter(e.status for e in entries).items()),
                  graded=sections, similar=_similar(similar) if similar is not None else None,
                  incidents=_incidents(entries), items=items or [],
                  device_notes=_device_notes(entries))
