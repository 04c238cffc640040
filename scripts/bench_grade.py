#!/usr/bin/env python3
"""Benchmark: wall time to grade one submission with grade.py on ONE core,
and, in the same run, `otter run` on the same notebook.

    python scripts/bench_grade.py [--notebook solutions/regularization.ipynb]
                                  [--repeat 3] [--no-otter]

Both commands are pinned to core 0 with `taskset -c 0` (the whole process
tree). grade.py's time does not depend on the notebook's experiment cells;
otter run executes every cell, so it pays for the four 50 000-iteration
trainings of the solution notebook.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd, **kwargs):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return time.monotonic() - start, proc


def pin(cmd):
    return (["taskset", "-c", "0"] + cmd) if shutil.which("taskset") else cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebook", default=str(ROOT / "solutions" / "regularization.ipynb"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-otter", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    rows = {}
    times, score = [], None
    for i in range(args.repeat):
        results = tmp / f"results{i}.json"
        t, proc = timed(pin([sys.executable, str(ROOT / "grade.py"), args.notebook,
                             "--results", str(results), "--quiet"]))
        if proc.returncode != 0:
            sys.exit(f"grade.py failed:\n{proc.stderr[-2000:]}")
        times.append(t)
        score = json.loads(results.read_text())["score"]
    rows["grade.py (1 core)"] = {"runs": [round(t, 2) for t in times],
                                 "median_s": round(statistics.median(times), 2), "score": score}
    if not args.no_otter and shutil.which("otter"):
        zip_path = tmp / "otter-autograder.zip"
        proc = subprocess.run(["otter", "generate", "-t", str(ROOT / "solutions" / "tests"),
                               "-o", str(zip_path), "--no-requirements", "--no-environment",
                               "--no-config"], capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0 or not zip_path.exists():
            print("otter generate failed:", proc.stdout[-1000:], proc.stderr[-2000:])
        else:
            out = tmp / "otter_out"
            out.mkdir()
            t, proc = timed(pin(["otter", "run", "-a", str(zip_path), "-o", str(out),
                                 args.notebook]),
                            cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
            rows["otter run (1 core)"] = {"runs": [round(t, 2)], "median_s": round(t, 2),
                                          "returncode": proc.returncode}
    print(f"notebook: {args.notebook}")
    print("| command | median wall (s) | runs (s) |")
    print("|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['median_s']} | {', '.join(map(str, r['runs']))} |")
    print(json.dumps(rows))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
