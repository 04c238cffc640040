#!/usr/bin/env python3
"""Benchmark: finding similar answers in a class (``autograder.batch.similarity``).

    python scripts/bench_similarity.py [--students 100] [--repeat 3] [--seed 0]

Makes a synthetic class of N students. Each student's answer to each of the four graded
classes is drawn from autograder/variants/ (the book's code, the correct and the wrong variants)
or the template's stub, then disguised with a random subset of the disguises of
tests/test_similarity.py (renamed locals and attributes, reordered methods, comments,
reformatting, changed strings) and made unique by a comment, so that every source is
fingerprinted (no cache hit); a few answers are missing or do not parse. Times ``compare``
(fingerprints, every pair of every class, clusters, known-code matches) with the book, the
solution and the template as known code, and prints the best of ``--repeat`` runs.
"""

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autograder.batch.similarity import compare  # noqa: E402
from test_similarity import (BOOK_CLASSES, CLASSES, CORRECT, DISGUISES, SOLUTION,  # noqa: E402
                             TEMPLATE, WRONG)


def synthetic_class(n, seed=0):
    """{student id: {class: source or None}} of ``n`` synthetic students."""
    rng = random.Random(seed)
    pool = {cls: [BOOK_CLASSES[cls], TEMPLATE[cls], *CORRECT.get(cls, {}).values(),
                  *WRONG.get(cls, {}).values()] for cls in CLASSES}
    students = {}
    for i in range(n):
        answers = {}
        for cls in CLASSES:
            roll = rng.random()
            if roll < 0.03:
                answers[cls] = None                                  # class missing
                continue
            if roll < 0.05:
                answers[cls] = f"class {cls}(Op:\n    pass  # student {i}\n"  # does not parse
                continue
            source = rng.choice(pool[cls])
            for name in rng.sample(sorted(DISGUISES), rng.randint(0, len(DISGUISES))):
                fn = DISGUISES[name]
                source = fn(source, f"s{i}_") if name in ("locals", "attributes") else fn(source)
            answers[cls] = f"# student {i}\n{source}"
        students[f"student{i:03d}"] = answers
    return students


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    students = synthetic_class(args.students, args.seed)
    known = {"book": BOOK_CLASSES, "solution": SOLUTION, "template": TEMPLATE}
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        pairs, clusters, _ = compare(students, known)
        best = min(best, time.perf_counter() - start)
    print(f"similarity: {args.students} submissions x {len(CLASSES)} classes in {best:.3f} s")
    print(f"  ({len(pairs)} pairs and {len(clusters)} clusters at or above the threshold; "
          f"{sum(len(c.students) for c in clusters)} students in clusters)")


if __name__ == "__main__":
    main()
