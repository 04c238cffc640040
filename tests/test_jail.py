"""The worker's jail on any machine, as root (a pids cgroup) and as a normal
user (a user namespace): a bounded fork storm gets at most the task cap, a
disk writer stops at the scratch cap and leaves nothing, an infinite loop is
stopped within the question's new time limit, and none of them changes
another question's score."""

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from autograder.sandbox.child import LOAD_STRETCH
from conftest import BOOK, IS_ROOT, ROOT, class_sources, notebook_from, write_notebook

BOOKS = class_sources(BOOK)
TASK_LIMIT = 64


def jail_notebook(tag):
    escape = f"/tmp/nndl-escape-{tag}"
    relu = BOOKS["ReLU"].replace("        self.inputs = inputs\n", """        self.inputs = inputs
        if not getattr(ReLU, "stormed", False):      # once: a bounded fork storm
            ReLU.stormed = True
            import os, threading, time
            made = failed = threads = 0
            for i in range(300):
                try:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(60)
                        os._exit(0)
                    made += 1
                except OSError:
                    failed += 1
            try:
                for i in range(300):
                    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                    threads += 1
            except RuntimeError:
                pass
            print(f"STORM made={made} failed={failed} threads={threads}", flush=True)
            import resource                 # and try to lift the worker's resource limits
            for name in ("RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_CPU"):
                kind = getattr(resource, name)
                for wanted in [(resource.getrlimit(kind)[1],) * 2, (resource.RLIM_INFINITY,) * 2]:
                    try:
                        resource.setrlimit(kind, wanted)
                    except (ValueError, OSError):
                        pass
                print(f"LIMIT {name} {resource.getrlimit(kind)}", flush=True)
""")
    dropout = BOOKS["Dropout"].replace("        self.mask = mask\n", f"""        self.mask = mask
        if not getattr(Dropout, "wrote", False):     # once: fill the disk
            Dropout.wrote = True
            import os
            written = 0
            try:
                for i in range(10_000):
                    with open(f"junk-{tag}-{{i}}.bin", "wb") as f:
                        f.write(b"x" * 2**20)
                    written += 1
            except OSError as e:
                print(f"DISK written={{written}} stopped={{e.errno}}", flush=True)
            for path in ({escape!r}, os.path.expanduser("~/{tag}")):
                try:
                    open(path, "w").write("escaped")
                except OSError:
                    pass
""")
    batchgd = BOOKS["BatchGD"].replace("    def step(self):\n",
                                       "    def step(self):\n        while True:\n            pass\n")
    classes = dict(BOOKS, ReLU=relu, Dropout=dropout, BatchGD=batchgd)
    return notebook_from(classes), escape


JAIL_FACTOR = 40   # time_limit_factor of the jail runs: the fork storm takes most of q1's
                   # default limit (15x) on a busy machine, and then q1's accuracy run was cut


def check_jail(root, run, tmp_path):
    """Grade the jail notebook with ``run(notebook, results, config)``; check the caps."""
    tag = uuid.uuid4().hex[:12]
    nb, escape = jail_notebook(tag)
    notebook = write_notebook(nb, Path(root) / "jail.ipynb")
    results = Path(root) / "results.json"
    text = (ROOT / "autograder" / "grading.toml").read_text()
    assert "time_limit_factor = 15" in text
    config = Path(root) / "grading.toml"
    config.write_text(text.replace("time_limit_factor = 15", f"time_limit_factor = {JAIL_FACTOR}"))
    config.chmod(0o644)
    proc = run(notebook, results, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(results.read_text())
    staff = json.loads(results.with_name("results.staff.json").read_text())
    scores = {}
    for t in data["tests"]:
        q = t["name"].split(".")[0]
        scores[q] = scores.get(q, 0) + t["score"]
    logs = {q: v["output"] for q, v in staff["questions"].items()}
    storm = [line for line in logs["q1_relu"].splitlines() if line.startswith("STORM")][0]
    made = int(storm.split("made=")[1].split()[0])
    threads = int(storm.split("threads=")[1])
    assert made + threads + 1 <= TASK_LIMIT, storm          # the worker itself counts
    limits = dict(line.split(" ", 2)[1:] for line in logs["q1_relu"].splitlines()
                  if line.startswith("LIMIT "))
    assert set(limits) == {"RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_CPU"}, limits
    for name, (soft, hard) in ((k, ast.literal_eval(v)) for k, v in limits.items()):
        assert 0 <= soft <= hard and hard - soft <= 1 and hard < 2**40, (name, soft, hard)
    disk = [line for line in logs["q2_dropout"].splitlines() if line.startswith("DISK")][0]
    assert int(disk.split("written=")[1].split()[0]) <= 16, disk
    assert not os.path.exists(escape)
    leftovers = subprocess.run(["find", "/tmp", "-name", f"junk-{tag}-*"], capture_output=True,
                               text=True).stdout
    assert leftovers == ""
    # the infinite loop: stopped within its question's limit, costing that question only
    report, limits = staff["questions"]["q4_weight_decay"]["report"], \
        staff["questions"]["q4_weight_decay"]["limits"]
    assert report["outcome"] in ("timeout", "signal"), report
    # the wall clock less the time the worker waited for a CPU (a busy machine), and never
    # more than LOAD_STRETCH times the limit (autograder/sandbox/child.py)
    assert report["elapsed"] - report["waited"] <= limits["wall"] + 2, (report, limits)
    assert report["elapsed"] <= limits["wall"] * LOAD_STRETCH + 2, (report, limits)
    ceiling = 60 * staff["speed"]["factor"]        # question_time_limit, at this machine's speed
    assert limits["cpu"] < ceiling / 2, (limits, staff["speed"])   # calibrated, not the ceiling
    assert scores["q3_l2"] == 25 and scores["q1_relu"] == 25 and scores["q2_dropout"] == 25, \
        data["output"]
    assert 0 < scores["q4_weight_decay"] < 25
    alive = subprocess.run(["pgrep", "-f", f"junk-{tag}"], capture_output=True).stdout
    assert alive == b""
    return staff


def test_jail_as_the_graders_own_user(tmp_path):
    def run(notebook, results, config):
        return subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(notebook),
                               "--results", str(results), "--config", str(config)],
                              capture_output=True, text=True,
                              timeout=600)

    staff = check_jail(tmp_path, run, tmp_path)
    expected = "pids cgroup" if IS_ROOT else "user namespace"
    assert expected in staff["sandbox"] and "tmpfs" in staff["sandbox"], staff["sandbox"]


@pytest.mark.skipif(not IS_ROOT, reason="switching to an unprivileged user needs root")
def test_jail_as_an_unprivileged_user(gradescope_venv):
    """The same, graded by an unprivileged user (the user-namespace path), with the
    world-readable Gradescope-like venv and a world-readable copy of the grader."""
    python, _ = gradescope_venv
    root = Path(tempfile.mkdtemp(prefix="nndl-jail-", dir="/tmp"))
    try:
        for name in ("autograder", "nndl"):
            shutil.copytree(ROOT / name, root / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "grade.py", root / "grade.py")
        subprocess.run(["chmod", "-R", "a+rwX", str(root)], check=True)

        def run(notebook, results, config):
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                   python, str(root / "grade.py"), "grade", str(notebook),
                                   "--results", str(results), "--config", str(config)],
                                  capture_output=True, text=True, timeout=600, cwd=str(root),
                                  env={"PATH": os.environ["PATH"], "HOME": str(root)})

        staff = check_jail(root, run, root)
        assert "user namespace" in staff["sandbox"] and "tmpfs" in staff["sandbox"], \
            staff["sandbox"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_correct_code_ten_times_slower_than_the_reference_passes(tmp_path):
    """A correct ReLU that burns CPU in every call, so that its question's worker
    takes about ten times the reference's time (timing.json), still passes: the
    limit is 15x the reference's time, and a loop is stopped there."""
    timing = json.loads((ROOT / "autograder" / "calibration" / "timing.json").read_text())
    reference = timing["questions"]["q1_relu"]
    calls = 2 * timing["iterations"] + 10            # forward calls of the question's probes
    per_call = 9 * reference / calls
    slow = BOOKS["ReLU"].replace("        self.inputs = inputs\n", f"""        self.inputs = inputs
        import time
        start = time.process_time()
        while time.process_time() - start < {per_call!r}:
            pass
""")
    notebook = write_notebook(notebook_from({"ReLU": slow}), tmp_path / "slow.ipynb")
    results = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(notebook),
                           "--results", str(results)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    staff = json.loads(results.with_name("results.staff.json").read_text())
    q1 = staff["questions"]["q1_relu"]
    assert q1["report"]["cpu"] >= 6 * reference, (q1["report"], reference)
    assert q1["limits"]["cpu"] < 30                   # the calibrated limit, not a ceiling
    assert all(t["passed"] for t in staff["tests"] if t["question"] == "q1_relu"), proc.stdout
