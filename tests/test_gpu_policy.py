"""The worker policies are what docs/gpu.md says (its tables are parsed and
compared with policy_for's fields, the GPU one on a fake /dev, /proc, /sys and
library tree, without starting CUDA), and a GPU worker's host-memory cap holds
without an address-space limit (a memory cgroup as root, RLIMIT_DATA
otherwise)."""

import os
import re
import signal
import tomllib

import pytest

from autograder.sandbox import jail
from autograder.sandbox.policy import GPU_MEMORY_LIMIT_MB, policy_for
from autograder.sandbox.processes import in_throwaway_fork
from conftest import IS_ROOT, ROOT

DOC = (ROOT / "docs" / "gpu.md").read_text()
MB = 2**20


def doc_table(heading):
    """``{kind: [value, ...]}`` of the table under ``## heading`` in docs/gpu.md."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`"):
            rows.setdefault(cells[0], []).append(cells[1].strip("`"))
    return rows


CPU_DOC = doc_table("Device files: a CPU worker")
GPU_DOC = doc_table("What a GPU worker may do beyond a CPU worker")


def doc_env(rows, **values):
    env = {}
    for item in rows.get("env", []):
        name, _, value = item.partition("=")
        for key, new in values.items():
            value = value.replace(f"<{key}>", new)
        env[name] = value
    return env


def doc_limit(rows, name):
    return next(v.split(": ", 1)[1] for v in rows["limit"] if v.startswith(name + ":"))


def test_the_cpu_policy_is_the_documented_one():
    settings = tomllib.loads((ROOT / "autograder" / "grading.toml").read_text())
    memory_mb = settings["run"]["memory_limit_mb"]
    policy = policy_for("cpu", memory_bytes=2048 * MB)
    assert set(policy.write_devices) == set(CPU_DOC["device"]) and policy.ioctl_devices == ()
    assert policy.read_roots == () and policy.thread_names is False
    assert policy.env == doc_env(CPU_DOC)
    assert policy.address_space_limit is True
    assert doc_limit(CPU_DOC, "address space") == f"{memory_mb} MB"
    assert policy.task_limit == int(doc_limit(CPU_DOC, "tasks")) == jail.TASK_LIMIT


def _write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A fake GPU machine's /dev, /proc, /sys and library folders: two NVIDIA
    GPUs (minors 0 and 1) and a non-NVIDIA PCI function, the driver library
    behind ld.so.conf, the CUDA toolkit on LD_LIBRARY_PATH."""
    root = tmp_path / "root"
    for name in ("null", "zero", "full", "random", "urandom", "nvidiactl", "nvidia-uvm",
                 "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidia-modeset", "kmsg",
                 "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"):
        _write(root / "dev" / name)
    gpus = {"0000:17:00.0": (0, "GPU-aaaa"), "0000:65:00.0": (1, "GPU-bbbb")}
    for bus, (minor, uuid) in gpus.items():
        _write(root / "proc/driver/nvidia/gpus" / bus / "information",
               f"Model:\t\tTest GPU\nDevice Minor:\t {minor}\nGPU UUID:\t {uuid}\n")
    (root / "proc/driver/nvidia-uvm").mkdir(parents=True)
    functions = {"0000:17:00.0": "pci0000:16", "0000:65:00.0": "pci0000:64",
                 "0000:00:1f.0": "pci0000:00"}
    (root / "sys/bus/pci/devices").mkdir(parents=True)
    for bus, bridge in functions.items():
        _write(root / "sys/devices" / bridge / bus / "vendor",
               "0x8086\n" if bus == "0000:00:1f.0" else "0x10de\n")
        os.symlink(f"../../../devices/{bridge}/{bus}", root / "sys/bus/pci/devices" / bus)
    for name in ("cpu", "node"):
        (root / "sys/devices/system" / name).mkdir(parents=True)
    _write(root / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    _write(root / "etc/ld.so.conf.d/x86_64-linux-gnu.conf",
           "# multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n"
           "/usr/lib/x86_64-linux-gnu\n")
    _write(root / "usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14")
    os.symlink("libcuda.so.550.54.14", root / "usr/lib/x86_64-linux-gnu/libcuda.so.1")
    _write(root / "usr/local/cuda-11.8/lib64/libcudart.so.11.0")
    _write(root / "home/someone/lib/libz.so.1")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/local/cuda-11.8/lib64:/home/someone/lib:relative")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return root


def expected_reads():
    """The documented read roots, their placeholders as the fake machine fills them."""
    fills = {"<the real folders of the NVIDIA PCI functions>":
             ["/sys/devices/pci0000:16/0000:17:00.0", "/sys/devices/pci0000:64/0000:65:00.0"],
             "<the folder of libcuda.so.1>": ["/usr/lib/x86_64-linux-gnu"],
             "<LD_LIBRARY_PATH folders holding libcudart, libcublas or libcudnn>":
             ["/usr/local/cuda-11.8/lib64"]}
    reads = []
    for value in GPU_DOC["read"]:
        reads += fills[value] if value.startswith("<") else [value]
    return reads


@pytest.mark.parametrize("gpu_index,visible,minor,shown", [
    (None, None, 0, "0"), (1, None, 1, "1"), (0, "1", 1, "1"), (0, "GPU-bbbb", 1, "GPU-bbbb")])
def test_the_gpu_policy_is_the_documented_one(machine, gpu_index, visible, minor, shown):
    scratch = "/tmp/nndl-scratch-q1"
    policy = policy_for("gpu", gpu_index=gpu_index, memory_bytes=2048 * MB, scratch=scratch,
                        root=str(machine), visible=visible)
    gpu_devices = [d.replace("<N>", str(minor)) for d in GPU_DOC["device"]]
    assert set(policy.write_devices) == set(CPU_DOC["device"]) | set(gpu_devices)
    assert set(policy.ioctl_devices) == set(gpu_devices)
    assert f"/dev/nvidia{1 - minor}" not in policy.write_devices        # not the other GPU
    assert "/dev/nvidia-modeset" not in policy.write_devices
    assert sorted(policy.read_roots) == sorted(expected_reads())
    assert policy.thread_names is True and GPU_DOC["write"] == ["/proc/self/task"]
    assert policy.env == doc_env(GPU_DOC, gpu=shown, scratch=scratch)
    assert policy.env["FLAGS_gpu_memory_limit_mb"] == str(GPU_MEMORY_LIMIT_MB)
    assert policy.address_space_limit is False and doc_limit(GPU_DOC, "address space") == "none"
    assert policy.task_limit == int(doc_limit(GPU_DOC, "tasks"))
    assert policy.memory_bytes == 2048 * MB
    assert GPU_DOC["syscall"] == ["none"]


def test_no_gpu_visible_means_no_gpu_file(machine):
    policy = policy_for("gpu", root=str(machine), visible="")
    assert policy.env["CUDA_VISIBLE_DEVICES"] == ""
    assert not any(re.fullmatch(r"/dev/nvidia\d+", d) for d in policy.write_devices)


def test_the_documented_env_names_are_paddles_and_nvidias():
    """Every FLAGS_ variable the GPU worker sets is a flag paddle defines
    (paddle/common/flags.cc of 3.x; the 2.6.2 wheel's libphi.so was checked
    by hand): a misspelt flag would be silently ignored."""
    known = {"FLAGS_cudnn_deterministic", "FLAGS_allocator_strategy", "FLAGS_gpu_memory_limit_mb"}
    assert {k for k in doc_env(GPU_DOC) if k.startswith("FLAGS_")} == known


# -- the host-memory cap without an address-space limit ------------------------------------
def test_rlimit_data_caps_a_worker_without_a_memory_cgroup():
    def attempt():
        note = jail.limit_memory(64 * MB, None)
        assert "RLIMIT_DATA" in note
        try:
            block = bytearray(256 * MB)
            return 2 if block else 3
        except MemoryError:
            return 1

    assert in_throwaway_fork(attempt) == 1


@pytest.mark.skipif(not IS_ROOT, reason="a memory cgroup is made by a root zygote only")
def test_a_memory_cgroup_caps_a_worker_as_root():
    group = jail.TaskGroup(None, f"nndl-test-memory-{os.getpid()}", memory_bytes=64 * MB)
    if not group.memory_path:
        pytest.skip("no writable memory cgroup here")
    try:
        pid = os.fork()
        if pid == 0:                                   # pragma: no cover - child
            code = 3
            try:
                group.join()
                code = 4 if "cgroup" in jail.limit_memory(64 * MB, group) else 5
                block = bytearray(256 * MB)
                for i in range(0, len(block), 4096):      # touch every page
                    block[i] = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    finally:
        group.remove()
    assert not os.path.exists(group.memory_path)
