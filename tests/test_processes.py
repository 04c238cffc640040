"""Killing a process tree (autograder/sandbox/processes.py): when ``kill_tree``
returns, no process of the tree writes any more, so its folder can be removed
(the batch removes its workers' sandbox folders right after killing them)."""

import shutil
import subprocess
import sys
import time

from autograder.sandbox.processes import kill_tree

# root -> child -> grandchild; the grandchild writes a file every millisecond
# (making the folder again if it is gone).
# None of them dies with its parent: only killing all of them stops the writing.
TREE = r"""
import os, sys, time, pathlib
folder = pathlib.Path(sys.argv[1])
if os.fork() == 0:
    if os.fork() == 0:
        i = 0
        while True:
            try:
                folder.mkdir(exist_ok=True)
                (folder / f"f{i}").write_text("x")
            except OSError:
                pass
            i += 1
            time.sleep(0.001)
    while True:
        time.sleep(1)
while True:
    time.sleep(1)
"""


def test_kill_tree_stops_every_process_of_the_tree_before_it_returns(tmp_path):
    folder = tmp_path / "written"
    folder.mkdir()
    root = subprocess.Popen([sys.executable, "-c", TREE, str(folder)])
    try:
        deadline = time.monotonic() + 30
        while not any(folder.iterdir()):
            assert time.monotonic() < deadline, "the tree never started writing"
            time.sleep(0.01)
        kill_tree(root.pid)
        assert root.wait(timeout=10) < 0
        shutil.rmtree(folder, ignore_errors=True)     # as the batch does
        time.sleep(0.3)                  # a surviving writer would have made files again
        assert not folder.exists()
    finally:
        root.kill()
        root.wait()
