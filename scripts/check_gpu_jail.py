#!/usr/bin/env python3
"""Can CUDA work inside the jail of a GPU worker? Needs only the NVIDIA driver:
no paddle, no numpy (the standard library and the repository's sandbox).

In a forked child it enters exactly the jail a GPU grading worker gets
(``autograder.sandbox.policy.policy_for("gpu")``: namespaces and read-only
mounts, the pids and memory cgroups or their fallbacks, file-size and
open-file limits, dropped capabilities, Landlock, seccomp, the environment),
then, through the CUDA driver API (libcuda.so.1 via ctypes), initializes
CUDA, creates a context, allocates a buffer, copies it there and back and
frees it, printing each step and its CUDA error name.

    python3 scripts/check_gpu_jail.py [--gpu N] [--memory-mb MB] [--driver PATH]

Exit status: 0 every step passed; 3 no CUDA driver (libcuda.so.1) was found;
4 a CUDA step failed (its error name says which); 5 the jail could not be
entered; 6 the jailed child died.
"""

import argparse
import ctypes
import os
import resource
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograder.sandbox import jail, seccomp  # noqa: E402
from autograder.sandbox.child import OPEN_FILES  # noqa: E402
from autograder.sandbox.landlock import restrict  # noqa: E402
from autograder.sandbox.policy import DRIVER_LIBRARY, find_driver_library, policy_for, \
    system_read_roots  # noqa: E402

OK, NO_DRIVER, CUDA_FAILED, NO_JAIL, DIED = 0, 3, 4, 5, 6
MEMORY_MB = 2048          # the host memory cap of a worker (grading.toml's default)
BUFFER_BYTES = 1 << 20    # what is copied to the GPU and back
CUDA_SUCCESS = 0


def say(text):
    print(text, flush=True)


def enter_jail(policy, scratch, task_group, kernel, extra_reads=()):
    """What a GPU worker does to itself before student code (child._worker and
    child._confine), with the repository as the grader's private folder (and
    ``extra_reads``: the folder of a driver given with --driver)."""
    os.environ.update(policy.env)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(OPEN_FILES, hard), min(OPEN_FILES, hard)))
    notes, refuse_processes = jail.enter(scratch, task_group, kernel, policy.task_limit,
                                         policy.thread_names)
    if not policy.address_space_limit:
        notes.append(jail.limit_memory(policy.memory_bytes, task_group))
    os.chdir(scratch)
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    notes.append(restrict([scratch], system_read_roots(repository) + list(policy.read_roots)
                          + list(extra_reads), policy.write_devices,
                          ioctl_devices=policy.ioctl_devices, thread_names=policy.thread_names))
    notes.append(seccomp.install(no_processes=refuse_processes))
    return notes


class Driver:
    """The few CUDA driver API calls the check makes."""

    def __init__(self, lib):
        self.lib = lib

    def name(self, code):
        text = ctypes.c_char_p()
        if self.lib.cuGetErrorName(code, ctypes.byref(text)) != CUDA_SUCCESS or not text.value:
            return f"CUDA error {code}"
        return text.value.decode()

    def step(self, label, function, *args):
        code = getattr(self.lib, function)(*args)
        say(f"  {label:<44} {self.name(code)}")
        return code == CUDA_SUCCESS


def cuda_steps(driver):
    """Initialize CUDA, make a context on device 0, copy a buffer there and
    back, free both; True when every step passed."""
    count, device, context = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_void_p()
    pointer = ctypes.c_uint64(0)
    sent = (ctypes.c_ubyte * BUFFER_BYTES)(*(i % 251 for i in range(BUFFER_BYTES)))
    back = (ctypes.c_ubyte * BUFFER_BYTES)()
    steps = [("cuInit(0)", "cuInit", ctypes.c_uint(0)),
             ("cuDeviceGetCount", "cuDeviceGetCount", ctypes.byref(count)),
             ("cuDeviceGet(0)", "cuDeviceGet", ctypes.byref(device), ctypes.c_int(0)),
             ("cuCtxCreate_v2", "cuCtxCreate_v2", ctypes.byref(context), ctypes.c_uint(0),
              device),
             (f"cuMemAlloc_v2({BUFFER_BYTES} bytes)", "cuMemAlloc_v2", ctypes.byref(pointer),
              ctypes.c_size_t(BUFFER_BYTES))]
    for label, function, *args in steps:
        if not driver.step(label, function, *args):
            return False
        if function == "cuDeviceGetCount":
            say(f"  {'devices visible':<44} {count.value}")
            if count.value < 1:
                say("no GPU is visible to the worker (CUDA_VISIBLE_DEVICES="
                    f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
                return False
    good = (driver.step("cuMemcpyHtoD_v2", "cuMemcpyHtoD_v2", pointer, sent,
                        ctypes.c_size_t(BUFFER_BYTES))
            and driver.step("cuMemcpyDtoH_v2", "cuMemcpyDtoH_v2", back, pointer,
                            ctypes.c_size_t(BUFFER_BYTES)))
    if good:
        good = bytes(back) == bytes(sent)
        say(f"  {'the buffer came back unchanged':<44} {'yes' if good else 'NO'}")
    good = driver.step("cuMemFree_v2", "cuMemFree_v2", pointer) and good
    return driver.step("cuCtxDestroy_v2", "cuCtxDestroy_v2", context) and good


def jailed(policy, scratch, task_group, kernel, library):
    """The forked child's body: its exit status."""
    try:
        notes = enter_jail(policy, scratch, task_group, kernel,
                           [os.path.dirname(library)] if library else [])
    except OSError as e:
        say(f"the jail could not be entered: {e}")
        return NO_JAIL
    say("jail: " + "; ".join(notes))
    say("environment: " + " ".join(f"{k}={v}" for k, v in sorted(policy.env.items())))
    try:
        lib = ctypes.CDLL(library or DRIVER_LIBRARY)
    except OSError as e:
        outside = library or find_driver_library()
        if outside:
            say(f"the CUDA driver ({outside}) was found, but the jailed worker cannot load "
                f"it: {e}")
            return CUDA_FAILED
        say(f"no CUDA driver ({DRIVER_LIBRARY}) was found: install the NVIDIA driver "
            "(this machine has no GPU, or its driver is not installed)")
        return NO_DRIVER
    say(f"CUDA driver: {getattr(lib, '_name', DRIVER_LIBRARY)}")
    return OK if cuda_steps(Driver(lib)) else CUDA_FAILED


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", type=int, default=0, help="the GPU's index (PCI bus order)")
    parser.add_argument("--memory-mb", type=int, default=MEMORY_MB,
                        help="host memory cap of the worker")
    parser.add_argument("--driver", help="the driver library to load (default: libcuda.so.1 "
                                         "as the loader finds it)")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="nndl-gpu-jail-")
    policy = policy_for("gpu", gpu_index=args.gpu, memory_bytes=args.memory_mb * 2**20,
                        scratch=scratch)
    if args.driver:
        args.driver = os.path.abspath(args.driver)
    say(f"GPU worker policy: devices {', '.join(policy.ioctl_devices) or 'none found'}; "
        f"at most {policy.task_limit} tasks; host memory {args.memory_mb} MB")
    kernel = jail.features()
    task_group = jail.TaskGroup(kernel["pids"], f"nndl-gpu-check-{os.getpid()}",
                                policy.task_limit, policy.memory_bytes)
    try:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = DIED
            try:
                code = jailed(policy, scratch, task_group, kernel, args.driver)
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        task_group.remove()
        shutil.rmtree(scratch, ignore_errors=True)
    if os.WIFSIGNALED(status):
        say(f"the jailed check died of signal {os.WTERMSIG(status)}")
        return DIED
    code = os.WEXITSTATUS(status)
    say({OK: "OK: CUDA works inside the GPU worker's jail",
         NO_DRIVER: "FAILED: no CUDA driver",
         CUDA_FAILED: "FAILED: a CUDA step failed inside the jail (see above)",
         NO_JAIL: "FAILED: the jail could not be entered"}.get(code, f"FAILED ({code})"))
    return code


if __name__ == "__main__":
    sys.exit(main())
