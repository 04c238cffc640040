"""Parent side of the sandbox: start the zygote, send it one request per
question's worker, and read back validated arrays and statuses.

Nothing here executes student code; the arrays returned are checked
(numeric, bounded size) before any judge sees them.
"""

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GraderFault
from ..i18n import N_, say
from ..limits import Limits, Speed
from ..paths import REPOSITORY
from .child import LOAD_STRETCH
from .processes import die_with_parent, kill_tree
from .protocol import SETUP_READY, Outcome, Preflight, ProbeRequest, Report, Request

MAX_OUTPUT_BYTES = 64 * 1024 * 1024   # uncompressed size of one probe's arrays
HELLO_TIMEOUT = 120.0                 # seconds for the zygote to import paddle
REPLY_SLACK = 15.0                    # parent waits this much longer than the zygote's limit
MAX_STATEMENT_ERRORS = 1000           # statement failures read back from one worker
# The preflight's worker may take this long: importing a CUDA paddle and creating a
# context take seconds; a wheel without machine code for the GPU JIT-compiles its
# kernels at first use, for minutes: the preflight then fails and says so.
PREFLIGHT_SECONDS = 120.0
# A GPU worker's start-up (paddle import, CUDA context), as the preflight measured
# it, is added to each GPU worker's limits this many times over (plus a second):
# it varies with the machine's load, and is never the student's time.
SETUP_SLACK = 2.0


class SandboxError(GraderFault):
    """The sandbox itself could not be started (a grader problem, not the student's)."""


@dataclass
class ProbeResult:
    """What came back for one check: arrays, or an error message for the student."""
    outputs: dict = None
    error: str = None
    sandbox_note: str = ""     # what the worker says it restricted (staff only)
    seconds: float = 0.0       # the probe's run time, as the worker measured it
    key: str = ""              # the error's message key (a StudentError's English msgid)


def child_root():
    """The folder whose ``nndl`` and ``autograder`` packages the child imports."""
    return REPOSITORY


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
    passed = ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    return env | {key: os.environ[key] for key in passed if key in os.environ}


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


def _zygote_preexec(parent_pid, then=None):
    """Run ``then`` (e.g. a privilege drop, which would reset the setting), then
    make the zygote die with the grader, so a killed grading leaves nothing."""
    def preexec():
        if then is not None:
            then()
        die_with_parent(parent_pid)
    return preexec


@dataclass
class SliceReport:
    """What the worker says of the slice's statements: ``errors`` as
    ``{index: (kind, message)}`` ("error" or "timeout"), and what it restricted."""
    errors: dict = field(default_factory=dict)
    sandbox_note: str = ""
    setup: float = 0.0              # seconds from the fork to the first statement
    statements: float = 0.0         # seconds of the slice's statements
    setup_error: dict = None        # a set-up that failed: {"step", "error", "diagnosis"}
    preflight: dict = None          # the preflight worker's report


class Sandbox:
    """One zygote. ``run`` may be called any number of times, for any number of
    submissions (each worker is forked fresh from the zygote, which never runs
    student code); if the zygote dies, the next call starts a new one.

    ``device``: "cpu", "gpu" or "auto" (a GPU zygote when paddle is a CUDA
    build; see :mod:`.child`); once started, ``device`` is the zygote's mode.
    A GPU sandbox is checked with :meth:`preflight` before use."""

    def __init__(self, workdir, spec, *, python=None, memory_mb=2048, device="cpu",
                 preexec_fn=None, pythonpath=None, gpu_index=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spec = spec
        self.python = python or sys.executable
        self.memory_mb = memory_mb
        self.requested = self.device = device
        self.gpu_index = gpu_index
        self.setup_allowance = (0.0, 0.0)   # (CPU, wall) seconds added to a worker's limits
        self.gpu_lock = Path(tempfile.gettempdir()) / f"nndl-gpu-{os.getuid()}.lock"
        self.worker_device = None   # paddle's device in a GPU worker ("cpu": tests without a GPU)
        self.preexec_fn = preexec_fn
        self.pythonpath = pythonpath
        self.proc = None
        self.info = {}
        self.speed = Speed()        # set from the hello by the engine
        self.gradings = 0           # submissions graded in this sandbox so far
        self.start_seconds = 0.0    # how long the zygote took to say hello

    # -- process management -------------------------------------------------
    def start(self):
        started = time.monotonic()
        stderr = open(self.workdir / "zygote.log", "ab")
        spec = dict(self.spec, grader_root=str(self.pythonpath or self.spec["grader_root"]),
                    mode=self.requested)
        try:
            self.proc = subprocess.Popen(
                [self.python, "-u", "-m", "autograder.sandbox.child", str(self.workdir),
                 json.dumps(spec)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                cwd=self.workdir, env=child_env(self.pythonpath), start_new_session=True,
                preexec_fn=_zygote_preexec(os.getpid(), self.preexec_fn))
        except OSError as e:
            raise SandboxError(f"cannot start the sandbox interpreter {self.python}: {e}") from e
        finally:
            stderr.close()
        line = self._readline(HELLO_TIMEOUT)
        self.start_seconds = time.monotonic() - started
        if not line:
            log = (self.workdir / "zygote.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise SandboxError(f"the sandbox did not start:\n{log}")
        self.info = json.loads(line)
        self.device = self.info.get("mode", "cpu")
        return self.info

    def stop(self):
        """Kill the zygote and every process under it (question workers, what
        student code started), and wait until they are gone."""
        if self.proc is None:
            return
        kill_tree(self.proc.pid)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            with suppress(OSError):
                stream.close()
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
    def reset(self):
        """Forget everything of the last submission (folders, logs) before the next."""
        self.gradings += 1
        for sub in ("io", "scratch"):          # their contents (the folders' owners stay)
            folder = self.workdir / sub
            for child in (folder.iterdir() if folder.is_dir() else ()):
                shutil.rmtree(child, ignore_errors=True)
        for log in self.workdir.glob("*.log"):
            if log.name != "zygote.log":
                log.unlink(missing_ok=True)

    def prepare(self, question):
        """The folders of ``question``'s worker, fresh: ``(io_dir, scratch)``."""
        io_dir = self.workdir / "io" / question
        scratch = self.workdir / "scratch" / question
        for d in (io_dir, scratch):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        return io_dir, scratch

    def _send(self, request, wall_limit):
        """Send one :class:`Request`; the zygote's :class:`Report` (a lost one when
        it did not answer in time or sent nonsense: then a new zygote next time)."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        try:
            self.proc.stdin.write((json.dumps(request.to_json()) + "\n").encode())
            self.proc.stdin.flush()
            line = self._readline(wall_limit * LOAD_STRETCH + REPLY_SLACK)
        except (BrokenPipeError, OSError):
            line = None
        try:
            return Report.from_json(json.loads(line)) if line is not None else Report.lost()
        except json.JSONDecodeError:
            return Report.lost()
        finally:
            if line is None:
                self.stop()

    def _request(self, question, statements, checks, limits, references):
        io_dir, scratch = self.prepare(question)
        cpu_extra, wall_extra = self.setup_allowance
        request = Request(question, cpu_limit=limits.cpu + cpu_extra,
                          wall_limit=limits.wall + wall_extra, statement_limit=limits.statement,
                          device=self.worker_device or
                          ("gpu:0" if self.device == "gpu" else "cpu"), scratch=str(scratch),
                          io_dir=str(io_dir), workdir=str(self.workdir),
                          log=str(self.workdir / f"{question}.log"),
                          progress=str(io_dir / "progress"),
                          slice_status=str(io_dir / "slice.json"), gpu_index=self.gpu_index,
                          memory_bytes=self.memory_mb * 2**20, statements=statements,
                          references=references or {})
        for name, probe, inputs in checks:
            stem = io_dir / name.replace("/", "_")
            np.savez(f"{stem}.in.npz", **inputs)
            request.checks.append(ProbeRequest(name, probe, inputs=f"{stem}.in.npz",
                                               output=f"{stem}.out.npz",
                                               status=f"{stem}.status.json"))
        return request

    @contextmanager
    def _gpu_turn(self, alone):
        """On a GPU: a shared lock on the GPU for a worker, an exclusive one for
        a worker that must run ``alone`` (the re-run of a question that ran out
        of GPU memory); every sandbox of this user on this machine takes it."""
        if self.device != "gpu":
            yield
            return
        with open(self.gpu_lock, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
            yield

    def run(self, question, statements, checks, limits, references=None, alone=False):
        """Run the ``statements`` (``Statement.to_json()``) of ``question``'s slice,
        then ``checks`` -- a list of ``(name, probe_name, inputs)`` -- in a fresh
        worker with the reference classes ``references`` ({slot: "module:Class"});
        ``alone``: no other worker on the GPU meanwhile. Returns ``(Report,
        {name: ProbeResult}, SliceReport)``; the report's ``setup`` is "ready" when
        the worker's set-up finished (else it died in the grader's set-up)."""
        request = self._request(question, statements, checks, limits, references)
        with self._gpu_turn(alone):
            report = self._send(request, request.wall_limit)
        probed = {c.name: self._collect(c, report) for c in request.checks}
        return report, probed, self._slice_report(Path(request.slice_status))

    def preflight(self):
        """Run the GPU preflight worker (see :mod:`.preflight`); its
        :class:`Preflight`. On success, a GPU worker's start-up is added to the
        limits of every later worker, and the benchmark sets the speed."""
        build = {"paddle": self.info.get("paddle", ""), "cuda": self.info.get("cuda_version", "")}
        limits = Limits(PREFLIGHT_SECONDS, PREFLIGHT_SECONDS, PREFLIGHT_SECONDS)
        request = self._request("preflight", [], [], limits, {})
        request.preflight = True
        report = self._send(request, request.wall_limit)
        got = self._slice_report(Path(request.slice_status))
        if report.setup == SETUP_READY and got.preflight is not None:
            result = Preflight.from_json(got.preflight, **build)
            result.ok = True
            self.setup_allowance = (result.setup_cpu * SETUP_SLACK + 1.0,
                                    result.setup_wall * SETUP_SLACK + 1.0)
            return result
        if got.setup_error:
            error = got.setup_error
            reason = error.get("error", "")
            if error.get("diagnosis"):
                reason = f"{error['diagnosis']} ({reason})"
            return Preflight(False, str(error.get("step", "?")), reason, **build)
        step = report.setup or "start"
        said = " ".join(self.log("preflight").split()[-60:])
        return Preflight(False, step, f"the worker {_ended(report)}" +
                         (f"; it printed: ...{said[-1500:]}" if said else ""), **build)

    def _slice_report(self, path):
        try:
            if not path.is_file() or path.is_symlink():
                return SliceReport()
            data = json.loads(path.read_text(encoding="utf-8", errors="replace")[:1_000_000])
            errors = {}
            for e in data.get("errors", [])[:MAX_STATEMENT_ERRORS]:
                kind = "timeout" if e.get("kind") == "timeout" else "error"
                errors[int(e["index"])] = (kind, str(e.get("error", ""))[:1000])
            setup_error = data.get("setup_error")
            return SliceReport(errors, str(data.get("sandbox", ""))[:600],
                               _seconds(data.get("setup")), _seconds(data.get("statements")),
                               {str(k): str(v)[:3000] for k, v in setup_error.items()}
                               if isinstance(setup_error, dict) else None,
                               data.get("preflight") if isinstance(data.get("preflight"), dict)
                               else None)
        except Exception:  # noqa: BLE001 - written by the worker: anything may be in it
            return SliceReport()

    def _collect(self, c, report):
        status_path, out_path = Path(c.status), Path(c.output)
        if not status_path.exists() or status_path.stat().st_size == 0:   # opened, not written
            key, message = _fate(report)
            return ProbeResult(error=message, key=key)
        try:
            status = json.loads(status_path.read_text(encoding="utf-8", errors="replace")[:200_000])
            if not isinstance(status, dict):
                raise ValueError
        except Exception:  # noqa: BLE001 - written by the worker: anything may be in it
            return ProbeResult(error=say(N_("the check's status could not be read")),
                               key="the check's status could not be read")
        note, seconds = str(status.get("sandbox", ""))[:600], _seconds(status.get("seconds"))
        if not status.get("ok"):
            return ProbeResult(error=str(status.get("error", "unknown error"))[:2000],
                               sandbox_note=note, seconds=seconds,
                               key=str(status.get("key", ""))[:300])
        outputs, error = load_outputs(out_path)
        return ProbeResult(outputs=outputs, error=error, sandbox_note=note, seconds=seconds)

    def log(self, question, limit=64 * 1024):
        """The (truncated) output the student's code printed during ``question``."""
        path = self.workdir / f"{question}.log"
        try:
            with open(path, "rb") as f:
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return ""


def _seconds(value):
    """A duration reported by the worker (untrusted): a small float, else 0."""
    return float(value) if isinstance(value, (int, float)) and 0 <= value < 1e6 else 0.0


def _ended(report):
    """How a worker ended, for the staff (a grader's failure)."""
    outcome, code = Outcome.of(report.outcome), report.code
    if outcome is Outcome.EXITED:
        return f"exited with status {code}"
    if outcome is Outcome.SIGNAL:
        return f"was killed by signal {code}"
    if outcome is not None and outcome.out_of_time:
        return f"did not finish within its time ({report.elapsed or 0:.0f} s)"
    return "was lost (the sandbox stopped responding)"


def _fate(report):
    """What became of a worker that wrote no status for a check: ``(message key,
    message)``, the message in the grading's language."""
    outcome = Outcome.of(report.outcome)
    params = {}
    if outcome is not None and outcome.out_of_time:
        key = N_("stopped: the time limit for this question was reached (infinite loop?)")
    elif outcome is Outcome.SIGNAL:
        sig = report.code
        key = {signal.SIGKILL: N_("the code crashed: killed (memory limit?)"),
               signal.SIGSEGV: N_("the code crashed: segmentation fault"),
               signal.SIGXFSZ: N_("the code crashed: output file too large"),
               signal.SIGABRT: N_("the code crashed: aborted")}.get(
            sig, N_("the code crashed: killed by signal %(signal)s"))
        params = {"signal": str(sig)}
    elif outcome is Outcome.DISK_LIMIT:
        key = N_("stopped: the code wrote more to disk than a question may (16 MB, 1000 files)")
    elif outcome is Outcome.EXITED:
        key = N_("the process exited early (exit code %(code)s) before this check ran")
        params = {"code": str(report.code)}
    else:
        key = N_("the sandbox stopped responding while running this question")
    return key, say(key, **params)
