"""What a sandbox worker is allowed, by device (standard library only).

STUB with the interface agreed with the "gpujail" branch, which owns this
module (the jail's device files, read roots and their reasons: docs/gpu.md);
its version replaces this one at the merge. Only the names below are used
by :mod:`.child`.
"""

import glob
import os
from dataclasses import dataclass, field

CPU_TASK_LIMIT = 64       # processes + threads of a CPU worker (autograder.sandbox.jail)
GPU_TASK_LIMIT = 512      # the CUDA driver and paddle's pools start tens of threads
BASE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/random")


@dataclass(frozen=True)
class WorkerPolicy:
    device: str                  # "cpu" or "gpu"
    write_devices: tuple = ()
    ioctl_devices: tuple = ()
    read_roots: tuple = ()
    env: dict = field(default_factory=dict)
    address_space_limit: bool = True
    task_limit: int = CPU_TASK_LIMIT
    memory_bytes: int | None = None


def _nvidia_devices():
    return tuple(sorted(p for p in glob.glob("/dev/nvidia*") + glob.glob("/dev/nvidia-caps/*")
                        if not os.path.isdir(p)))


def policy_for(device, *, gpu_index=None, memory_bytes=None, scratch=None):
    """The :class:`WorkerPolicy` of a worker on ``device`` ("cpu" or "gpu")."""
    if device != "gpu":
        return WorkerPolicy("cpu", BASE_DEVICES, (), (), {"CUDA_VISIBLE_DEVICES": ""},
                            True, CPU_TASK_LIMIT, memory_bytes)
    env = {"NVIDIA_TF32_OVERRIDE": "0", "FLAGS_cudnn_deterministic": "1",
           "FLAGS_embedding_deterministic": "1", "CUDA_MODULE_LOADING": "LAZY"}
    if gpu_index is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu_index)
    if scratch:
        env["CUDA_CACHE_PATH"] = os.path.join(scratch, ".nv")
    devices = _nvidia_devices()
    return WorkerPolicy("gpu", BASE_DEVICES + devices, devices,
                        ("/proc/driver/nvidia", "/sys/bus/pci/devices"), env, False,
                        GPU_TASK_LIMIT, memory_bytes)
