#!/usr/bin/env python3
"""Benchmark: batch grading throughput (submissions per minute).

    python scripts/bench_batch.py [--n 12] [--jobs 2] [--hang] [--keep]

Builds N solution-like notebooks (the book's classes from
autograder/variants/book.py, each with one class swapped for a correct variant from
autograder/variants/correct/, plus an experiment cell that the grader skips), and
with ``--hang`` one more whose ReLU.backward never returns (an infinite loop,
stopped by its question's time limit), runs ``grade.py DIR --out OUT --jobs J``
once on a fresh output folder and reports wall time and submissions per
minute. Every solution-like submission must score 100, the hanging one 79.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import (BOOK, IMPORTS, VARIANTS, class_sources, notebook_from,  # noqa: E402
                      write_notebook)


def build(folder, n):
    book = class_sources(BOOK)
    variants = [None] + sorted((VARIANTS / "correct").glob("*.py"))
    for i in range(n):
        classes, imports = dict(book), IMPORTS
        if variants[i % len(variants)] is not None:
            source = variants[i % len(variants)].read_text()
            classes.update(class_sources(source))
            imports += "".join(f"\n{line}" for line in source.splitlines()
                               if line.startswith(("import ", "from ")))
        nb = notebook_from(classes, imports=imports,
                           extra_cells=[f"losses = train(epochs=50_000)  # student {i}"])
        write_notebook(nb, folder / f"student{i:03d}.ipynb")


def build_hanging(folder):
    classes = class_sources(BOOK)
    classes["ReLU"] = classes["ReLU"].replace(
        "    def backward(self, outputs_grads):\n",
        "    def backward(self, outputs_grads):\n        while True:\n            pass\n")
    write_notebook(notebook_from(classes), folder / "hanging.ipynb")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=12, help="number of submissions (default 12)")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs for grade.py (default 2)")
    ap.add_argument("--hang", action="store_true", help="add one submission that hangs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    subs, out = tmp / "submissions", tmp / "out"
    subs.mkdir()
    build(subs, args.n)
    if args.hang:
        build_hanging(subs)
    total = args.n + args.hang
    cmd = [sys.executable, str(ROOT / "grade.py"), str(subs), "--out", str(out),
           "--jobs", str(args.jobs), "--quiet"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"grade.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = {r["student_id"]: ("79" if r["student_id"] == "hanging" else "100") for r in rows}
    bad = [r["student_id"] for r in rows if r["total"] != expected[r["student_id"]]]
    if len(rows) != total or bad:
        sys.exit(f"unexpected gradebook: {len(rows)} rows, unexpected totals: {bad}")
    rate = total / wall * 60
    print(f"cores: {os.cpu_count()}  jobs: {args.jobs}  submissions: {total}"
          f"{' (one hanging)' if args.hang else ''}  load average before: {load:.2f}")
    print(f"command: grade.py SUBMISSIONS --out OUT --jobs {args.jobs}")
    print(f"wall time: {wall:.1f} s   throughput: {rate:.1f} submissions/minute")
    if args.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
