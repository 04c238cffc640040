"""The GPU preflight's report, and what it (and the sandbox's zygote) can
tell of the CUDA stack without importing paddle.

Before a GPU grading the sandbox runs one worker exactly as a question's
worker starts (same zygote, limits, environment and jail: :mod:`.child`)
that imports paddle, makes the GPU its device, runs a small op before and
after entering the jail, and times its start-up and a CPU benchmark. The
:class:`Preflight` (defined in :mod:`.protocol`) says how that went; when it
failed, which step and why: no GPU visible (no driver, no device), a driver too old for the wheel, or
refused by the sandbox (which device file). Standard library only.
"""

import ctypes
import os
import re
from importlib.util import find_spec

# CUDA driver API errors (cuda.h) the preflight names
CUDA_ERRORS = {0: "CUDA_SUCCESS", 2: "CUDA_ERROR_OUT_OF_MEMORY",
               3: "CUDA_ERROR_NOT_INITIALIZED", 35: "CUDA_ERROR_INSUFFICIENT_DRIVER",
               100: "CUDA_ERROR_NO_DEVICE", 101: "CUDA_ERROR_INVALID_DEVICE",
               209: "CUDA_ERROR_NO_BINARY_FOR_GPU", 304: "CUDA_ERROR_OPERATING_SYSTEM",
               803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
               804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"}


def paddle_build():
    """``(version, cuda)`` of the installed paddle read from its version file,
    without importing paddle (an import of a CUDA build initializes CUDA);
    ``cuda`` is "" for a CPU build, ``version`` "" when paddle is missing."""
    try:
        spec = find_spec("paddle")
        folder = list(spec.submodule_search_locations or [])[0]
        with open(os.path.join(folder, "version", "__init__.py"), encoding="utf-8") as f:
            text = f.read()
    except (ImportError, AttributeError, IndexError, TypeError, OSError):
        return "", ""
    fields = dict(re.findall(r"^(full_version|cuda_version)\s*=\s*'([^']*)'", text, re.M))
    cuda = fields.get("cuda_version", "False")
    return fields.get("full_version", ""), "" if cuda in ("False", "") else cuda


def _driver():
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _version(number):
    return f"{number // 1000}.{number % 1000 // 10}"


def diagnose_cuda(wheel_cuda=""):
    """Why CUDA is not usable here, asked of the driver itself (``libcuda``
    via ctypes): no driver, no device, a driver too old for ``wheel_cuda``."""
    lib = _driver()
    if lib is None:
        return ("no GPU is visible: the CUDA driver library libcuda.so.1 was not found "
                "(no NVIDIA driver on this machine, or not mounted into the container)")
    version = ctypes.c_int(0)
    lib.cuDriverGetVersion(ctypes.byref(version))
    driver = _version(version.value) if version.value else "?"
    code = lib.cuInit(0)
    name = CUDA_ERRORS.get(code, f"CUDA error {code}")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    shown = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    if code in (35, 803) or (wheel_cuda and version.value and
                             version.value < _cuda_number(wheel_cuda)):
        return (f"the NVIDIA driver is too old for this paddle wheel: the driver supports "
                f"CUDA {driver}, the wheel was built for CUDA {wheel_cuda} (cuInit: {name}); "
                "update the driver or install a wheel for an older CUDA")
    if code == 100:
        return f"no GPU is visible: cuInit says {name}{shown}"
    if code == 304:
        return (f"cuInit failed with {name}: the operating system refused the driver "
                "something (a device file, or a /proc write the sandbox denies)")
    count = ctypes.c_int(0)
    if code == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value == 0:
        return f"no GPU is visible: the driver (CUDA {driver}) counts no device{shown}"
    return f"cuInit: {name} (driver CUDA {driver}){shown}"


def _cuda_number(text):
    major, _, minor = text.partition(".")
    try:
        return int(major) * 1000 + int(minor or 0) * 10
    except ValueError:
        return 0


def refused_devices(paths):
    """The device files of ``paths`` this process may not open read-write
    (after the jail: the permission the sandbox refused), as a sentence."""
    refused = []
    for path in paths:
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
        except PermissionError as e:
            refused.append(f"{path} ({e.strerror})")
        except OSError:
            continue
    comm = f"/proc/self/task/{os.getpid()}/comm"
    try:
        with open(comm, "w") as f:
            f.write("nndl-worker")
    except OSError as e:
        refused.append(f"writing {comm} ({e.strerror})")
    if not refused:
        return "no device file was refused"
    return "refused by the sandbox: " + ", ".join(refused)
