"""The worker's jail: what a sandbox worker does to itself after the fork and
before it runs student code, and what the zygote prepares for it.

- **Processes**: at most TASK_LIMIT processes and threads in all. Not root: a
  new user namespace with RLIMIT_NPROC = TASK_LIMIT (the kernel counts a
  user's tasks per user namespace, so only the worker's own count). Root
  (whom RLIMIT_NPROC never limits): a pids cgroup per worker (cgroup v1 or
  v2). Where neither exists, seccomp makes process creation fail (threads
  are then bounded by the address-space limit only); the staff log says so.
- **Disk**: a private mount namespace where every mount is read-only and the
  worker's scratch folder is a new tmpfs of SCRATCH_BYTES and SCRATCH_FILES
  files, which vanishes with the worker. Its log and output files are opened
  before, and each is capped at FILE_LIMIT bytes (RLIMIT_FSIZE). Where no
  mount namespace can be made, the scratch folder is on disk and the zygote
  kills a worker whose scratch exceeds those sizes (``scratch_usage``).
- **Host memory** (a GPU worker, which has no address-space limit:
  :func:`limit_memory`): a memory cgroup per worker (``memory.max``, or v1's
  ``memory.limit_in_bytes``) where the zygote can make one (root), else
  ``RLIMIT_DATA``.
- **Capabilities** are dropped once that is set up (neither root nor the
  user namespace's owner can undo it); then Landlock (writes only in the
  scratch folder, reads only system and Python folders), seccomp (no
  sockets) and the grader's modules hidden (:mod:`.child`).

Everything is best effort on the kernel at hand: :func:`features` probes it
once, in a throwaway process, and each worker's note says what it applied.
"""

import ctypes
import os
import resource
import time
from contextlib import suppress
from pathlib import Path

from .landlock import abi as landlock_abi
from .processes import in_throwaway_fork

TASK_LIMIT = 64                    # processes + threads of a worker
SCRATCH_BYTES = 16 * 2**20         # the scratch tmpfs
SCRATCH_FILES = 1000               # inodes of the scratch tmpfs
FILE_LIMIT = 4 * 2**20             # RLIMIT_FSIZE: each file a worker writes

CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1
SYS_MOUNT_SETATTR, SYS_CAPSET = 442, 126 if os.uname().machine == "x86_64" else 91
LINUX_CAPABILITY_VERSION_3 = 0x20080522
PR_CAPBSET_DROP, PR_SET_DUMPABLE, CAP_LAST = 24, 4, 63

_libc = ctypes.CDLL(None, use_errno=True)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result, what):
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


# -- namespaces and mounts (in the worker) ---------------------------------------------
def _new_namespaces(task_limit=TASK_LIMIT):
    """A new mount namespace (and, not as root, a user namespace in which this
    process keeps its own uid and gid, with at most ``task_limit`` tasks);
    returns what was made."""
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(mount)")
        return "mount namespace"
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)        # /proc/self/*_map writable by us
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(user, mount)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    resource.setrlimit(resource.RLIMIT_NPROC, (task_limit, task_limit))
    return f"user namespace with at most {task_limit} tasks"


def _private_mounts(scratch, writable_proc=False):
    """Every mount read-only (but /proc with ``writable_proc``: Landlock then
    keeps its writes to the worker's own threads' names), ``scratch`` a new
    small tmpfs; returns notes."""
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
    notes = []
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    if _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                     ctypes.c_size_t(ctypes.sizeof(attr))) == 0:
        notes.append("every mount read-only")
        clear = _MountAttr(0, MOUNT_ATTR_RDONLY, 0, 0)
        if writable_proc and _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/proc", 0,
                                           ctypes.byref(clear),
                                           ctypes.c_size_t(ctypes.sizeof(clear))) == 0:
            notes.append("but /proc")
    options = (f"size={SCRATCH_BYTES},nr_inodes={SCRATCH_FILES},mode=0700,"
               f"uid={os.getuid()},gid={os.getgid()}")
    _check(_libc.mount(b"tmpfs", os.fsencode(scratch), b"tmpfs", 0, options.encode()),
           "mount tmpfs")
    notes.append(f"scratch: a {SCRATCH_BYTES // 2**20} MB tmpfs of {SCRATCH_FILES} files")
    return notes


def _drop_capabilities():
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for cap in range(CAP_LAST + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _check(_libc.syscall(SYS_CAPSET, ctypes.byref(header), ctypes.byref(data)), "capset")


# -- the zygote's side -------------------------------------------------------------------
def _cgroups():
    """``[number, controllers, path]`` of each line of /proc/self/cgroup."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            return [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return []


def _pids_hierarchy():
    """The folder under which a root zygote can make pids cgroups, or None."""
    lines = _cgroups()
    for _, controllers, path in lines:
        if "pids" in controllers.split(","):
            base = os.path.join("/sys/fs/cgroup/pids", path.lstrip("/"))
            if os.access(base, os.W_OK):
                return base
    for number, controllers, path in lines:
        if number == "0" and not controllers:
            base = os.path.join("/sys/fs/cgroup", path.lstrip("/"))
            try:
                with open(os.path.join(base, "cgroup.subtree_control"), encoding="utf-8") as f:
                    if "pids" in f.read().split() and os.access(base, os.W_OK):
                        return base
            except OSError:
                pass
    return None


def cpu_share():
    """The CPUs this process may use under a cgroup CPU quota (1.0 without one)."""
    for number, controllers, path in _cgroups():
        try:
            if number == "0" and not controllers:
                with open(f"/sys/fs/cgroup{path.rstrip('/')}/cpu.max", encoding="utf-8") as f:
                    quota, period = f.read().split()
                if quota != "max":
                    return float(quota) / float(period)
            elif "cpu" in controllers.split(","):
                base = f"/sys/fs/cgroup/cpu{path.rstrip('/')}"
                with open(f"{base}/cpu.cfs_quota_us", encoding="utf-8") as f:
                    quota = float(f.read())
                with open(f"{base}/cpu.cfs_period_us", encoding="utf-8") as f:
                    period = float(f.read())
                if quota > 0:
                    return quota / period
        except (OSError, ValueError):
            continue
    return 1.0


def _memory_hierarchy(task_path):
    """Where a root zygote can cap a worker's memory: ``("v2", folder)`` when the
    pids group ``task_path`` is a cgroup v2 folder whose parent delegates the
    memory controller (the same group then holds both limits), ``("v1", base)``
    for a writable v1 memory hierarchy, else None."""
    if task_path and os.path.exists(os.path.join(task_path, "cgroup.controllers")):
        try:
            with open(os.path.join(os.path.dirname(task_path), "cgroup.subtree_control"),
                      encoding="utf-8") as f:
                if "memory" in f.read().split():
                    return "v2", task_path
        except OSError:
            pass
    for _, controllers, path in _cgroups():
        if "memory" in controllers.split(","):
            base = os.path.join("/sys/fs/cgroup/memory", path.lstrip("/"))
            if os.access(base, os.W_OK):
                return "v1", base
    return None


class TaskGroup:
    """A pids cgroup for one worker (made by a root zygote), or nothing; with
    ``memory_bytes``, also a memory cap (the same v2 group, or a v1 memory
    group), where this machine lets the zygote make one."""

    def __init__(self, base, name, task_limit=TASK_LIMIT, memory_bytes=None):
        self.path = self.memory_path = None
        self.limit, self.memory_bytes = task_limit, memory_bytes
        if base is not None:
            path = os.path.join(base, name)
            try:
                os.mkdir(path)
                with open(os.path.join(path, "pids.max"), "w") as f:
                    f.write(str(task_limit))
                self.path = path
            except OSError:
                self.remove(path)
        if memory_bytes and os.getuid() == 0:
            self._cap_memory(name, int(memory_bytes))

    @property
    def memory(self):
        """Whether a memory cgroup caps the worker."""
        return self.memory_path is not None

    def _cap_memory(self, name, memory_bytes):
        where = _memory_hierarchy(self.path)
        if where is None:
            return
        kind, base = where
        path = base if kind == "v2" else os.path.join(base, name)
        files = ("memory.max", "memory.swap.max") if kind == "v2" else \
            ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
        try:
            if kind == "v1":
                os.mkdir(path)
            with open(os.path.join(path, files[0]), "w") as f:
                f.write(str(memory_bytes))
            with suppress(OSError):               # no swap accounting: RAM only
                with open(os.path.join(path, files[1]), "w") as f:
                    f.write("0" if kind == "v2" else str(memory_bytes))
            self.memory_path = path
        except OSError:
            if kind == "v1":
                self.remove(path)

    def join(self):
        """Move the calling process (the worker) into the group(s)."""
        for path in dict.fromkeys(p for p in (self.path, self.memory_path) if p):
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write("0")

    def remove(self, path=None, attempts=100):
        """Kill what is left in the group, then remove it (a task that is still
        exiting keeps it busy for a moment)."""
        if path is None and self.memory_path not in (None, self.path):
            self.remove(self.memory_path, attempts)
        path = path or self.path
        for _ in range(attempts if path else 0):
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError:
                for pid in _read_pids(os.path.join(path, "cgroup.procs")):
                    with suppress(OSError):
                        os.kill(pid, 9)
                time.sleep(0.01)


def _read_pids(path):
    try:
        with open(path, encoding="ascii") as f:
            return [int(line) for line in f if line.strip().isdigit()]
    except OSError:
        return []


def scratch_usage(scratch, max_files=SCRATCH_FILES + 1):
    """(bytes, files) beneath ``scratch``, counting at most ``max_files`` files."""
    size = files = 0
    stack = [scratch]
    while stack and files < max_files:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    files += 1
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return size, files


def features():
    """What this kernel and this user allow a worker, tried in a throwaway fork:
    ``{"namespaces": bool, "pids": cgroup base or None}``."""
    import tempfile

    try:                                    # in the sandbox's folder, removed with it
        scratch = tempfile.mkdtemp(prefix="probe-", dir=os.getcwd())
    except OSError:                         # (not writable: the Gradescope user)
        scratch = tempfile.mkdtemp(prefix="nndl-probe-")

    def probe():
        _new_namespaces()
        _private_mounts(scratch)
        return 1

    namespaces = in_throwaway_fork(probe) == 1
    with suppress(OSError):
        os.rmdir(scratch)
    return {"namespaces": namespaces, "pids": _pids_hierarchy() if os.getuid() == 0 else None}


# -- the worker's side -----------------------------------------------------------------
def enter(scratch, task_group, kernel, task_limit=TASK_LIMIT, thread_names=False):
    """Confine the calling worker (see the module doc) to ``task_limit`` tasks
    (the pids group's own limit when it has one); with ``thread_names``, its
    /proc stays writable where Landlock can keep those writes to its own
    threads' names. Returns notes for the staff log and whether process
    creation must be refused by seccomp."""
    notes, capped = [], False
    if task_group is not None and (task_group.path or task_group.memory_path):
        task_group.join()
    if task_group is not None and task_group.path:
        notes.append(f"pids cgroup of at most {task_group.limit} tasks")
        capped = True
    if kernel.get("namespaces"):
        try:
            made = _new_namespaces(task_limit)
            capped = capped or made.startswith("user")
            notes.append(made)
            notes += _private_mounts(scratch, writable_proc=thread_names and landlock_abi() > 0)
        except OSError as e:
            notes.append(f"no private mounts ({e.strerror or e})")
    else:
        notes.append("no private mounts: scratch on disk, its size watched")
    _limit_file_sizes()
    try:
        _drop_capabilities()
    except OSError as e:
        notes.append(f"capabilities not dropped ({e})")
    if not capped:
        notes.append("no process limit in this kernel: process creation refused")
    return notes, not capped


def limit_memory(memory_bytes, task_group=None):
    """Cap the calling worker's host memory at ``memory_bytes`` without an
    address-space limit (which CUDA cannot live with): the memory cgroup the
    zygote made for it (``TaskGroup(..., memory_bytes=)``, joined by
    :func:`enter`), else ``RLIMIT_DATA`` (the heap and private writable
    mappings; not the address space CUDA only reserves). Returns a note."""
    if not memory_bytes:
        return "no host memory cap"
    mb = int(memory_bytes) // 2**20
    if task_group is not None and task_group.memory_path:
        return f"host memory: cgroup cap of {mb} MB"
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = int(memory_bytes) if hard == resource.RLIM_INFINITY else min(int(memory_bytes), hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return f"host memory: RLIMIT_DATA of {limit // 2**20} MB (no memory cgroup here)"


def _limit_file_sizes():
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = FILE_LIMIT if hard == resource.RLIM_INFINITY else min(FILE_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
