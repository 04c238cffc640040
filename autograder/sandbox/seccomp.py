"""A seccomp filter for the sandbox: student code cannot create sockets (no
network of any kind, UDP included), trace or read other processes, or make
kernel objects that outlive it, and, where no process limit of the kernel is
available, cannot create processes.

Denied with EACCES: ``socket`` (``socketpair`` still works), ``ptrace``,
``process_vm_readv/writev``, ``perf_event_open``, ``bpf``, ``io_uring_setup``;
System V IPC (``shm*``, ``sem*``, ``msg*``), POSIX message queues (``mq_open``,
``mq_unlink``) and the kernel keyrings (``add_key``, ``request_key``,
``keyctl``): these objects belong to no process, so they would survive the
worker -- memory left on the machine, and a channel from one submission to the
next.
With ``no_processes``: ``fork``, ``vfork`` and ``clone`` without
``CLONE_THREAD`` fail with EAGAIN (threads still start), ``clone3`` with
ENOSYS (so that libc falls back to ``clone``, whose flags the filter can read).
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
CLONE_THREAD = 0x00010000

# System calls of objects that outlive their process: {name: (x86_64, aarch64)}
PERSISTENT = {"shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195),
              "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191),
              "semtimedop": (220, 192), "msgget": (68, 186), "msgsnd": (69, 189),
              "msgrcv": (70, 188), "msgctl": (71, 187), "mq_open": (240, 180),
              "mq_unlink": (241, 181), "add_key": (248, 217), "request_key": (249, 218),
              "keyctl": (250, 219)}
# (AUDIT_ARCH, {syscall: number}) of the architectures the filter knows
SYSCALLS = {
    "x86_64": (0xC000003E, {"socket": 41, "ptrace": 101, "process_vm_readv": 310,
                            "process_vm_writev": 311, "perf_event_open": 298, "bpf": 321,
                            "io_uring_setup": 425, "fork": 57, "vfork": 58, "clone": 56,
                            "clone3": 435}),
    "aarch64": (0xC00000B7, {"socket": 198, "ptrace": 117, "process_vm_readv": 270,
                             "process_vm_writev": 271, "perf_event_open": 241, "bpf": 280,
                             "io_uring_setup": 425, "clone": 220, "clone3": 435}),
}
for _column, (_, _numbers) in enumerate(SYSCALLS.values()):      # x86_64, then aarch64
    _numbers.update({name: pair[_column] for name, pair in PERSISTENT.items()})
DENIED = ("socket", "ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open",
          "bpf", "io_uring_setup", *PERSISTENT)
LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06   # BPF_LD|W|ABS, BPF_JMP|..., BPF_RET


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _assemble(program):
    """BPF instructions from ``(code, jt, jf, k)`` tuples whose jump targets
    may be labels; a label is a plain string in the list."""
    labels, code = {}, []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)
    return [(op, *(labels[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf)), k)
            for i, (op, jt, jf, k) in enumerate(code)]


def seccomp_program(machine=None, no_processes=False):
    """The BPF program (a ctypes ``sock_fprog``, with its buffer kept alive), or
    None on an architecture the filter does not know."""
    machine = machine or platform.machine()
    if machine not in SYSCALLS:
        return None
    audit_arch, numbers = SYSCALLS[machine]
    program = [(LD, 0, 0, 4),                             # A = arch
               (JEQ, 1, 0, audit_arch),                   # native arch: skip the next line
               (RET, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM),
               (LD, 0, 0, 0)]                             # A = syscall number
    if machine == "x86_64":
        program.append((JGE, "deny", 0, 0x40000000))      # x32 ABI
    program += [(JEQ, "deny", 0, numbers[name]) for name in DENIED]
    if no_processes:
        program += [(JEQ, "again", 0, numbers[name]) for name in ("fork", "vfork")
                    if name in numbers]
        program += [(JEQ, "nosys", 0, numbers["clone3"]), (JEQ, "clone", 0, numbers["clone"])]
    program += [(RET, 0, 0, SECCOMP_RET_ALLOW),
                "deny", (RET, 0, 0, SECCOMP_RET_ERRNO | errno.EACCES)]
    if no_processes:
        program += ["clone", (LD, 0, 0, 16),              # A = low 32 bits of the flags
                    (JSET, "allow", "again", CLONE_THREAD),
                    "allow", (RET, 0, 0, SECCOMP_RET_ALLOW),
                    "again", (RET, 0, 0, SECCOMP_RET_ERRNO | errno.EAGAIN),
                    "nosys", (RET, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS)]
    body = _assemble(program)
    buf = (_SockFilter * len(body))(*[_SockFilter(*ins) for ins in body])
    prog = _SockFprog(len(body), ctypes.cast(buf, ctypes.POINTER(_SockFilter)))
    prog._keep = buf
    return prog


def install_program(libc, prog):
    """Install the filter ``prog`` in this process (no_new_privs must be set)."""
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def install(libc=None, no_processes=False):
    """Set no_new_privs and install the filter in this process; returns a note."""
    prog = seccomp_program(no_processes=no_processes)
    if prog is None:
        return f"seccomp: unsupported architecture {platform.machine()}"
    libc = libc or ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return "seccomp: no_new_privs refused"
    try:
        install_program(libc, prog)
    except OSError as e:
        return f"seccomp: {e}"
    return "seccomp: no sockets, no ptrace, no IPC objects or keys" + (
        ", no new processes" if no_processes else "")
