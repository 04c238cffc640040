#!/usr/bin/env python3
"""Check an ``strace -f`` log: no process forks after it tried to load the CUDA
driver (``libcuda.so``). CUDA cannot be used in a process forked (without
exec) from one that initialized it, so the grader, a batch pool and the
sandbox's zygote must never load it; only a GPU worker (or the preflight's)
does, and it forks nothing but threads.

    strace -f -e trace=process,openat -o T python grade.py grade NB --device gpu --results R
    python3 scripts/check_no_fork_after_cuda.py T

A fork here is a clone/clone3/fork that is neither a thread (CLONE_THREAD)
nor a vfork (CLONE_VFORK, or vfork()); an ``execve`` that succeeds starts a
process afresh. Exit status 0 when the log is clean, 1 with each offending
fork listed, 2 when the log cannot be read or has no process in it.
Standard library only.
"""

import re
import sys

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
RESULT = re.compile(r"\)\s+=\s+(-?\d+)")


def _events(lines):
    """``(pid, syscall, text)`` per complete call, joining unfinished/resumed halves."""
    pending = {}
    for raw in lines:
        match = LINE.match(raw.rstrip("\n"))
        if not match:
            continue
        pid, rest = int(match.group(1)), match.group(2)
        resumed = RESUMED.match(rest)
        if resumed:
            name, text = resumed.group(1), pending.pop(pid, ("", ""))[1] + resumed.group(2)
            yield pid, name, text
            continue
        call = CALL.match(rest)
        if not call:
            continue                    # signals, exits (+++ exited ...)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = (call.group(1), call.group(2))
            continue
        yield pid, call.group(1), call.group(2)


def check(lines):
    """``(processes seen, [offending forks as text])``."""
    group, tainted, seen, bad = {}, set(), set(), []
    for pid, name, text in _events(lines):
        leader = group.setdefault(pid, pid)
        seen.add(leader)
        result = RESULT.search(text)
        ret = int(result.group(1)) if result else -1
        if name == "openat" and "libcuda.so" in text:
            tainted.add(leader)
        elif name == "execve" and ret == 0:
            tainted.discard(leader)
        elif name in ("clone", "clone3", "fork", "vfork") and ret > 0:
            thread = "CLONE_THREAD" in text
            group[ret] = leader if thread else ret
            if thread or name == "vfork" or "CLONE_VFORK" in text:
                continue
            if leader in tainted:
                bad.append(f"process {leader} forked {ret} ({name}) after it tried to load "
                           "libcuda.so")
                tainted.add(ret)
    return seen, bad


def main(argv):
    if len(argv) != 2:
        print("usage: check_no_fork_after_cuda.py STRACE_LOG", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8", errors="replace") as f:
            seen, bad = check(f)
    except OSError as e:
        print(f"cannot read {argv[1]}: {e.strerror}", file=sys.stderr)
        return 2
    if not seen:
        print(f"{argv[1]}: no process in this log (was it written by strace -f?)",
              file=sys.stderr)
        return 2
    if bad:
        print("\n".join(bad))
        return 1
    print(f"ok: {len(seen)} processes, none forked after trying to load libcuda.so")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
