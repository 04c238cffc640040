"""The sandbox's seccomp filter (autograder/sandbox/seccomp.py) refuses the
kernel objects that would outlive a worker: System V shared memory, semaphores
and message queues, POSIX message queues and keyring keys. Tried in a
throwaway fork, so this test process keeps no filter."""

import ctypes
import errno
import os
import platform

import pytest

from autograder.sandbox import seccomp
from autograder.sandbox.processes import in_throwaway_fork

IPC_CREAT = 0o1000
KEY = 0x4E4E5EC0 + os.getpid() % 1000

ATTEMPTS = {
    "shmget": lambda libc: libc.shmget(KEY, 4096, IPC_CREAT | 0o600),
    "shmget_private": lambda libc: libc.shmget(0, 4096, IPC_CREAT | 0o600),
    "semget": lambda libc: libc.semget(KEY, 1, IPC_CREAT | 0o600),
    "msgget": lambda libc: libc.msgget(KEY, IPC_CREAT | 0o600),
    "mq_open": lambda libc: ctypes.CDLL("librt.so.1", use_errno=True).mq_open(
        f"/nndl-test-{KEY}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None),
    "add_key": lambda libc: libc.syscall(seccomp.SYSCALLS[platform.machine()][1]["add_key"],
                                         b"user", b"nndl-test", b"secret", 6, -4),  # user keyring
}


def refused(name, filtered):
    """In a fork (with the filter when ``filtered``): 1 if the call failed with
    EACCES, 2 if it succeeded (what it made is removed again), 0 otherwise."""
    def attempt():
        libc = ctypes.CDLL(None, use_errno=True)
        if filtered:
            seccomp.install(libc)
        result = ATTEMPTS[name](libc)
        if result == -1:
            return 1 if ctypes.get_errno() == errno.EACCES else 0
        if name.startswith("shm"):
            libc.shmctl(result, 0, None)                  # IPC_RMID
        elif name == "semget":
            libc.semctl(result, 0, 0)
        elif name == "msgget":
            libc.msgctl(result, 0, None)
        elif name == "mq_open":
            ctypes.CDLL("librt.so.1").mq_unlink(f"/nndl-test-{KEY}".encode())
        elif name == "add_key":
            libc.syscall(seccomp.SYSCALLS[platform.machine()][1]["keyctl"], 3, result)  # revoke
        return 2

    return in_throwaway_fork(attempt)


@pytest.mark.skipif(platform.machine() not in seccomp.SYSCALLS, reason="no filter here")
@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_the_filter_refuses_objects_that_outlive_the_worker(name):
    if refused(name, filtered=False) != 2:
        pytest.skip(f"{name} does not work here even without the filter")
    assert refused(name, filtered=True) == 1
