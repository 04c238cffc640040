#!/usr/bin/env python3
"""Benchmark: wall time to grade one submission with grade.py on ONE core,
the peak memory of its whole process tree, and, in the same run, `otter run`
on the same notebook (the ratio of the two).

    python scripts/bench_grade.py [--notebook solutions/regularization.ipynb]
                                  [--repeat 3] [--no-otter]

Both commands are pinned to core 0 with `taskset -c 0` (the whole process
tree). grade.py's time does not depend on the notebook's experiment cells;
otter run executes every cell, so it pays for the four 50 000-iteration
trainings of the solution notebook. The memory is the peak, sampled every
50 ms, of the summed PSS (and RSS) of grade.py and all its descendants
(sandbox zygote and workers): PSS counts the pages a forked worker shares with
its zygote once. The floor is measured too: an interpreter that imports
paddle, and the four accuracy trainings of the solution's classes in one
process.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_tree import run_sampled  # noqa: E402

FLOOR = """
import time, json, importlib
start = time.monotonic()
import paddle, numpy
imported = time.monotonic() - start
from autograder.config import load_config
from autograder.lab import load_lab
from nndl.checks import run_in_process
cfg = load_config(); lab = load_lab(cfg)
import nbformat
nb = nbformat.read({notebook!r}, 4)
ns = {{"__name__": "__main__"}}
for cell in nb.cells:
    if cell.cell_type == "code" and cell.source.lstrip().startswith(("import", "from", "class")):
        exec(cell.source, ns)
start = time.monotonic()
for unit in lab.units:
    lab.plug_references(unit.id)
    check = next(c for c in unit.checks if c.short_name == "accuracy")
    run_in_process(check, ns, 0)
print(json.dumps({{"import_paddle": imported, "trainings": time.monotonic() - start}}))
"""


def pin(cmd):
    return (["taskset", "-c", "0"] + cmd) if shutil.which("taskset") else cmd


def timed(cmd, **kwargs):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return time.monotonic() - start, proc


def otter_time(notebook, tmp):
    zip_path = tmp / "otter-autograder.zip"
    proc = subprocess.run(["otter", "generate", "-t", str(ROOT / "solutions" / "tests"),
                           "-o", str(zip_path), "--no-requirements", "--no-environment",
                           "--no-config"], capture_output=True, text=True, cwd=tmp)
    if proc.returncode != 0 or not zip_path.exists():
        print("otter generate failed:", proc.stdout[-1000:], proc.stderr[-2000:])
        return None
    out = tmp / "otter_out"
    out.mkdir()
    t, proc = timed(pin(["otter", "run", "-a", str(zip_path), "-o", str(out), notebook]),
                    cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return t if proc.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebook", default=str(ROOT / "solutions" / "regularization.ipynb"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-otter", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    rows, times, peaks, score = {}, [], [], None
    for i in range(args.repeat):
        results = tmp / f"results{i}.json"
        wall, code, rss, pss, _, err = run_sampled(
            pin([sys.executable, str(ROOT / "grade.py"), "grade", args.notebook, "--results",
                 str(results), "--quiet"]), cwd=ROOT)
        if code != 0:
            sys.exit(f"grade.py failed:\n{err.decode()[-2000:]}")
        times.append(wall)
        peaks.append((pss, rss))
        score = json.loads(results.read_text())["score"]
    grade_median = statistics.median(times)
    rows["grade.py (1 core)"] = {"runs": [round(t, 2) for t in times],
                                 "median_s": round(grade_median, 2), "score": score,
                                 "peak_tree_pss_mb": round(max(p for p, _ in peaks)),
                                 "peak_tree_rss_mb": round(max(r for _, r in peaks))}
    _, proc = timed(pin([sys.executable, "-c", FLOOR.format(notebook=args.notebook)]), cwd=ROOT)
    floor = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    if floor:
        rows["floor (1 core)"] = {k: round(v, 2) for k, v in floor.items()}
    if not args.no_otter and shutil.which("otter"):
        t = otter_time(args.notebook, tmp)
        if t is not None:
            rows["otter run (1 core)"] = {"runs": [round(t, 2)], "median_s": round(t, 2),
                                          "ratio_to_grade_py": round(t / grade_median, 1)}
    print(f"notebook: {args.notebook}")
    print("| command (1 core) | median wall (s) | runs (s) | notes |")
    print("|---|---|---|---|")
    g = rows["grade.py (1 core)"]
    print(f"| grade.py | {g['median_s']} | {', '.join(map(str, g['runs']))} | score {g['score']}, "
          f"peak memory of the process tree {g['peak_tree_pss_mb']} MB PSS "
          f"({g['peak_tree_rss_mb']} MB RSS) |")
    if floor:
        print(f"| floor: import paddle + the four trainings | "
              f"{floor['import_paddle'] + floor['trainings']:.2f} | | import paddle "
              f"{floor['import_paddle']:.2f} s, trainings {floor['trainings']:.2f} s |")
    if "otter run (1 core)" in rows:
        o = rows["otter run (1 core)"]
        print(f"| otter run | {o['median_s']} | {o['median_s']} | "
              f"{o['ratio_to_grade_py']}x grade.py |")
    print(json.dumps(rows))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
