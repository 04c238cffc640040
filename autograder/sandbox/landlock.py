"""Landlock (Linux >= 5.13): let a worker write only beneath its own folders
and read only beneath the system's and Python's.

Applied by the worker to itself right before it runs student code, so that
code running as the grader's own user still cannot overwrite results files,
other students' outputs or the grader's sources, nor read the grader's files
(the reference implementation, the hidden checks) or other students'
notebooks. Where the kernel's Landlock ABI allows it also: no TCP bind/connect
(ABI >= 4) and no signals to processes outside the worker (ABI >= 6: it cannot
kill the zygote or the grader). Best effort: on a kernel without Landlock this
returns a note and changes nothing (the other limits still apply).

Device files: a worker may open for reading or writing only the device files
it is given, one rule per FILE (a path-beneath rule on a file grants that
file's rights): ``/dev/null`` and its kind on a CPU worker, the GPU's own on a
GPU worker (:mod:`.policy`). Every other device is refused, even to a worker
whose user could open it: as root, ``/dev/kmsg``, ``/dev/console`` and the
raw disk. From ABI 5, the ruleset also handles ``IOCTL_DEV``: ioctls on a
device file opened after the restriction are refused unless its rule allows
them (the GPU's files); files opened before (the log, stdin) keep theirs.
Without Landlock only the file permissions protect device files (as root:
nothing but the worker's other limits), and the note says so.
"""

import ctypes
import os
import platform

_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
PR_SET_NO_NEW_PRIVS = 38
RULE_PATH_BENEATH = 1
CREATE_RULESET_VERSION = 1

# filesystem rights (uapi/linux/landlock.h)
EXECUTE, READ_FILE, READ_DIR = 1 << 0, 1 << 2, 1 << 3
READ = EXECUTE | READ_FILE | READ_DIR
WRITE_FILE, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK = 1 << 6, 1 << 7, 1 << 8, 1 << 9
MAKE_FIFO, MAKE_BLOCK, MAKE_SYM, REFER, TRUNCATE = 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14
IOCTL_DEV = 1 << 15                                                  # ABI >= 5
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a file rule may hold
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi():
    """The kernel's Landlock ABI version (0 without Landlock)."""
    numbers = _SYS.get(platform.machine())
    if numbers is None:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(numbers[0], None, ctypes.c_size_t(0),
                           ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(version, 0)


_PINNED = []      # O_PATH fds of /proc folders that rules name (see restrict)


def restrict(writable, readable=None, devices=("/dev/null",), *, ioctl_devices=(),
             thread_names=False):
    """Allow writes only beneath the folders ``writable``, and reading and
    writing of the device files ``devices`` (one rule per file; ioctls too for
    those in ``ioctl_devices``, from ABI 5); with ``readable``, allow reads only
    beneath those folders (or files) and ``writable``. With ``thread_names``,
    this process may also write beneath its own /proc/<pid>/task (its threads'
    names: the CUDA driver names its threads there). Returns a short note of
    what was applied."""
    numbers = _SYS.get(platform.machine())
    if numbers is None:
        return f"landlock: unsupported architecture {platform.machine()}: device files " \
               "protected by file permissions only"
    create, add_rule, restrict_self = numbers
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    if abi < 1:
        return "landlock: not available in this kernel: device files protected by file " \
               "permissions only"
    write = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
             | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM | (REFER if abi >= 2 else 0)
             | (TRUNCATE if abi >= 3 else 0))
    ioctl = IOCTL_DEV if abi >= 5 else 0
    read = READ if readable is not None else 0
    handled = write | read | ioctl
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock: create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    device = (READ_FILE | WRITE_FILE | TRUNCATE) & handled
    rules = [(p, write | read) for p in writable]
    rules += [(p, read) for p in (readable or ()) if read]
    rules += [(p, device | (ioctl if p in ioctl_devices else 0)) for p in devices]
    rules += [(p, (READ_FILE & handled) | ioctl) for p in ioctl_devices if p not in devices]
    if thread_names:
        rules.append(("/proc/self/task", (READ & handled) | WRITE_FILE))
    try:
        for path, rights in rules:
            if not rights:                       # nothing this kernel can grant
                continue
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(f"/proc/self/fd/{fd}"):
                    rights &= FILE_RIGHTS           # a rule on a file holds file rights only
                rule = _PathBeneath(rights, fd)
                if libc.syscall(add_rule, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule),
                                ctypes.c_uint32(0)) != 0:
                    return f"landlock: add_rule {path} failed ({os.strerror(ctypes.get_errno())})"
            finally:
                if path.startswith("/proc/"):
                    # a rule holds the inode, and procfs makes a new inode for a
                    # folder whose dentry was dropped: keep the dentry in use
                    _PINNED.append(fd)
                else:
                    os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "landlock: no_new_privs failed"
        if libc.syscall(restrict_self, ruleset, ctypes.c_uint32(0)) != 0:
            return f"landlock: restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return (f"landlock ABI {abi}: writes only beneath the worker's folders"
            + (", reads only system and Python folders" if read else "")
            + f", device files only {', '.join(sorted(set(devices) | set(ioctl_devices)))}"
            + (" (ioctls: " + (", ".join(ioctl_devices) or "none") + ")" if ioctl else "")
            + (", its threads' names" if thread_names else "")
            + (", no TCP" if abi >= 4 else "") + (", no signals outside" if abi >= 6 else ""))
