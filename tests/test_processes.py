"""Killing a process tree (autograder/sandbox/processes.py): when ``kill_tree``
returns, no process of the tree writes any more, so its folder can be removed
(the batch removes its workers' sandbox folders right after killing them)."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograder.sandbox.processes import kill_tree

# root -> child -> grandchild; the grandchild writes a file every millisecond
# (making the folder again if it is gone).
# None of them dies with its parent: only killing all of them stops the writing.
# Each names itself in the folder ``sys.argv[2]`` (a file named by its pid).
TREE = r"""
import os, sys, time, pathlib
folder, pids = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
if os.fork() == 0:
    if os.fork() == 0:
        (pids / str(os.getpid())).touch()
        i = 0
        while True:
            try:
                folder.mkdir(exist_ok=True)
                (folder / f"f{i}").write_text("x")
            except OSError:
                pass
            i += 1
            time.sleep(0.001)
    (pids / str(os.getpid())).touch()
    while True:
        time.sleep(1)
(pids / str(os.getpid())).touch()
while True:
    time.sleep(1)
"""


def running(pid, folder):
    """Whether ``pid`` is a process of the tree writing to ``folder`` that has
    not ended (not gone, not a zombie; a reused pid runs another command)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return state not in ("Z", "X") and str(folder).encode() in cmdline


def test_kill_tree_stops_every_process_of_the_tree_before_it_returns(tmp_path):
    folder, pids = tmp_path / "written", tmp_path / "pids"
    folder.mkdir()
    pids.mkdir()
    root = subprocess.Popen([sys.executable, "-c", TREE, str(folder), str(pids)])
    try:
        deadline = time.monotonic() + 300        # bounds a broken run only
        while len(list(pids.iterdir())) < 3 or not any(folder.iterdir()):
            assert time.monotonic() < deadline, "the tree never started writing"
            assert root.poll() is None
            time.sleep(0.01)
        kill_tree(root.pid)
        assert root.wait(timeout=10) < 0
        assert [p.name for p in pids.iterdir() if running(p.name, folder)] == []
        shutil.rmtree(folder, ignore_errors=True)     # as the batch does
        assert not folder.exists()                    # no writer left to make it again
    finally:
        root.kill()
        root.wait()
