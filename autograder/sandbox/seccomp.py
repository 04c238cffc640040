"""A seccomp filter for the sandbox: student code cannot create sockets (no
network of any kind, UDP included) nor trace or read other processes.

Denied with EACCES: ``socket`` (``socketpair`` still works), ``ptrace``,
``process_vm_readv/writev``, ``perf_event_open``, ``bpf``, ``io_uring_setup``.
Used by the worker before it runs student code, and by the Gradescope
isolation for the whole sandbox. Needs ``PR_SET_NO_NEW_PRIVS`` first.
"""

import ctypes
import errno
import platform

PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000

# (AUDIT_ARCH, {syscall: number}) of the architectures the filter knows
SYSCALLS = {
    "x86_64": (0xC000003E, {"socket": 41, "ptrace": 101, "process_vm_readv": 310,
                            "process_vm_writev": 311, "perf_event_open": 298, "bpf": 321,
                            "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {"socket": 198, "ptrace": 117, "process_vm_readv": 270,
                             "process_vm_writev": 271, "perf_event_open": 241, "bpf": 280,
                             "io_uring_setup": 425}),
}
DENIED = ("socket", "ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open",
          "bpf", "io_uring_setup")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine=None):
    """The BPF program (a ctypes ``sock_fprog``, with its buffer kept alive), or
    None on an architecture the filter does not know."""
    machine = machine or platform.machine()
    if machine not in SYSCALLS:
        return None
    audit_arch, numbers = SYSCALLS[machine]
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    body = [(ld, 0, 0, 4),                       # A = arch
            (jeq, 1, 0, audit_arch),             # native arch: skip the next line
            (ret, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM),
            (ld, 0, 0, 0)]                       # A = syscall number
    jumps = []
    if machine == "x86_64":
        jumps.append((jge, 0x40000000))          # x32 ABI
    jumps += [(jeq, numbers[name]) for name in DENIED]
    deny = len(body) + len(jumps) + 1            # index of the "deny" return
    for code, k in jumps:
        body.append((code, deny - (len(body) + 1), 0, k))
    body.append((ret, 0, 0, SECCOMP_RET_ALLOW))
    body.append((ret, 0, 0, SECCOMP_RET_ERRNO | errno.EACCES))
    buf = (_SockFilter * len(body))(*[_SockFilter(*ins) for ins in body])
    prog = _SockFprog(len(body), ctypes.cast(buf, ctypes.POINTER(_SockFilter)))
    prog._keep = buf
    return prog


def _install_seccomp(libc, prog):
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def install(libc=None):
    """Set no_new_privs and install the filter in this process; returns a note."""
    prog = seccomp_program()
    if prog is None:
        return f"seccomp: unsupported architecture {platform.machine()}"
    libc = libc or ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return "seccomp: no_new_privs refused"
    try:
        _install_seccomp(libc, prog)
    except OSError as e:
        return f"seccomp: {e}"
    return "seccomp: no sockets, no ptrace"
