"""What a sandbox worker may touch beyond its own folders, by device: the
device files it may open, the extra folders it may read, the environment it
starts with and the limits that fit it. One place, so that the jail
(:mod:`.landlock`, :mod:`.jail`), the worker (:mod:`.child`),
``scripts/check_gpu_jail.py`` and docs/gpu.md say the same thing.

Standard library only: the grader, the zygote and the GPU jail check import it
without paddle or numpy.

A CPU worker: reads and writes ``/dev/null``, ``/dev/zero``, ``/dev/full``,
``/dev/random`` and ``/dev/urandom`` and no other device file (no ioctls on
them: nothing a worker runs needs one, and ``isatty`` is simply False), at
most :data:`jail.TASK_LIMIT` tasks, an address-space limit, and no GPU
(``CUDA_VISIBLE_DEVICES=""``, which a CPU build of paddle ignores).

A GPU worker (docs/gpu.md lists each permission with its reason): also the
NVIDIA device files of its own GPU that exist here (read, write, ioctl), the
driver's /proc and /sys folders and library folder (read), its threads'
names in /proc (the driver names its threads), room for the driver's threads,
no address-space limit (CUDA reserves far more address space than it uses)
but a host-memory cap, and an environment that shows it its own GPU only,
keeps the CUDA cache out of the home folder, turns TF32 off and asks for
deterministic kernels.
"""

import os
import re
import sys
from dataclasses import dataclass, field

from .jail import TASK_LIMIT

CPU_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# the driver's control and unified-memory device files (the GPU's own is added
# by index); not /dev/nvidia-modeset, which only display clients open
NVIDIA_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
NVIDIA_CAPS = "/dev/nvidia-caps"                   # MIG capability files: read only
# read by the driver when it initializes (which GPUs, their PCI functions, the
# CPU and NUMA layout for its host allocations)
NVIDIA_READ_ROOTS = ("/proc/driver/nvidia", "/proc/driver/nvidia-uvm", "/sys/bus/pci/devices",
                     "/sys/devices/system/cpu", "/sys/devices/system/node")
NVIDIA_PCI_VENDOR = "0x10de"
# where libcuda.so.1 (the driver's user-space half) is found when ld.so.conf
# does not say: Debian/Ubuntu, RHEL, NVIDIA's container toolkit, WSL
DRIVER_LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                       "/usr/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
                       "/usr/lib/wsl/lib")
DRIVER_LIBRARY = "libcuda.so.1"
# the CUDA toolkit's libraries paddle loads at run time (paddle 2.6's PyPI
# wheel ships none of them: CUDA 11.8 and cuDNN 8.6 come from the system)
CUDA_LIBRARIES = ("libcudart.so", "libcublas.so", "libcudnn.so")
# Processes + threads of a GPU worker: the driver starts a few threads per
# context, paddle a pool per device plus its host pools (one thread per core
# on a many-core grader); 512 leaves room for those on a 128-core machine and
# still stops a fork bomb at a few hundred tasks, costing its own question.
GPU_TASK_LIMIT = 512
# Paddle's allocator cap per worker (FLAGS_gpu_memory_limit_mb, in paddle 2.6
# and 3.x): a question of this lab needs < 100 MB on the GPU; 2 GiB keeps 6
# workers within a 16 GB card. A soft cap: student code may change the flag.
GPU_MEMORY_LIMIT_MB = 2048


@dataclass(frozen=True)
class WorkerPolicy:
    device: str                  # "cpu" or "gpu"
    write_devices: tuple         # device files the worker may open for reading and writing
    ioctl_devices: tuple         # device files whose ioctls are allowed (Landlock ABI 5+)
    read_roots: tuple            # extra read roots beyond the CPU worker's
    env: dict                    # variables set before paddle is imported
    address_space_limit: bool    # RLIMIT_AS applied (False on a GPU)
    task_limit: int              # processes + threads cap
    memory_bytes: int | None     # host memory cap (a GPU: cgroup memory, else RLIMIT_DATA)
    thread_names: bool = field(default=False)   # may write /proc/self/task/*/comm


def policy_for(device, *, gpu_index=None, memory_bytes=None, scratch=None, root="/",
               visible=None):
    """The policy of a worker on ``device`` ("cpu" or "gpu"); a GPU worker
    uses GPU ``gpu_index`` (0 by default) of those the grader itself may use
    (``visible``: its CUDA_VISIBLE_DEVICES, read from the environment by
    default; unset, every GPU in PCI bus order) and keeps its CUDA cache in
    ``scratch``. ``root`` is where /dev, /proc, /sys and the library folders
    are looked up (tests point it at a fake tree); the paths in the policy are
    always the real ones."""
    if device == "cpu":
        return WorkerPolicy("cpu", CPU_DEVICES, (), (), cpu_env(), True, TASK_LIMIT,
                            memory_bytes)
    if device != "gpu":
        raise ValueError(f"unknown device {device!r} (cpu or gpu)")
    chosen, minors = select_gpu(0 if gpu_index is None else int(gpu_index), root, visible)
    nvidia = [*NVIDIA_DEVICES, *(f"/dev/nvidia{m}" for m in minors)]
    present = tuple(p for p in nvidia if _exists(root, p))
    reads = [p for p in (*NVIDIA_READ_ROOTS, NVIDIA_CAPS) if _exists(root, p)]
    reads += nvidia_pci_functions(root) + driver_library_dirs(root) + cuda_library_dirs(root)
    return WorkerPolicy("gpu", CPU_DEVICES + present, present, tuple(dict.fromkeys(reads)),
                        gpu_env(chosen, scratch), False, GPU_TASK_LIMIT, memory_bytes,
                        thread_names=True)


def system_read_roots(*private):
    """The folders every worker may read: the system's and Python's, but none of
    the ``private`` folders (the grader's, the grading's) nor an ancestor of
    one, which would include it (a site-packages beneath one is fine)."""
    candidates = {"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys",
                  "/opt", sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates |= {p for p in sys.path if p}
    private = [os.path.realpath(p) for p in private]
    roots = []
    for path in sorted(candidates):
        real = os.path.realpath(path)
        if not os.path.isdir(real):
            continue
        if any(real == x or x.startswith(real.rstrip("/") + "/")
               or (real.startswith(x + "/") and "site-packages" not in real) for x in private):
            continue
        roots.append(real)
    return roots


def cpu_env():
    """A CPU worker sees no GPU (a CUDA build of paddle then runs on the CPU,
    and a student's ``.cuda()`` fails in its own question)."""
    return {"CUDA_VISIBLE_DEVICES": ""}


def gpu_env(gpu, scratch=None):
    """The environment of a worker on GPU ``gpu`` (its CUDA_VISIBLE_DEVICES
    value: an index in PCI bus order or a UUID; see docs/gpu.md)."""
    env = {"CUDA_VISIBLE_DEVICES": str(gpu),
           "CUDA_DEVICE_ORDER": "PCI_BUS_ID",          # the index is nvidia-smi's
           "CUDA_CACHE_DISABLE": "1",                  # no JIT cache on disk
           "NVIDIA_TF32_OVERRIDE": "0",                # float32 matmuls in float32
           "FLAGS_cudnn_deterministic": "1",
           "FLAGS_allocator_strategy": "auto_growth",  # take GPU memory as needed
           "FLAGS_gpu_memory_limit_mb": str(GPU_MEMORY_LIMIT_MB)}
    if scratch:
        env["CUDA_CACHE_PATH"] = os.path.join(scratch, "cuda-cache")
    return env


# -- what this machine has --------------------------------------------------------------
def _under(root, path):
    return os.path.join(root, path.lstrip("/"))


def _exists(root, path):
    return os.path.lexists(_under(root, path))


def gpu_table(root="/"):
    """``[(minor, uuid)]`` of this machine's GPUs in PCI bus order, from the
    driver's /proc/driver/nvidia/gpus/<bus>/information (the minor is the N of
    /dev/nvidiaN)."""
    gpus = _under(root, "/proc/driver/nvidia/gpus")
    table = []
    try:
        buses = sorted(os.listdir(gpus))
    except OSError:
        return table
    for bus in buses:
        try:
            with open(os.path.join(gpus, bus, "information"), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        minor = re.search(r"^Device Minor:\s*(\d+)", text, re.M)
        uuid = re.search(r"^GPU UUID:\s*(\S+)", text, re.M)
        if minor:
            table.append((int(minor.group(1)), uuid.group(1) if uuid else ""))
    return table


def select_gpu(index, root="/", visible=None):
    """``(CUDA_VISIBLE_DEVICES value, minors of its /dev/nvidiaN)`` for the
    ``index``-th GPU the grader may use: of ``visible`` (a CUDA_VISIBLE_DEVICES
    value, the environment's by default: indices in PCI bus order or GPU-
    UUIDs), or of every GPU when unset. A MIG instance (MIG-...) may be on any
    GPU: every GPU's file then. Nothing visible: ("", ())."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    table = gpu_table(root)
    if visible is None:
        chosen = str(index)
    else:
        entries = [v.strip() for v in visible.split(",") if v.strip()]
        if index >= len(entries):
            return "", ()
        chosen = entries[index]
    if chosen.isdigit():
        position = int(chosen)
        return chosen, ((table[position][0] if position < len(table) else position),)
    by_uuid = [minor for minor, uuid in table if uuid and uuid == chosen]
    return chosen, tuple(by_uuid or (minor for minor, _ in table))


def nvidia_pci_functions(root="/"):
    """The /sys folders of the NVIDIA PCI functions (where /sys/bus/pci/devices/*
    links point: Landlock checks the real path)."""
    base = _under(root, "/sys/bus/pci/devices")
    found = []
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return found
    for entry in entries:
        try:
            with open(os.path.join(base, entry, "vendor"), encoding="ascii") as f:
                if f.read().strip() != NVIDIA_PCI_VENDOR:
                    continue
        except OSError:
            continue
        real = os.path.realpath(os.path.join(base, entry))
        found.append("/" + os.path.relpath(real, os.path.realpath(root)).lstrip("/"))
    return found


def _ld_conf_dirs(root, conf="/etc/ld.so.conf", seen=None):
    """The folders listed by ld.so.conf and the files it includes."""
    import glob

    seen = set() if seen is None else seen
    if conf in seen:
        return []
    seen.add(conf)
    dirs = []
    try:
        with open(_under(root, conf), encoding="utf-8", errors="replace") as f:
            lines = [line.split("#", 1)[0].strip() for line in f]
    except OSError:
        return dirs
    for line in filter(None, lines):
        if line.startswith("include "):
            pattern = line.split(None, 1)[1]
            if not pattern.startswith("/"):
                pattern = os.path.join(os.path.dirname(conf), pattern)
            for path in sorted(glob.glob(_under(root, pattern))):
                dirs += _ld_conf_dirs(root, "/" + os.path.relpath(path, root).lstrip("/"), seen)
        elif line.startswith("/"):
            dirs.append(line)
    return dirs


def driver_library_dirs(root="/"):
    """The folder(s) holding libcuda.so.1, the driver's library, and the folder
    its link points into: the loader's folders (ld.so.conf) first, then the
    usual places."""
    found = []
    for folder in dict.fromkeys(_ld_conf_dirs(root) + list(DRIVER_LIBRARY_DIRS)):
        path = _under(root, os.path.join(folder, DRIVER_LIBRARY))
        if os.path.lexists(path):
            real = os.path.dirname(os.path.realpath(path))
            rel = "/" + os.path.relpath(real, os.path.realpath(root)).lstrip("/")
            found += [folder, rel]
    return list(dict.fromkeys(found))


def cuda_library_dirs(root="/", search_path=None):
    """The folders of ``LD_LIBRARY_PATH`` (or ``search_path``) that hold CUDA
    toolkit libraries (libcudart, libcublas, libcudnn), for paddle to load."""
    search_path = os.environ.get("LD_LIBRARY_PATH", "") if search_path is None else search_path
    found = []
    for folder in filter(None, search_path.split(":")):
        try:
            names = os.listdir(_under(root, folder))
        except OSError:
            continue
        if os.path.isabs(folder) and any(n.startswith(CUDA_LIBRARIES) for n in names):
            found.append(os.path.normpath(folder))
    return found


def find_driver_library(root="/"):
    """The path of libcuda.so.1 on this machine, or None."""
    for folder in driver_library_dirs(root):
        path = os.path.join(folder, DRIVER_LIBRARY)
        if os.path.lexists(_under(root, path)):
            return path
    return None
