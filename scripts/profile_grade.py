#!/usr/bin/env python3
"""Where one grading's time goes.

    python scripts/profile_grade.py [--notebook solutions/regularization.ipynb] [--repeat 3]

Runs ``grade.py grade`` on one core (``taskset -c 0``) and prints, from the
timings the grader records in the staff sidecar (``results.staff.json``,
``profile``) and from separate measurements in the same run:

- the interpreter's start (``python -c pass``) and the grader's imports;
- reading and slicing the notebook;
- the sandbox's start: its interpreter, each module it imports (paddle...),
  its speed benchmark and its jail probe;
- each question's worker: setup (fork, inputs, references, jail), the slice's
  statements, each check's probe (the accuracy training among them), and the
  judging in the grader;
- what is left: writing the results, the process's exit, pipes.

The figures are the medians over ``--repeat`` gradings.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pin(cmd):
    return (["taskset", "-c", "0"] + cmd) if shutil.which("taskset") else cmd


def timed(cmd):
    start = time.monotonic()
    proc = subprocess.run(pin(cmd), capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    return time.monotonic() - start


def one_grading(notebook, tmp):
    results = tmp / "results.json"
    wall = timed([sys.executable, "grade.py", "grade", str(notebook), "--results", str(results),
                  "-q"])
    profile = json.loads((tmp / "results.staff.json").read_text())["profile"]
    return wall, profile


def rows_of(wall, profile, python_start, imports):
    rows = [("interpreter start (python -c pass)", python_start),
            ("grader imports (autograder, nbformat, numpy)", imports),
            ("read + slice the notebook", profile["read"])]
    sandbox = profile["sandbox"]
    rows.append(("sandbox: interpreter + imports (total)", sandbox["start"]))
    for module, seconds in sandbox.get("imports", {}).items():
        rows.append((f"    import {module}", seconds))
    rows += [("    speed benchmark", sandbox.get("bench", 0.0)),
             ("    jail probe", sandbox.get("jail", 0.0))]
    for question, q in profile["questions"].items():
        rows.append((f"{question}: worker (total)", q["worker"]))
        rows += [("    setup (fork, inputs, references, jail)", q.get("setup", 0.0)),
                 ("    slice statements", q.get("statements", 0.0))]
        rows += [(f"    probe {name}", seconds) for name, seconds in q.get("probes", {}).items()]
        rows.append(("    judging (grader)", q["judge"]))
    accounted = python_start + imports + profile["read"] + sandbox["start"] \
        + sum(q["worker"] + q["judge"] for q in profile["questions"].values())
    rows.append(("rest (results files, exit, pipes)", wall - accounted))
    rows.append(("TOTAL wall (grade.py, 1 core)", wall))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebook", default=str(ROOT / "solutions" / "regularization.ipynb"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="profile-grade-"))
    try:
        python_start = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(3))
        imports = statistics.median(
            timed([sys.executable, "-c", "import autograder.grading, autograder.engine, "
                   "autograder.lab; from autograder.config import load_config; "
                   "from autograder.lab import load_lab; load_lab(load_config())"])
            for _ in range(3)) - python_start
        runs = [rows_of(*one_grading(Path(args.notebook), tmp), python_start, imports)
                for _ in range(args.repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"notebook: {args.notebook}; medians over {args.repeat} gradings, one core")
    print("| step | seconds |")
    print("|---|---|")
    for i, (label, _) in enumerate(runs[0]):
        value = statistics.median(run[i][1] for run in runs)
        print(f"| {label} | {value:.3f} |")


if __name__ == "__main__":
    main()
