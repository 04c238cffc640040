"""How the grader is stopped when it was started with SIGINT ignored (a
background job ``grade.py ... &``, ``nohup``, some CI runners): it keeps SIGINT
ignored, by the POSIX convention, and SIGTERM stops it as Ctrl-C would (exit
130, no results file, nothing left running); and when it was started with its
stop signals blocked (the signal mask is inherited). See autograder/cli.py.

Deterministic: the notebook's ReLU waits until the test says go, and its
Dropout waits forever (the patient config's limits are far away); the grading
reaches the Dropout question only if the grader is still working after the
SIGINT, because the grader itself starts each question's worker."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from conftest import (BOOK, ROOT, assert_stopped_cleanly, class_sources, notebook_from,
                      processes_named, set_name, unique_name, wait_for, with_sigint,
                      write_notebook)


def sigint_ignored(pid):
    """Whether the process ``pid`` ignores SIGINT (its SigIgn mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("SigIgn:")), 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_started_with_sigint_ignored_survives_ctrl_c_and_sigterm_stops_it(tmp_path,
                                                                          patient_config):
    first, second = unique_name(), unique_name()
    go = Path("/dev/shm") / f"nndl-test-go-{uuid.uuid4().hex}"    # /dev is readable in the sandbox
    classes = class_sources(BOOK)
    relu = classes["ReLU"].replace(
        "        self.inputs = inputs\n",
        f"        self.inputs = inputs\n        import os, time\n        {set_name(first)}\n"
        f"        while not os.path.exists({str(go)!r}):\n            time.sleep(0.05)\n")
    dropout = classes["Dropout"].replace(
        "    def forward(self, inputs):\n",
        f"    def forward(self, inputs):\n        import time\n        {set_name(second)}\n"
        "        while True:\n            time.sleep(1)\n")
    assert relu != classes["ReLU"] and dropout != classes["Dropout"]
    nb = write_notebook(notebook_from({**classes, "ReLU": relu, "Dropout": dropout}),
                        tmp_path / "n.ipynb")
    scratch, results = tmp_path / "tmp", tmp_path / "r.json"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, str(ROOT / "grade.py"), str(nb), "--results",
                             str(results), "--config", str(patient_config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(scratch)},
                            preexec_fn=with_sigint(signal.SIG_IGN))
    try:
        wait_for("the ReLU question's wait", proc, lambda: processes_named(first))
        assert sigint_ignored(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)      # Ctrl-C, were it the foreground job
        go.touch()
        wait_for("the Dropout question, after the SIGINT", proc,
                 lambda: processes_named(second))
        proc.send_signal(signal.SIGTERM)
        assert_stopped_cleanly(proc, [first, second], results, scratch)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
        go.unlink(missing_ok=True)


def test_started_with_its_stop_signals_blocked_sigterm_still_stops_it(tmp_path, patient_config):
    """A blocked SIGTERM would never arrive: the grader unblocks it."""
    name = unique_name()
    relu = class_sources(BOOK)["ReLU"].replace(
        "        self.inputs = inputs\n",
        f"        self.inputs = inputs\n        import time\n        {set_name(name)}\n"
        "        while True:\n            time.sleep(1)\n")
    nb = write_notebook(notebook_from({**class_sources(BOOK), "ReLU": relu}), tmp_path / "n.ipynb")
    scratch, results = tmp_path / "tmp", tmp_path / "r.json"
    scratch.mkdir()

    def blocked():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGALRM})

    proc = subprocess.Popen([sys.executable, str(ROOT / "grade.py"), str(nb), "--results",
                             str(results), "--config", str(patient_config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(scratch)},
                            preexec_fn=blocked)
    try:
        wait_for("the ReLU question", proc, lambda: processes_named(name))
        proc.send_signal(signal.SIGTERM)
        assert_stopped_cleanly(proc, [name], results, scratch)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
