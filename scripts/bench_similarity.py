#!/usr/bin/env python3
"""Benchmark: finding similar answers in a class (``autograder.batch.similarity``).

    python scripts/bench_similarity.py [--students 100]

Makes a synthetic class of N students, each with the four graded classes taken
from the book's code (tests/variants/book.py) or a correct or wrong variant
(tests/variants/), some of them disguised (renamed names, reordered methods,
comments), and times ``compare`` on it (fingerprints, every pair of every
class, clusters).
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
from conftest import BOOK, VARIANTS, class_sources  # noqa: E402
from test_similarity import DISGUISES, disguise  # noqa: E402


def synthetic_class(n, seed=0):
    rng = random.Random(seed)
    pool = {cls: [src] for cls, src in class_sources(BOOK).items()}
    for path in sorted(VARIANTS.glob("*/*.py")):
        for cls, src in class_sources(path.read_text()).items():
            pool.setdefault(cls, []).append(src)
    students = {}
    for i in range(n):
        answers = {}
        for cls, sources in pool.items():
            source = rng.choice(sources)
            if rng.random() < 0.5:
                source = disguise(source, rng.choice(DISGUISES))
            answers[cls] = source
        students[f"student{i:03d}"] = answers
    return students


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=100)
    args = ap.parse_args()
    students = synthetic_class(args.students)
    start = time.perf_counter()
    pairs, clusters, _ = compare(students, {"book": class_sources(BOOK)})
    elapsed = time.perf_counter() - start
    print(f"similarity: {args.students} submissions x {len(class_sources(BOOK))} classes in "
          f"{elapsed:.3f} s ({len(pairs)} pairs, {len(clusters)} clusters above the threshold)")


if __name__ == "__main__":
    main()
