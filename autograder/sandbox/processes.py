"""The process table, and killing every descendant of a process: so that
nothing a student's code started (double-forked daemons included, once this
process is a child subreaper) outlives its question. Also: trying what the
kernel allows in a throwaway fork."""

import ctypes
import os
import signal
import time
from contextlib import suppress

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
try:   # looked up once, before any fork
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def die_with_parent(parent_pid=None):
    """Have the kernel SIGKILL this process when its parent dies (Linux;
    elsewhere a no-op); with ``parent_pid``, die now if that parent already
    died. Safe to call between fork and exec."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def become_subreaper():
    """Make orphaned descendants this process's children, so that
    :func:`kill_descendants` still finds double-forked daemons."""
    if _prctl is not None:
        _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def in_throwaway_fork(probe):
    """Run ``probe()`` in a forked child and return what it returned (a small
    int, the child's exit code), 0 when it raised or the child was killed:
    a try of what this kernel allows that leaves this process unchanged."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            code = int(probe())
        except BaseException:  # noqa: BLE001
            pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0


def _process_table():
    """{pid: (ppid, uid, state)} of every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            state, ppid = fields[0], int(fields[1])
            with open(f"/proc/{entry}/status", encoding="utf-8", errors="replace") as f:
                uid = next((int(line.split()[1]) for line in f if line.startswith("Uid:")), None)
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry)] = (ppid, uid, state)
    return table


def descendants(table, root):
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            out.append(child)
            stack.append(child)
    return out


def kill_tree(root, timeout=10.0):
    """SIGKILL the process ``root`` and all its descendants, also those forked or
    orphaned meanwhile, and wait (at most ``timeout`` s) until none of them runs
    any more: nothing of the tree writes to its folders after this returns."""
    tree, deadline = {root}, time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = _process_table()
        tree = {p for p in tree if p in table}        # gone pids: never kill a reused one
        tree.update(d for p in list(tree) for d in descendants(table, p))
        alive = [p for p in tree if table[p][2] not in ("Z", "X")]
        if not alive:
            return
        for p in alive:
            with suppress(OSError):
                os.kill(p, signal.SIGKILL)
        time.sleep(0.01)


def kill_descendants(uid=None, keep=(), never_reap=(), rounds=200):
    """SIGKILL every live descendant of this process (of ``uid`` only, when
    given) except ``keep``; reap the ones that became our children. Returns
    how many were killed."""
    me, killed = os.getpid(), 0
    for _ in range(rounds):
        table = _process_table()
        victims = [p for p in descendants(table, me) if p not in keep
                   and table[p][2] not in ("Z", "X") and (uid is None or table[p][1] == uid)]
        for p in victims:
            with suppress(OSError):
                os.kill(p, signal.SIGKILL)
                killed += 1
        for p, (ppid, puid, state) in table.items():
            if ppid == me and p not in never_reap and p not in keep \
                    and (uid is None or puid == uid):
                with suppress(OSError):
                    os.waitpid(p, os.WNOHANG)
        if not victims:
            return killed
        time.sleep(0.01)
    return killed
