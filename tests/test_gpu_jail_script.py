"""scripts/check_gpu_jail.py, on machines without a GPU: with the system Python
alone it says that no CUDA driver was found and exits 3 (no traceback); with
a stand-in driver library (tests/fixtures/fake_libcuda.c, compiled here) every
step passes inside the GPU worker's jail, and that stand-in does fail, like
the real driver, in a jail that keeps /proc read-only."""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from autograder.sandbox import jail, landlock
from autograder.sandbox.policy import find_driver_library, policy_for, system_read_roots
from autograder.sandbox.processes import in_throwaway_fork
from conftest import ROOT, SYSTEM_PYTHON

SCRIPT = ROOT / "scripts" / "check_gpu_jail.py"
PYTHON = str(SYSTEM_PYTHON) if SYSTEM_PYTHON.exists() else sys.executable
STEPS = ("cuInit(0)", "cuDeviceGetCount", "cuDeviceGet(0)", "cuCtxCreate_v2", "cuMemAlloc_v2",
         "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuMemFree_v2", "cuCtxDestroy_v2")


def run_script(*args):
    return subprocess.run([PYTHON, "-I", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd="/")


@pytest.fixture(scope="module")
def fake_driver(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler for the stand-in driver")
    folder = tmp_path_factory.mktemp("driver")
    os.chmod(folder, 0o755)
    library = folder / "libcuda.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library),
                    str(ROOT / "tests" / "fixtures" / "fake_libcuda.c"), "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    return library


@pytest.mark.skipif(find_driver_library() is not None, reason="this machine has a CUDA driver")
def test_without_a_driver_it_says_so_and_exits_3():
    proc = run_script()
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no CUDA driver (libcuda.so.1) was found" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_every_step_passes_with_a_stand_in_driver(fake_driver):
    proc = run_script("--driver", str(fake_driver))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for step in STEPS:
        assert any(line.strip().startswith(step) and line.endswith("CUDA_SUCCESS")
                   for line in lines), (step, proc.stdout)
    assert "the buffer came back unchanged               yes" in proc.stdout
    jailed = next(line for line in lines if line.startswith("jail: "))
    assert "landlock" in jailed and "seccomp" in jailed, jailed
    if landlock.abi() >= 1:
        assert "its threads' names" in jailed, jailed
    assert "CUDA_VISIBLE_DEVICES=0" in proc.stdout and "NVIDIA_TF32_OVERRIDE=0" in proc.stdout


def _cu_init_in_jail(library, thread_names):
    """cuInit's result in a fork confined like a GPU worker, but with the
    thread-name grant as given; 255 when the library did not load."""
    scratch = tempfile.mkdtemp(prefix="nndl-gpu-jail-test-")
    policy = policy_for("gpu", scratch=scratch)
    kernel = jail.features()

    def attempt():
        os.environ.update(policy.env)
        jail.enter(scratch, None, kernel, policy.task_limit, thread_names)
        landlock.restrict([scratch], system_read_roots(str(ROOT)) + [str(library.parent)],
                          policy.write_devices, ioctl_devices=policy.ioctl_devices,
                          thread_names=thread_names)
        try:
            lib = ctypes.CDLL(str(library))
        except OSError:
            return 255
        return lib.cuInit(0) % 256

    try:
        return in_throwaway_fork(attempt)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.skipif(not jail.features()["namespaces"],
                    reason="no mount namespace here: /proc is not made read-only")
def test_the_stand_in_needs_the_thread_name_grant(fake_driver):
    """Without the grant, the stand-in's cuInit fails as the driver's does
    (CUDA_ERROR_OPERATING_SYSTEM, 304): so the passing check above shows the
    jail's grant at work, not a stand-in that cannot fail."""
    assert _cu_init_in_jail(fake_driver, thread_names=True) == 0
    assert _cu_init_in_jail(fake_driver, thread_names=False) == 304 % 256
