"""Parent side of the sandbox: start the zygote, send it one request per
question, enforce time limits from outside, and read back validated arrays.

Nothing here executes student code; the arrays returned are checked
(numeric, bounded size) before any judge sees them.
"""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_OUTPUT_BYTES = 64 * 1024 * 1024   # uncompressed size of one probe's arrays
HELLO_TIMEOUT = 120.0                 # seconds for the zygote to import paddle
REPLY_SLACK = 15.0                    # parent waits this much longer than the zygote's limit


class SandboxError(Exception):
    """The sandbox itself could not be started (a grader problem, not the student's)."""


@dataclass
class ProbeResult:
    """What came back for one check: arrays, or an error message for the student."""
    outputs: dict = None
    error: str = None
    load_problems: list = field(default_factory=list)
    sandbox_note: str = ""     # what the worker says it restricted (staff only)


def child_root():
    """The folder whose ``nndl`` and ``autograder`` packages the child imports."""
    return Path(__file__).resolve().parents[2]


def child_env(extra_path=None):
    """A minimal environment for the child: no inherited secrets, quiet paddle."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("SANDBOX_HOME", "/nonexistent" if os.geteuid() == 0 else
                               os.environ.get("HOME", "/tmp")),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(extra_path or child_root()),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "GLOG_minloglevel": "2",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def load_outputs(path):
    """Read a probe's ``.npz`` safely: no pickles, bounded size, numeric arrays."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(info.file_size for info in z.infolist())
        if total > MAX_OUTPUT_BYTES:
            return None, f"the returned arrays are too large ({total / 2**20:.0f} MB)"
        with np.load(path, allow_pickle=False) as data:
            arrays = {}
            for key in data.files:
                arr = data[key]
                if arr.dtype.kind not in "fiub":
                    return None, f"'{key}' is not numeric (dtype {arr.dtype})"
                arrays[key] = arr
        return arrays, None
    except Exception as e:  # noqa: BLE001 - any corrupt file is the student's
        return None, f"the returned arrays could not be read ({type(e).__name__})"


PR_SET_PDEATHSIG = 1
try:   # looked up once, before any fork
    _prctl = __import__("ctypes").CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def die_with_parent(parent_pid):
    """Have the kernel SIGKILL this process when ``parent_pid`` (its parent)
    dies (Linux; elsewhere a no-op). Safe to call between fork and exec."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:      # the parent died before prctl
        os.kill(os.getpid(), signal.SIGKILL)


def _zygote_preexec(parent_pid, then=None):
    """Run ``then`` (e.g. a privilege drop, which would reset the setting), then
    make the zygote die with the grader, so a killed grading leaves nothing."""
    def preexec():
        if then is not None:
            then()
        die_with_parent(parent_pid)
    return preexec


class Sandbox:
    """One zygote per submission. ``run_question`` may be called repeatedly;
    if the zygote dies, the next call starts a new one."""

    def __init__(self, workdir, statements, *, python=None, memory_mb=2048,
                 device="cpu", preexec_fn=None, pythonpath=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "statements.json").write_text(json.dumps(statements), encoding="utf-8")
        self.python = python or sys.executable
        self.memory_mb = memory_mb
        self.device = device
        self.preexec_fn = preexec_fn
        self.pythonpath = pythonpath
        self.proc = None
        self.info = {}

    # -- process management -------------------------------------------------
    def start(self):
        stderr = open(self.workdir / "zygote.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.python, "-u", "-m", "autograder.sandbox.child",
                 str(self.workdir)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=self.workdir, env=child_env(self.pythonpath), start_new_session=True,
                preexec_fn=_zygote_preexec(os.getpid(), self.preexec_fn))
        except OSError as e:
            raise SandboxError(f"cannot start the sandbox interpreter {self.python}: {e}") from e
        finally:
            stderr.close()
        line = self._readline(HELLO_TIMEOUT)
        if not line:
            log = (self.workdir / "zygote.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise SandboxError(f"the sandbox did not start:\n{log}")
        self.info = json.loads(line)
        return self.info

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _readline(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            buf += chunk
            if b"\n" in buf:
                return buf.split(b"\n", 1)[0].decode("utf-8", "replace")
        return None

    # -- requests -----------------------------------------------------------
    def _request(self, question, time_limit, skip):
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        qdir = self.workdir / "io" / question
        qdir.mkdir(parents=True, exist_ok=True)
        return qdir, {"question": question, "time_limit": time_limit, "device": self.device,
                      "limits": {"memory_bytes": self.memory_mb * 2**20}, "checks": [],
                      "io_dir": str(qdir), "skip": sorted(skip),
                      "grader_root": str(self.pythonpath or child_root())}

    def _send(self, request, time_limit):
        """Send one request; the zygote's report, or 'lost' (and a new zygote next time)."""
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            line = self._readline(time_limit + REPLY_SLACK)
        except (BrokenPipeError, OSError):
            line = None
        try:
            return json.loads(line) if line is not None else None
        except json.JSONDecodeError:
            return None
        finally:
            if line is None:
                self.stop()

    def load(self, time_limit, skip=()):
        """Run the notebook's statements (but ``skip``) in a worker, to find one that
        kills it or hangs. Returns ``(report, index)``: ``index`` is None when every
        statement ran, else the index of the statement running when the worker died."""
        qdir, request = self._request("load", time_limit, skip)
        progress = qdir / "progress"
        progress.unlink(missing_ok=True)
        request["progress"] = str(progress)
        report = self._send(request, time_limit) or {"outcome": "lost"}
        try:
            mark = progress.read_bytes()[:16].decode("ascii", "replace").strip()
        except OSError:
            mark = ""
        if report.get("outcome") == "exited" and report.get("code") == 0 and mark == "done":
            return report, None
        return report, int(mark) if re.fullmatch(r"[0-9]{1,8}", mark) else None

    def run_question(self, question, checks, time_limit, skip=()):
        """Run ``checks`` — a list of ``(check_name, probe, inputs_dict)`` — for
        one question in a fresh worker, without the statements ``skip``; return
        ``(report, {name: ProbeResult})``."""
        qdir, request = self._request(question, time_limit, skip)
        for name, probe, inputs in checks:
            stem = qdir / name.replace("/", "_")
            np.savez(f"{stem}.in.npz", **inputs)
            for suffix in (".out.npz", ".status.json"):
                Path(f"{stem}{suffix}").unlink(missing_ok=True)
            request["checks"].append({"name": name, "probe": probe, "inputs": f"{stem}.in.npz",
                                      "output": f"{stem}.out.npz",
                                      "status": f"{stem}.status.json"})
        report = self._send(request, time_limit) or {"outcome": "lost", "code": None,
                                                      "elapsed": None}
        return report, {c["name"]: self._collect(c, report) for c in request["checks"]}

    def _collect(self, c, report):
        status_path, out_path = Path(c["status"]), Path(c["output"])
        if not status_path.exists():
            return ProbeResult(error=_fate(report))
        try:
            status = json.loads(status_path.read_text(encoding="utf-8", errors="replace")[:200_000])
            if not isinstance(status, dict):
                raise ValueError
        except Exception:  # noqa: BLE001 - written by the worker: anything may be in it
            return ProbeResult(error="the check's status could not be read")
        problems = [str(p)[:500] for p in status.get("load_problems", [])][:20] \
            if isinstance(status.get("load_problems"), list) else []
        note = str(status.get("sandbox", ""))[:200]
        if not status.get("ok"):
            return ProbeResult(error=str(status.get("error", "unknown error"))[:2000],
                               load_problems=problems, sandbox_note=note)
        outputs, error = load_outputs(out_path)
        return ProbeResult(outputs=outputs, error=error, load_problems=problems,
                           sandbox_note=note)

    def log(self, question, limit=64 * 1024):
        """The (truncated) output the student's code printed during ``question``."""
        path = self.workdir / f"{question}.log"
        try:
            with open(path, "rb") as f:
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""


def _fate(report):
    outcome = report.get("outcome")
    if outcome == "timeout":
        return "stopped: the time limit for this question was reached (infinite loop?)"
    if outcome == "signal":
        sig = report.get("code")
        name = {signal.SIGKILL: "killed (memory limit?)", signal.SIGSEGV: "segmentation fault",
                signal.SIGXFSZ: "output file too large", signal.SIGABRT: "aborted"}.get(
            sig, f"killed by signal {sig}")
        return f"the code crashed: {name}"
    if outcome == "exited":
        return f"the process exited early (exit code {report.get('code')}) before this check ran"
    return "the sandbox stopped responding while running this question"
