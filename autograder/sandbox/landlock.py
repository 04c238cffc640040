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
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict(writable, readable=None, devices="/dev"):
    """Allow writes only beneath the folders ``writable`` (and to files under
    ``devices``, for /dev/null); with ``readable``, allow reads only beneath
    those folders and ``writable``. Returns a short note of what was applied."""
    numbers = _SYS.get(platform.machine())
    if numbers is None:
        return f"landlock: unsupported architecture {platform.machine()}"
    create, add_rule, restrict_self = numbers
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    if abi < 1:
        return "landlock: not available in this kernel"
    write = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
             | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM | (REFER if abi >= 2 else 0)
             | (TRUNCATE if abi >= 3 else 0))
    read = READ if readable is not None else 0
    attr = _RulesetAttr(write | read, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock: create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    rules = [(p, write | read) for p in writable]
    rules += [(p, read) for p in (readable or ()) if read]
    rules.append((devices, read | WRITE_FILE | (write & TRUNCATE)))
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneath(rights, fd)
                if libc.syscall(add_rule, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule),
                                ctypes.c_uint32(0)) != 0:
                    return f"landlock: add_rule {path} failed ({os.strerror(ctypes.get_errno())})"
            finally:
                os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "landlock: no_new_privs failed"
        if libc.syscall(restrict_self, ruleset, ctypes.c_uint32(0)) != 0:
            return f"landlock: restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return (f"landlock ABI {abi}: writes only beneath the worker's folders"
            + (", reads only system and Python folders" if read else "")
            + (", no TCP" if abi >= 4 else "") + (", no signals outside" if abi >= 6 else ""))
