"""``OUT/items.csv``: per test, over the graded students, the pass rate, the
mean points, and the discrimination: the correlation (Pearson) of the test's
points with the rest of the total (the total without that test), which says
whether students who pass the test do better elsewhere. Empty when either
varies not at all (every student passed, or failed)."""

import csv
import io
import statistics

COLUMNS = ["test", "question", "hidden", "students", "pass_rate", "mean_points", "max_points",
           "discrimination"]


def item_rows(gradings):
    """``gradings``: one {test: (points, max_points, passed, hidden, question)} per
    graded student. Returns the rows of items.csv (without the header)."""
    tests = []
    for g in gradings:
        tests += [t for t in g if t not in tests]
    totals = [sum(v[0] for v in g.values()) for g in gradings]
    rows = []
    for test in tests:
        have = [(g[test], total) for g, total in zip(gradings, totals) if test in g]
        points = [v[0] for v, _ in have]
        rest = [total - v[0] for v, total in have]
        first = have[0][0]
        try:
            r = f"{statistics.correlation(points, rest):.3f}" if len(have) > 1 else ""
        except statistics.StatisticsError:        # one of them constant
            r = ""
        rows.append([test, first[4], "hidden" if first[3] else "public", len(have),
                     f"{sum(v[2] for v, _ in have) / len(have):.3f}",
                     f"{statistics.mean(points):.3f}", f"{first[1]:g}", r])
    return rows


def render_items(rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()
