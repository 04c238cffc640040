"""The sandboxed child ("zygote"): imports paddle once, then forks one worker
per request read from stdin, and reports each worker's fate on stdout. The
zygote itself never executes student code, so it can serve any number of
requests (of any number of submissions) and every worker starts clean.

Started as ``python -m autograder.sandbox.child FOLDER SPEC_JSON`` where the spec
(``autograder.lab.Lab.sandbox_spec``) says what to pre-import, which modules
notebook code may not import, which modules probes and reference classes may
come from, and where the reference parts go (``"module:PARTS"``).

Two modes (the spec's ``mode``; "auto": "gpu" when the installed paddle is a
CUDA build, read from its version file without importing it):

- "cpu": the zygote imports paddle once, with ``CUDA_VISIBLE_DEVICES=""``
  set before (a CUDA build then sees no GPU), benches on the CPU and forks
  workers that start with paddle imported. A student's own
  ``paddle.set_device("gpu")``, ``.cuda()`` or ``CUDAPlace`` raises a clear
  error in its statement.
- "gpu": CUDA cannot be used in a process forked from one that initialized it,
  and importing a CUDA build initializes it; so the zygote imports no paddle
  (modules that need it are left to the worker), queries no device and runs
  no benchmark. Each worker sets the GPU environment of its policy
  (:mod:`.policy`), imports paddle, makes the GPU its device and runs a first
  op before entering the jail; that start-up is measured by the preflight
  (:mod:`.preflight`) and added to the worker's limits by the parent.

A worker reports each step of its set-up on a pipe that it closes, after
writing "ready", before the student's first statement: a worker that dies
before "ready" is the grader's failure (its step and error are in the slice
status file), never the student's.

Protocol (JSON lines):
    zygote -> parent   {"hello": true, "mode": "cpu", "paddle": "3.3.1", "cuda": false,
                        "cuda_version": "", "jail": {...}, "bench_cpu": s | null,
                        "cpu_share": 1.0, "deferred": [modules left to the worker]}
    parent -> zygote   {"question": ..., "cpu_limit": s, "wall_limit": s,
                        "statement_limit": s, "device": "cpu",
                        "memory_bytes": n, "gpu_index": null, "preflight": false,
                        "statements": [{"index", "cell", "source"}],
                        "references": {"slot": "module:Class", ...}, "workdir",
                        "log", "scratch", "io_dir", "progress", "slice_status",
                        "checks": [{"name", "probe": "mod:func", "inputs", "output",
                                    "status"}]}
    zygote -> parent   {"question": ..., "outcome": an Outcome's value, "code": int,
                        "elapsed": float, "waited": float (of elapsed, s spent waiting
                        for a CPU), "cpu": float, "mark": the last progress
                        mark ("s 12", MARK_PROBES, MARK_DONE or ""),
                        "setup": SETUP_READY | the set-up step it died in | ""}
    (both typed, with the vocabulary: :mod:`autograder.sandbox.protocol`'s
    Request and Report)

A worker: sets resource limits, redirects stdout/stderr to its capped log,
reads its inputs, resolves its probes and imports the reference classes it
may use (never the one of the class it grades), confines itself (Landlock:
writes only to its own folders and reads only system and Python folders;
seccomp: no sockets; the grader's modules hidden from the notebook), runs the
slice's statements one by one (each under ``statement_limit`` seconds, its
index written to the progress file first), then each probe, writing its
arrays (``np.savez``) and a status file. Everything it writes is untrusted
and validated by the parent. The zygote watches the progress file: a
statement running longer than its limit gets the worker killed, and the
report's ``mark`` says which statement was running. The zygote is a child
subreaper and kills whatever a worker left running.
"""

import importlib
import json
import os
import pkgutil
import resource
import signal
import sys
import time
import traceback
import types
from contextlib import suppress
from dataclasses import replace

from autograder.sandbox import jail, seccomp
from autograder.sandbox.landlock import restrict
from autograder.sandbox.policy import policy_for, system_read_roots
from autograder.sandbox.preflight import diagnose_cuda, paddle_build, refused_devices
from autograder.sandbox.protocol import (MARK_DONE, MARK_PROBES, SETUP_READY, Outcome, Report,
                                         Request, marked_statement, statement_mark)
from autograder.sandbox.processes import become_subreaper, die_with_parent, kill_descendants

PRINT_LIMIT = 64 * 1024          # bytes of Python-level output kept per worker
MARK_BYTES = 16                  # size of the progress mark
STATEMENT_GRACE = 1.0            # the zygote kills a statement this long after its limit
POLL = 0.005                     # seconds between the zygote's checks of a worker
DISK_POLL = 0.2                  # seconds between checks of a scratch folder on disk
# A busy machine: time a worker spends runnable but waiting for a CPU is not charged to
# its wall-clock or statement limits (it is not the student's), but its clock may stretch
# to at most LOAD_STRETCH times the limit, so that every worker still ends. Seen with two
# busy loops on 2 cores: test_jail.py's correct-but-slow question was killed at its
# 11.9 s wall limit after 2.7 CPU s (it needs ~4.6); with the wait left out it passes.
LOAD_STRETCH = 4.0
OPEN_FILES = 256                 # RLIMIT_NOFILE of a worker
SETUP_BYTES = 4096               # what the zygote reads of a worker's set-up pipe
READY = SETUP_READY             # the last set-up step: the student's code may start
# What `import paddle` imports besides paddle (2.6.2 and 3.x), none of which touches
# CUDA: the GPU zygote imports them once, so that each GPU worker's import of paddle
# costs less (measured with 2.6.2: 1.15 -> 0.9 CPU s). Missing ones are skipped.
PADDLE_DEPENDENCIES = ("numpy.random", "setuptools", "google.protobuf", "PIL.Image",
                       "decorator", "astor", "opt_einsum", "httpx")
CPU_ONLY = ("this grading runs your code on the CPU ({what} is not available here): remove "
            "the call, the grader chooses the device")


class StatementTimeout(BaseException):
    """Raised inside a statement that ran past its time limit."""


class _CappedStream:
    """A text stream that keeps the first ``limit`` characters and drops the rest."""

    def __init__(self, raw, limit):
        self.raw, self.left, self.dropped = raw, limit, False

    def write(self, s):
        s = str(s)
        if self.left > 0:
            part = s[: self.left]
            self.raw.write(part)
            self.left -= len(part)
        if len(s) > 0 and self.left <= 0 and not self.dropped:
            self.dropped = True
            self.raw.write("\n[... output truncated by the grader ...]\n")
        return len(s)

    def flush(self):
        self.raw.flush()

    def isatty(self):
        return False

    def fileno(self):
        return self.raw.fileno()


def _get_ipython():
    raise RuntimeError("IPython magics and shell commands (%..., !...) are not run by the "
                       "grader")


def _limit(kind, value, slack=0):
    """Set the soft limit to ``value`` and the hard one to ``value + slack``, so
    student code cannot raise either back (capabilities are dropped later)."""
    with suppress(ValueError, OSError):
        hard = resource.getrlimit(kind)[1]
        if hard != resource.RLIM_INFINITY:
            value, slack = min(value, hard), max(0, min(slack, hard - value))
        resource.setrlimit(kind, (value, value + slack))


def _mark(fd, text):
    os.pwrite(fd, text.encode().ljust(MARK_BYTES), 0)


class _GraderBlocker:
    """A meta-path finder refusing the grader's own modules to notebook code."""

    def __init__(self, modules):
        self.modules = tuple(modules)

    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in self.modules):
            raise ImportError(f"notebook code may not import the grader ({name})")
        return None


def _hide_grader(modules):
    """Take the grader's modules out of reach of the notebook's code: out of
    ``sys.modules`` and unimportable (the probes already hold what they use)."""
    sys.meta_path.insert(0, _GraderBlocker(modules))
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is \
                    sys.modules[name]:
                with suppress(AttributeError):
                    delattr(sys.modules[parent], child)
            del sys.modules[name]


def _confine(request, spec, task_group, kernel, policy):
    """The jail (processes, disk, capabilities), then Landlock, seccomp and the
    grader's modules hidden, as the worker's ``policy`` says; returns a note of
    what was applied."""
    scratch = request.scratch
    notes, refuse_processes = jail.enter(scratch, task_group, kernel, policy.task_limit,
                                         policy.thread_names)
    if not policy.address_space_limit:
        notes.append(jail.limit_memory(policy.memory_bytes, task_group))
    os.chdir(scratch)                        # the tmpfs, when one was mounted there
    os.makedirs("tmp", exist_ok=True)
    notes.append(restrict([scratch], system_read_roots(spec["grader_root"], request.workdir)
                          + list(policy.read_roots), policy.write_devices,
                          ioctl_devices=policy.ioctl_devices, thread_names=policy.thread_names))
    notes.append(seccomp.install(no_processes=refuse_processes))
    _hide_grader(spec["hidden_modules"])
    return "; ".join(notes)


def _resolve(name, modules):
    """The object ``"module:attr"``, from one of the allowed ``modules`` only."""
    module = name.partition(":")[0]
    if module not in modules:
        raise ValueError(f"{name} is not in an allowed module")
    return pkgutil.resolve_name(name)


def _notebook_namespace(names):
    """The notebook's globals: the dict of a module ``__notebook__`` registered in
    ``sys.modules`` (as a kernel's ``__main__`` is), so that
    ``setattr(sys.modules[__name__], k, v)`` binds a name as it does in Jupyter."""
    module = types.ModuleType("__notebook__")
    module.__dict__.update(names)
    sys.modules["__notebook__"] = module
    return module.__dict__


def _run_statements(statements, ns, limit, progress_fd):
    """Execute each statement with its index marked first and a timer of
    ``limit`` seconds; return the failures as ``[{"index", "error"}]``."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise StatementTimeout

    signal.signal(signal.SIGALRM, on_alarm)
    errors = []
    for st in statements:
        _mark(progress_fd, statement_mark(st['index']))
        try:
            code = compile(st["source"], f"<notebook cell {int(st['cell']) + 1}>", "exec")
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                exec(code, ns)  # noqa: S102 - this is the sandbox
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except StatementTimeout:
            errors.append({"index": st["index"], "error": f"did not finish within {limit:g} s",
                           "kind": "timeout"})
        except BaseException as e:  # noqa: BLE001 - includes SystemExit, KeyboardInterrupt
            errors.append({"index": st["index"], "error": f"{type(e).__name__}: {e}",
                           "kind": "error"})
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return errors


def _write(stream, text):
    stream.write(text.encode("utf-8", "backslashreplace"))
    stream.flush()


def _run_probes(checks, ns, note, student_error, writers):
    """Run each probe; its arrays and status go to the files opened for it,
    written with ``writers`` = (np.asarray, np.savez, json.dumps) as they were
    before student code ran (a statement may have replaced numpy's)."""
    asarray, savez, dumps = writers
    for c, inputs, probe, (output, status_file) in checks:
        status = {"ok": False, "sandbox": note}
        start = time.monotonic()
        try:
            out = probe(ns, inputs)
            arrays = {str(k): asarray(v) for k, v in dict(out).items()}
            savez(output, **arrays)
            output.flush()
            status["ok"] = True
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, student_error):
                status["error"], status["key"] = str(e), getattr(e, "key", "")
            else:
                status["error"] = f"{type(e).__name__}: {e}"
                status["traceback"] = traceback.format_exc(limit=6)[-4000:]
        status["seconds"] = round(time.monotonic() - start, 4)
        _write(status_file, dumps(status))
        sys.stdout.flush()


def _redirect_output(log_path):
    log = open(log_path, "w", encoding="utf-8", errors="replace")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = _CappedStream(log, PRINT_LIMIT)
    sys.stderr = sys.stdout


class _SetupSteps:
    """The worker's set-up steps, told to the zygote on a pipe that is closed
    once the set-up is done (so that student code cannot write to it)."""

    def __init__(self, fd):
        self.fd, self.current = fd, "start"

    def enter(self, step):
        self.current = step
        os.write(self.fd, f"{step}\n".encode())

    def ready(self):
        self.enter(READY)
        os.close(self.fd)
        self.fd = None


def _set_limits(request, policy, task_group):
    """CPU time, host memory, core files and open files (hard limits)."""
    # SIGXCPU at the soft limit reports "timeout"; SIGKILL a second later if caught
    _limit(resource.RLIMIT_CPU, int(request.cpu_limit) + 1, slack=1)
    memory = request.memory_bytes
    if memory and policy.address_space_limit:
        _limit(resource.RLIMIT_AS, int(memory))
    # else CUDA reserves far more address space than it uses: the jail caps host
    # memory instead (a memory cgroup, else RLIMIT_DATA: jail.limit_memory)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, OPEN_FILES)


def _small_op(paddle):
    """A small matmul on paddle's current device, checked on the host."""
    x = paddle.ones([64, 64], dtype="float32")
    value = float(paddle.matmul(x, x).sum())
    if value != 64.0 ** 3:
        raise RuntimeError(f"a 64x64 matmul of ones gave {value}, not {64 ** 3}")


def _cpu_only(paddle):
    """A student's GPU calls fail with a clear message in a CPU worker (a CUDA
    build without a visible GPU would end the process instead)."""
    set_device = paddle.device.set_device

    def cpu_set_device(device):
        if str(device).strip().lower().startswith(("gpu", "cuda")):
            raise RuntimeError(CPU_ONLY.format(what=f"paddle.set_device({device!r})"))
        return set_device(device)

    def no_cuda(*args, **kwargs):
        raise RuntimeError(CPU_ONLY.format(what="the GPU (.cuda(), CUDAPlace)"))

    paddle.set_device = paddle.device.set_device = cpu_set_device
    paddle.Tensor.cuda = no_cuda
    paddle.CUDAPlace = no_cuda


def _start_paddle(request, policy, steps):
    """Import paddle (a GPU worker: with its policy's environment, then the GPU
    as its device and a first op, which creates the CUDA context); returns it."""
    gpu = policy.device == "gpu"
    steps.enter("paddle")
    os.environ.update(policy.env)
    # paddle in the worker, once its policy's environment is set (never in a GPU zygote)
    import paddle

    if not gpu or request.device == "cpu":    # "cpu" in a GPU worker: tests
        paddle.set_device("cpu")
        return paddle
    steps.enter("device")
    if not paddle.is_compiled_with_cuda():
        raise RuntimeError(f"paddle {paddle.__version__} is not compiled with CUDA")
    if paddle.device.cuda.device_count() < 1:
        raise RuntimeError("paddle counts no GPU")
    paddle.set_device(request.device or "gpu:0")
    # paddle's internals, once the GPU is the device
    from paddle.base import core

    core.set_cublas_switch(False)    # no TF32 in float32 matmuls (FLAGS_* have no such flag)
    core.set_cudnn_switch(False)
    steps.enter("context")
    _small_op(paddle)
    return paddle


def _setup_error(steps, error, policy):
    """What the slice status says of a set-up that failed at ``steps.current``."""
    diagnosis = ""
    with suppress(Exception):
        if steps.current in ("device", "context") and policy.device == "gpu":
            diagnosis = diagnose_cuda(paddle_build()[1])
        elif steps.current == "op in the jail":
            diagnosis = refused_devices(policy.write_devices)
    return {"step": steps.current, "error": f"{type(error).__name__}: {error}"[:2000],
            "diagnosis": diagnosis}


def _cpu_bench(paddle, device):
    """The CPU benchmark in a worker (paddle's device is ``device`` again after),
    and its (CPU, wall) seconds, which are not the worker's start-up."""
    cpu, wall = time.process_time(), time.monotonic()
    paddle.set_device("cpu")
    bench = _bench()
    paddle.set_device(device)
    return bench, (time.process_time() - cpu, time.monotonic() - wall)


def _preflight(paddle, status, started, bench):
    """The preflight's report, after a set-up like a GPU question's: its cost
    (less the benchmark's), the GPU's name and the CPU benchmark."""
    bench_cpu, (cpu, wall) = bench
    setup_cpu, setup_wall = time.process_time() - cpu, time.monotonic() - started - wall
    gpu = ""
    with suppress(Exception):
        gpu = paddle.device.cuda.get_device_name()
    report = {"ok": True, "paddle": paddle.__version__, "gpu": gpu,
              "setup_cpu": round(setup_cpu, 4), "setup_wall": round(setup_wall, 4),
              "bench_cpu": bench_cpu}
    _write(status, json.dumps({"errors": [], "preflight": report}))


def _worker(request, spec, progress_fd, setup_fd, task_group, kernel, policy):
    """Body of a forked worker; never returns."""
    # numpy comes with the lab's preloads: this module itself is standard library and sandbox only
    import numpy as np

    code, started, steps, status = 0, time.monotonic(), _SetupSteps(setup_fd), None
    try:
        status = open(request.slice_status, "wb")
        steps.enter("limits")
        os.setpgid(0, 0)
        die_with_parent()                 # the worker dies with the zygote
        _set_limits(request, policy, task_group)
        steps.enter("output")
        _redirect_output(request.log)
        os.environ["TMPDIR"] = os.environ["MPLCONFIGDIR"] = os.path.join(request.scratch, "tmp")
        paddle = _start_paddle(request, policy, steps)
        if request.preflight:
            steps.enter("bench")
            bench = _cpu_bench(paddle, paddle.get_device())
        # read every input, resolve every probe and load the reference classes
        # this question may use before any student code runs
        # and open every file it writes: afterwards it may create files in its
        # scratch folder only
        steps.enter("inputs")
        checks = []
        for c in request.checks:
            with np.load(c.inputs, allow_pickle=False) as data:
                checks.append((c, {k: data[k] for k in data.files},
                               _resolve(c.probe, spec["probe_modules"]),
                               (open(c.output, "wb"), open(c.status, "wb"))))
        # nndl is the lab's library, loaded by the preloads, not by this module
        from nndl.checks.core import StudentError

        steps.enter("references")
        registry = _resolve(spec["parts"], [spec["parts"].partition(":")[0]])
        registry.clear()
        registry.update({slot: _resolve(name, spec["reference_modules"])
                         for slot, name in request.references.items()})

        # from here on: a few tasks at most, new files only in the (small) scratch
        # folder, reads only system and Python folders, no sockets, no signals to the
        # zygote or the grader, and the grader's modules out of reach (each where the
        # kernel allows it)
        steps.enter("jail")
        note = _confine(request, spec, task_group, kernel, policy)
        if policy.device == "gpu":
            steps.enter("op in the jail")
            _small_op(paddle)
        else:
            _cpu_only(paddle)
        ns = _notebook_namespace({"__builtins__": __builtins__, "get_ipython": _get_ipython})
        ready = time.monotonic()
        steps.ready()
        if request.preflight:
            return _preflight(paddle, status, started, bench)
        writers = (np.asarray, np.savez, json.dumps)
        errors = _run_statements(request.statements, ns, float(request.statement_limit),
                                 progress_fd)
        _write(status, json.dumps({"errors": errors, "sandbox": note,
                                   "setup": round(ready - started, 4),
                                   "statements": round(time.monotonic() - ready, 4)}))
        _mark(progress_fd, MARK_PROBES)
        _run_probes(checks, ns, note, StudentError, writers)
        _mark(progress_fd, MARK_DONE)
    except BaseException as e:  # noqa: BLE001
        code = 3
        with suppress(Exception):
            if steps.fd is not None:          # the set-up failed: the grader's fault
                _write(status, json.dumps({"errors": [],
                                           "setup_error": _setup_error(steps, e, policy)}))
            sys.__stderr__.write(traceback.format_exc())
    finally:
        os._exit(code)


def _read_mark(fd):
    try:
        return os.pread(fd, MARK_BYTES, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""


def _progress(mark, positions):
    """``(key, mark)`` for a progress mark the worker wrote: ``key`` (0, k) at the
    k-th statement of the slice (``positions``: statement index -> k), (1,) in
    the probes, (2,) done; None for any other mark. Written by the worker, so
    untrusted: :func:`_wait` takes a mark only when its key is later than the
    last one, so that rewriting the mark ("s 13", "s 013", "x", ...) cannot
    restart a statement's clock."""
    if mark in (MARK_PROBES, MARK_DONE):
        return ((1,) if mark == MARK_PROBES else (2,)), mark
    index = marked_statement(mark)
    if index is not None and index in positions:
        return (0, positions[index]), statement_mark(index)
    return None


def _kill(pid):
    for target in (-pid, pid):
        with suppress(OSError):
            os.kill(target, signal.SIGKILL)


def _over_disk(scratch):
    size, files = jail.scratch_usage(scratch)
    return size > jail.SCRATCH_BYTES or files > jail.SCRATCH_FILES


def _read_setup(fd, got):
    """``got`` and what the worker wrote since on its set-up pipe (non-blocking)."""
    with suppress(BlockingIOError, OSError):
        while len(got) < SETUP_BYTES:
            chunk = os.read(fd, SETUP_BYTES)
            if not chunk:
                break
            got += chunk
    return got


def _setup_step(got):
    """The last set-up step the worker reported ("ready" when it finished)."""
    lines = got.decode("ascii", "replace").split("\n")
    return lines[-2][:40] if len(lines) > 1 else ""


def _run_delay(pid):
    """Seconds the process ``pid``'s main thread has spent runnable but waiting for
    a CPU (``/proc/PID/schedstat``, its second field, in ns); 0 where the kernel
    does not say."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _wait(pid, request, progress_fd, watch_disk, setup_fd):
    """Wait for the worker ``pid``: kill it (and its group) past the request's
    wall-clock limit, when one statement runs past its own limit (both less the
    time it waited for a CPU, up to LOAD_STRETCH times the limit), or (with
    ``watch_disk``) when its scratch folder outgrows the jail's sizes."""
    start, setup = time.monotonic(), b""
    wall = float(request.wall_limit)
    statement_limit = float(request.statement_limit) + STATEMENT_GRACE
    positions = {int(st["index"]): k for k, st in enumerate(request.statements)}
    key, mark, since, disk_checked = (-1,), "", start, start
    waited = waited_since = 0.0
    while True:
        waited = max(waited, _run_delay(pid))     # read before wait4 reaps it (then: 0)
        done, status, usage = os.wait4(pid, os.WNOHANG)
        now = time.monotonic()
        setup = _read_setup(setup_fd, setup)
        progress = _progress(_read_mark(progress_fd), positions)
        if progress is not None and progress[0] > key:
            (key, mark), since, waited_since = progress, now, waited
        outcome = None
        if done:
            break
        if now - start - waited > wall or now - start > wall * LOAD_STRETCH:
            outcome = Outcome.TIMEOUT.value
        elif key[0] == 0 and (now - since - (waited - waited_since) > statement_limit
                              or now - since > statement_limit * LOAD_STRETCH):
            outcome = Outcome.STATEMENT_TIMEOUT.value
        elif watch_disk and now - disk_checked > DISK_POLL:
            disk_checked = now
            outcome = Outcome.DISK_LIMIT.value if _over_disk(request.scratch) else None
        if outcome:
            _kill(pid)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(POLL)
    report = Report(outcome, code=-9, elapsed=time.monotonic() - start, waited=waited,
                    cpu=usage.ru_utime + usage.ru_stime, mark=mark,
                    setup=_setup_step(_read_setup(setup_fd, setup)), question=request.question)
    kill_descendants()    # whatever the worker left running (we are a subreaper)
    if outcome is None:   # the worker ended by itself
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            out_of_cpu = sig == signal.SIGXCPU or (   # or the hard limit's SIGKILL
                sig == signal.SIGKILL and report.cpu > float(request.cpu_limit))
            outcome = Outcome.TIMEOUT if out_of_cpu else Outcome.SIGNAL
            report.outcome, report.code = outcome.value, sig
        else:
            report.outcome, report.code = Outcome.EXITED.value, os.WEXITSTATUS(status)
    return report


def _bench(rounds=4, steps=60):
    """CPU seconds of a fixed small paddle workload: the fastest of ``rounds``
    after one warm-up round (the first ops of a process are slower); what
    ``autograder.limits`` compares with the calibration machine's. Timed with
    the thread's CPU clock (paddle's CPU ops run on the calling thread with
    OMP_NUM_THREADS=1): in a worker with an RLIMIT_CPU, as the GPU preflight's,
    the process clock advances only by scheduler ticks (it read 0.0 here)."""
    # paddle: imported by now (a CPU zygote's, or the GPU worker's); never at this module's import
    import paddle

    paddle.seed(0)
    x, w1 = paddle.rand([200, 2]), paddle.rand([2, 20])
    times = []
    for _ in range(rounds + 1):
        w2 = paddle.rand([20, 1])
        start = time.thread_time()
        for _ in range(steps):
            h = paddle.maximum(paddle.matmul(x, w1) - 0.5, paddle.zeros([1]))
            o = paddle.matmul(h, w2)
            w2 = w2 - 0.01 * paddle.matmul(h.t(), o - 1.0) / 200
        float(w2.sum())
        times.append(time.thread_time() - start)
    return min(times[1:])


def _serve(spec, out, kernel):
    for number, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        request = Request.from_json(json.loads(line))
        policy = policy_for(spec["mode"], gpu_index=request.gpu_index,
                            memory_bytes=request.memory_bytes, scratch=request.scratch)
        if spec.get("cuda_build") and policy.address_space_limit:
            # a CUDA build maps its CUDA libraries (2.6.2: 2.8 GB of address space
            # after the import, 290 MB of data): cap the data segment instead
            policy = replace(policy, address_space_limit=False)
        progress_fd = os.open(request.progress, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        setup_r, setup_w = os.pipe()
        os.set_blocking(setup_r, False)
        task_group = jail.TaskGroup(kernel["pids"], f"nndl-{os.getpid()}-{number}",
                                    policy.task_limit, policy.memory_bytes)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(setup_r)
                _worker(request, spec, progress_fd, setup_w, task_group, kernel, policy)
            os.close(setup_w)
            report = _wait(pid, request, progress_fd, not kernel["namespaces"], setup_r)
        finally:
            os.close(progress_fd)
            os.close(setup_r)
            task_group.remove()
        out.write(json.dumps(report.to_json()) + "\n")
        out.flush()


class _NoPaddle:
    """A meta-path finder refusing paddle to the GPU zygote's preloads."""

    def find_spec(self, name, path=None, target=None):
        if name == "paddle" or name.startswith("paddle."):
            raise ImportError("paddle is imported by each GPU worker, not by the zygote")
        return None


def _preload(modules, mode):
    """Import ``modules`` once, for every worker; in "gpu" mode without paddle:
    the modules that need it are left to the worker. Returns ``(seconds per
    module, deferred modules)``."""
    blocker = _NoPaddle() if mode == "gpu" else None
    if blocker:
        sys.meta_path.insert(0, blocker)
    imports, deferred = {}, []
    try:
        for module in modules:
            start = time.monotonic()
            try:
                importlib.import_module(module)
            except ImportError:
                if blocker is None:
                    raise
                deferred.append(module)
                continue
            imports[module] = round(time.monotonic() - start, 4)
    finally:
        if blocker:
            sys.meta_path.remove(blocker)
    return imports, deferred


def main():
    spec = json.loads(sys.argv[2])      # argv[1]: the sandbox's folder (its cwd), for ps
    out = sys.stdout
    sys.stdout = sys.stderr    # stray prints from imports must not reach the protocol
    version, cuda = paddle_build()
    mode = spec.get("mode", "cpu")
    if mode == "auto":
        mode = "gpu" if cuda else "cpu"
    spec["mode"], spec["cuda_build"] = mode, bool(cuda)
    if mode == "cpu":
        os.environ.update(policy_for("cpu").env)    # before paddle: a CUDA build sees no GPU
    # (matplotlib, if a notebook needs it, finds MPLBACKEND=Agg); never a reference module
    imports, deferred = _preload(spec["preload"] + spec["probe_modules"], mode)
    if mode == "gpu":
        sys.meta_path.insert(0, _NoPaddle())
        for module in PADDLE_DEPENDENCIES:
            with suppress(Exception):
                importlib.import_module(module)
        sys.meta_path.pop(0)
    if spec.get("language"):            # the probes' messages in the course's language
        setter, language = spec["language"]
        _resolve(setter, [setter.partition(":")[0]])(language)
    become_subreaper()
    start = time.monotonic()
    kernel = jail.features()
    probed = time.monotonic()
    bench = None
    if mode == "cpu":
        # a CPU zygote imports paddle once for all its workers, after the preloads
        import paddle

        paddle.set_device("cpu")
        version, cuda = paddle.__version__, cuda if paddle.is_compiled_with_cuda() else ""
        bench = _bench()
    hello = {"hello": True, "mode": mode, "paddle": version, "cuda": bool(cuda),
             "cuda_version": cuda, "jail": kernel, "bench_cpu": bench,
             "cpu_share": jail.cpu_share(), "deferred": deferred,
             "startup": {"imports": imports, "jail": round(probed - start, 4),
                         "bench": round(time.monotonic() - probed, 4)}}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    _serve(spec, out, kernel)


if __name__ == "__main__":
    main()
