"""A worker opens only the device files its policy names (issue 27): a
notebook whose ReLU.forward tries to open /dev/kmsg, /dev/console and the
machine's disk for writing (never writing) sees each open refused, loses only
q1_relu, and the other questions keep full marks -- graded as root (where file
permissions would allow them), by an unprivileged user, and through
Gradescope's run_autograder (root dropping to the sandbox user); plus the
Landlock rules themselves, tried in a throwaway fork."""

import ast
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import landlock
from autograder.sandbox.policy import CPU_DEVICES, policy_for
from autograder.sandbox.processes import in_throwaway_fork
from conftest import BOOK, IS_ROOT, ROOT, class_sources, notebook_from, per_question, \
    run_gradescope, write_notebook

BOOKS = class_sources(BOOK)
NEEDS_LANDLOCK = pytest.mark.skipif(landlock.abi() < 1, reason="no Landlock in this kernel")


def machine_disk():
    """The first whole disk of this machine (not a loop, RAM or zram device)."""
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "ram", "zram")) and os.path.exists(f"/dev/{name}"):
            return f"/dev/{name}"
    return None


def spare_block_device():
    """A block device that is neither the disk nor mounted nor in use (a loop
    device, say): root may open it for writing even where the kernel refuses
    writes to a mounted disk."""
    with open("/proc/mounts", encoding="utf-8") as f:
        mounted = {line.split()[0] for line in f}
    for name in sorted(os.listdir("/sys/block")):
        path, holders = f"/dev/{name}", f"/sys/block/{name}/holders"
        in_use = os.path.isdir(holders) and os.listdir(holders)
        if path not in mounted and path != machine_disk() and os.path.exists(path) \
                and not in_use:
            return path
    return None


TARGETS = [p for p in ("/dev/kmsg", "/dev/console", machine_disk(), spare_block_device())
           if p and os.path.exists(p)]


def opens_for_writing(path):
    """Open ``path`` write-only (never writing to it) and close it again:
    "opened", or "refused: <errno name>"."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        return f"refused: {errno.errorcode.get(e.errno, e.errno)}"
    os.close(fd)
    return "opened"


def device_notebook():
    """The book's classes, with a ReLU.forward that first tries to open each
    target for writing (once, printing what happened) and raises naming any
    open that succeeded, then returns a wrong result (so q1 is lost either way,
    and the staff log shows whether the opens were refused)."""
    relu = BOOKS["ReLU"].replace("    def forward(self, inputs):\n", f"""    def forward(self, inputs):
        if not getattr(ReLU, "tried", False):
            ReLU.tried = True
            import errno, os
            outcomes = {{}}
            for path in {TARGETS!r}:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
                    os.close(fd)
                    outcomes[path] = "opened"
                except OSError as e:
                    outcomes[path] = "refused: " + errno.errorcode.get(e.errno, str(e.errno))
            print("DEVICE-OPENS", repr(outcomes), flush=True)
            opened = [p for p, o in outcomes.items() if o == "opened"]
            if opened:
                raise RuntimeError("opened for writing: " + ", ".join(opened))
        return inputs * 0 - 1
""", 1)
    assert "DEVICE-OPENS" in relu
    return notebook_from(dict(BOOKS, ReLU=relu))


def check_grading(run, folder):
    """Grade the device notebook with ``run(notebook, results)``: every open
    refused, q1 lost, the rest full marks."""
    notebook = write_notebook(device_notebook(), Path(folder) / "devices.ipynb")
    results = Path(folder) / "results.json"
    proc = run(notebook, results)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(results.read_text())
    staff = json.loads(results.with_name("results.staff.json").read_text())
    log = staff["questions"]["q1_relu"]["output"]
    assert "DEVICE-OPENS" in log, log[-3000:]
    outcomes = ast.literal_eval(log.split("DEVICE-OPENS", 1)[1].splitlines()[0].strip())
    assert set(outcomes) == set(TARGETS)
    assert all(o.startswith("refused") for o in outcomes.values()), outcomes
    scores = per_question(data)
    assert scores["q1_relu"] < 25, data["output"]
    assert {q: scores[q] for q in ("q2_dropout", "q3_l2", "q4_weight_decay")} == \
        {"q2_dropout": 25, "q3_l2": 25, "q4_weight_decay": 25}, data["output"]
    return staff


@pytest.mark.skipif(not IS_ROOT, reason="as an ordinary user, file permissions refuse them "
                                        "anyway (test_as_an_unprivileged_user)")
def test_a_worker_of_a_root_grader_cannot_open_devices_for_writing(tmp_path):
    """As root, file permissions let the worker open them all (but the mounted
    disk, where the kernel refuses writes to a mounted block device): only
    the jail refuses them."""
    assert len(TARGETS) >= 3, TARGETS
    assert {p: opens_for_writing(p) for p in TARGETS if p != machine_disk()} == \
        {p: "opened" for p in TARGETS if p != machine_disk()}

    def run(notebook, results):
        return subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(notebook),
                               "--results", str(results)], capture_output=True, text=True,
                              timeout=600)

    staff = check_grading(run, tmp_path)
    if landlock.abi() >= 1:
        assert "device files only /dev/full, /dev/null" in staff["sandbox"], staff["sandbox"]


@pytest.mark.skipif(not IS_ROOT, reason="switching to an unprivileged user needs root")
def test_as_an_unprivileged_user(gradescope_venv):
    """The same graded by an unprivileged user (nobody), the user a Gradescope
    grading drops to, with the world-readable Gradescope-like venv."""
    python, _ = gradescope_venv
    root = Path(tempfile.mkdtemp(prefix="nndl-devices-", dir="/tmp"))
    try:
        for name in ("autograder", "nndl"):
            shutil.copytree(ROOT / name, root / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "grade.py", root / "grade.py")
        subprocess.run(["chmod", "-R", "a+rwX", str(root)], check=True)

        def run(notebook, results):
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                   python, str(root / "grade.py"), "grade", str(notebook),
                                   "--results", str(results)],
                                  capture_output=True, text=True, timeout=600, cwd=str(root),
                                  env={"PATH": os.environ["PATH"], "HOME": str(root)})

        staff = check_grading(run, root)
        assert "user namespace" in staff["sandbox"], staff["sandbox"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(not IS_ROOT, reason="the Gradescope isolation needs root")
def test_on_gradescope(gs_root, gradescope_venv):
    """Gradescope's run_autograder (as root, dropping to the sandbox user):
    the same refusals and scores."""
    python, _ = gradescope_venv
    write_notebook(device_notebook(), gs_root / "submission" / "regularization.ipynb")
    proc, data = run_gradescope(gs_root, python)
    assert proc.returncode == 0, proc.stderr[-3000:]
    staff = json.loads((gs_root / "results" / "results.staff.json").read_text())
    assert staff["isolation"]["active"] is True
    log = staff["questions"]["q1_relu"]["output"]
    outcomes = ast.literal_eval(log.split("DEVICE-OPENS", 1)[1].splitlines()[0].strip())
    assert set(outcomes) == set(TARGETS)
    assert all(o.startswith("refused") for o in outcomes.values()), outcomes
    scores = {t["name"].split(".")[0]: 0 for t in data["tests"]}
    for t in data["tests"]:
        scores[t["name"].split(".")[0]] += t["score"]
    assert scores["q1_relu"] < 25, data["output"]
    assert [scores[q] for q in ("q2_dropout", "q3_l2", "q4_weight_decay")] == [25, 25, 25], \
        data["output"]


# -- the Landlock rules alone ------------------------------------------------------------
def confined_outcomes(paths, policy, readable=("/usr",)):
    """For each path, in a throwaway fork restricted like a worker with
    ``policy``: 1 if it opened for writing, 2 if refused with EACCES, 3 if
    refused otherwise."""
    scratch = tempfile.mkdtemp(prefix="nndl-landlock-")

    def attempt(path):
        landlock.restrict([scratch], list(readable), policy.write_devices,
                          ioctl_devices=policy.ioctl_devices)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK))
            return 1
        except OSError as e:
            return 2 if e.errno == errno.EACCES else 3

    try:
        return [in_throwaway_fork(lambda: attempt(path)) for path in paths]
    finally:
        os.rmdir(scratch)


@NEEDS_LANDLOCK
def test_landlock_lets_a_cpu_worker_write_its_devices_only():
    allowed = [p for p in CPU_DEVICES if os.path.exists(p)]
    assert confined_outcomes(allowed, policy_for("cpu")) == [1] * len(allowed)
    if IS_ROOT:         # file permissions allow these to root: Landlock alone refuses
        openable = [p for p in TARGETS if opens_for_writing(p) == "opened"]
        assert len(openable) >= 3, TARGETS
        assert confined_outcomes(openable, policy_for("cpu")) == [2] * len(openable)


@NEEDS_LANDLOCK
def test_devnull_still_works_as_a_file_for_python():
    """What notebooks do with /dev/null under the worker's rules (ioctls on
    devices refused from ABI 5): open it for writing through Python, print to
    it, ask isatty (False), read /dev/urandom."""
    scratch = tempfile.mkdtemp(prefix="nndl-landlock-")
    policy = policy_for("cpu")

    def attempt():
        landlock.restrict([scratch], ["/usr"], policy.write_devices,
                          ioctl_devices=policy.ioctl_devices)
        with open(os.devnull, "w") as f:
            print("hidden", file=f)
            tty = f.isatty()
        with open("/dev/urandom", "rb") as f:
            size = len(f.read(16))
        return 1 if (tty is False and size == 16) else 2

    try:
        assert in_throwaway_fork(attempt) == 1
    finally:
        os.rmdir(scratch)


@NEEDS_LANDLOCK
@pytest.mark.skipif(not IS_ROOT, reason="only root may read a disk in the first place")
def test_a_root_worker_cannot_read_block_devices():
    """Reading the disk's device file would give a worker of a root grader every
    file on it (the reference solution, other students' notebooks): no device
    file outside the policy is readable either. (Some kernels refuse even root
    a mounted disk; a spare block device stands in for it.)"""
    scratch = tempfile.mkdtemp(prefix="nndl-landlock-")
    policy = policy_for("cpu")

    def attempt(disk, confined):
        if confined:
            landlock.restrict([scratch], ["/usr", "/proc", "/sys"], policy.write_devices,
                              ioctl_devices=policy.ioctl_devices)
        try:
            os.close(os.open(disk, os.O_RDONLY | os.O_NONBLOCK))
            return 1
        except OSError as e:
            return 2 if e.errno == errno.EACCES else 3

    try:
        disks = [d for d in (machine_disk(), spare_block_device())
                 if d and in_throwaway_fork(lambda: attempt(d, False)) == 1]
        assert disks, "no block device that root can open here"
        assert [in_throwaway_fork(lambda: attempt(d, True)) for d in disks] == [2] * len(disks)
    finally:
        os.rmdir(scratch)


@pytest.mark.skipif(landlock.abi() < 5, reason="ioctl rules need Landlock ABI 5")
def test_ioctls_only_on_the_policys_ioctl_devices():
    """The rule a GPU device file gets (ioctl allowed) against a CPU worker's
    (ioctl refused), tried with TCGETS on /dev/null: ENOTTY when the ioctl
    reaches the device, EACCES when Landlock stops it."""
    import fcntl
    import termios

    scratch = tempfile.mkdtemp(prefix="nndl-landlock-")

    def attempt(ioctl_devices):
        landlock.restrict([scratch], ["/usr"], CPU_DEVICES, ioctl_devices=ioctl_devices)
        fd = os.open("/dev/null", os.O_RDWR)
        try:
            fcntl.ioctl(fd, termios.TCGETS, bytes(64))
            return 3
        except OSError as e:
            return {errno.ENOTTY: 1, errno.EACCES: 2}.get(e.errno, 4)

    try:
        assert in_throwaway_fork(lambda: attempt(("/dev/null",))) == 1
        assert in_throwaway_fork(lambda: attempt(())) == 2
    finally:
        os.rmdir(scratch)
