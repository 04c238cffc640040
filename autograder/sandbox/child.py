"""The sandboxed child ("zygote"): imports paddle once, then forks one worker
per request read from stdin, and reports each worker's fate on stdout. The
zygote itself never executes student code, so it can serve any number of
requests (of any number of submissions) and every worker starts clean.

Started as ``python -m autograder.sandbox.child FOLDER SPEC_JSON`` where the spec
(``autograder.lab.Lab.sandbox_spec``) says what to pre-import, which modules
notebook code may not import, which modules probes and reference classes may
come from, and where the reference parts go (``"module:PARTS"``).

Protocol (JSON lines):
    zygote -> parent   {"hello": true, "paddle": "3.3.1", "cuda": false, "jail": {...},
                        "bench_cpu": s, "cpu_share": 1.0}
    parent -> zygote   {"question": ..., "cpu_limit": s, "wall_limit": s,
                        "statement_limit": s, "device": "cpu",
                        "memory_bytes": n, "statements": [{"index", "cell", "source"}],
                        "references": {"slot": "module:Class", ...}, "workdir",
                        "log", "scratch", "io_dir", "progress", "slice_status",
                        "checks": [{"name", "probe": "mod:func", "inputs", "output",
                                    "status"}]}
    zygote -> parent   {"question": ..., "outcome": "exited"|"timeout"|"signal"|
                        "statement_timeout"|"disk_limit", "code": int, "elapsed": float,
                        "cpu": float, "mark": "s 12" | "p" | "d" | ""}

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
import re
import resource
import signal
import sys
import time
import traceback
import types
from contextlib import suppress

from autograder.sandbox import jail, seccomp
from autograder.sandbox.landlock import restrict
from autograder.sandbox.policy import policy_for, system_read_roots
from autograder.sandbox.processes import become_subreaper, die_with_parent, kill_descendants

PRINT_LIMIT = 64 * 1024          # bytes of Python-level output kept per worker
MARK_BYTES = 16                  # size of the progress mark
STATEMENT_GRACE = 1.0            # the zygote kills a statement this long after its limit
POLL = 0.005                     # seconds between the zygote's checks of a worker
DISK_POLL = 0.2                  # seconds between checks of a scratch folder on disk
OPEN_FILES = 256                 # RLIMIT_NOFILE of a worker


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


def _read_roots(grader_root, workdir):
    """Folders the worker may read (:func:`.policy.system_read_roots`): never the
    grader's nor this grading's folder (its own folders are added as writable)."""
    return system_read_roots(grader_root, workdir)


def _policy(request):
    """The worker's :class:`~autograder.sandbox.policy.WorkerPolicy` for the
    request's device ("cpu", "gpu" or "gpu:N")."""
    device, _, index = str(request.get("device", "cpu")).partition(":")
    return policy_for(device, gpu_index=request.get("gpu_index", int(index) if index else None),
                      memory_bytes=request.get("memory_bytes"), scratch=request["scratch"])


def _confine(request, spec, task_group, kernel, policy=None):
    """The jail (processes, disk, capabilities), then Landlock, seccomp and the
    grader's modules hidden, as the worker's ``policy`` says; returns a note of
    what was applied."""
    scratch = request["scratch"]
    policy = policy or _policy(request)
    notes, refuse_processes = jail.enter(scratch, task_group, kernel, policy.task_limit,
                                         policy.thread_names)
    if not policy.address_space_limit:
        notes.append(jail.limit_memory(policy.memory_bytes, task_group))
    os.chdir(scratch)                        # the tmpfs, when one was mounted there
    os.makedirs("tmp", exist_ok=True)
    notes.append(restrict([scratch], _read_roots(spec["grader_root"], request["workdir"])
                          + list(policy.read_roots), policy.write_devices,
                          ioctl_devices=policy.ioctl_devices, thread_names=policy.thread_names))
    notes.append(seccomp.install(no_processes=refuse_processes))
    _hide_grader(spec["hidden_modules"])
    return "; ".join(notes)


def _resolve(name, modules):
    """The object ``"module:attr"``, from one of the allowed ``modules`` only."""
    module, _, attr = name.partition(":")
    if module not in modules:
        raise ValueError(f"{name} is not in an allowed module")
    return getattr(importlib.import_module(module), attr)


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
        _mark(progress_fd, f"s {int(st['index'])}")
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


def _worker(request, spec, progress_fd, task_group, kernel):
    """Body of a forked worker; never returns."""
    import numpy as np

    code, started = 0, time.monotonic()
    try:
        os.setpgid(0, 0)
        die_with_parent()                 # the worker dies with the zygote
        # SIGXCPU at the soft limit reports "timeout"; SIGKILL a second later if caught
        _limit(resource.RLIMIT_CPU, int(request["cpu_limit"]) + 1, slack=1)
        if request.get("memory_bytes"):
            _limit(resource.RLIMIT_AS, int(request["memory_bytes"]))
        _limit(resource.RLIMIT_CORE, 0)
        _limit(resource.RLIMIT_NOFILE, OPEN_FILES)
        _redirect_output(request["log"])
        os.environ["TMPDIR"] = os.environ["MPLCONFIGDIR"] = os.path.join(request["scratch"], "tmp")

        import paddle

        paddle.set_device(request.get("device", "cpu"))
        # read every input, resolve every probe and load the reference classes
        # this question may use before any student code runs
        # and open every file it writes: afterwards it may create files in its
        # scratch folder only
        checks = []
        for c in request["checks"]:
            with np.load(c["inputs"], allow_pickle=False) as data:
                checks.append((c, {k: data[k] for k in data.files},
                               _resolve(c["probe"], spec["probe_modules"]),
                               (open(c["output"], "wb"), open(c["status"], "wb"))))
        slice_status = open(request["slice_status"], "wb")
        from nndl.checks.core import StudentError

        registry = _resolve(spec["parts"], [spec["parts"].partition(":")[0]])
        registry.clear()
        registry.update({slot: _resolve(name, spec["reference_modules"])
                         for slot, name in request.get("references", {}).items()})

        # from here on: a few tasks at most, new files only in the (small) scratch
        # folder, reads only system and Python folders, no sockets, no signals to the
        # zygote or the grader, and the grader's modules out of reach (each where the
        # kernel allows it)
        note = _confine(request, spec, task_group, kernel)
        ns = _notebook_namespace({"__builtins__": __builtins__, "get_ipython": _get_ipython})
        ready = time.monotonic()
        writers = (np.asarray, np.savez, json.dumps)
        errors = _run_statements(request["statements"], ns, float(request["statement_limit"]),
                                 progress_fd)
        _write(slice_status, json.dumps({"errors": errors, "sandbox": note,
                                         "setup": round(ready - started, 4),
                                         "statements": round(time.monotonic() - ready, 4)}))
        _mark(progress_fd, "p")
        _run_probes(checks, ns, note, StudentError, writers)
        _mark(progress_fd, "d")
    except BaseException:  # noqa: BLE001
        code = 3
        with suppress(Exception):
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
    if mark in ("p", "d"):
        return ((1,) if mark == "p" else (2,)), mark
    if re.fullmatch(r"s [0-9]{1,9}", mark) and int(mark[2:]) in positions:
        return (0, positions[int(mark[2:])]), f"s {int(mark[2:])}"
    return None


def _kill(pid):
    for target in (-pid, pid):
        with suppress(OSError):
            os.kill(target, signal.SIGKILL)


def _over_disk(scratch):
    size, files = jail.scratch_usage(scratch)
    return size > jail.SCRATCH_BYTES or files > jail.SCRATCH_FILES


def _wait(pid, request, progress_fd, watch_disk):
    """Wait for the worker ``pid``: kill it (and its group) past the request's
    wall-clock limit, when one statement runs past its own limit, or (with
    ``watch_disk``) when its scratch folder outgrows the jail's sizes."""
    start = time.monotonic()
    wall = float(request["wall_limit"])
    statement_limit = float(request["statement_limit"]) + STATEMENT_GRACE
    positions = {int(st["index"]): k for k, st in enumerate(request["statements"])}
    key, mark, since, disk_checked = (-1,), "", start, start
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        now = time.monotonic()
        progress = _progress(_read_mark(progress_fd), positions)
        if progress is not None and progress[0] > key:
            (key, mark), since = progress, now
        outcome = None
        if done:
            break
        if now - start > wall:
            outcome = "timeout"
        elif key[0] == 0 and now - since > statement_limit:
            outcome = "statement_timeout"
        elif watch_disk and now - disk_checked > DISK_POLL:
            disk_checked = now
            outcome = "disk_limit" if _over_disk(request["scratch"]) else None
        if outcome:
            _kill(pid)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(POLL)
    report = {"outcome": outcome, "code": -9, "elapsed": time.monotonic() - start, "mark": mark,
              "cpu": usage.ru_utime + usage.ru_stime}
    kill_descendants()    # whatever the worker left running (we are a subreaper)
    if outcome is None:   # the worker ended by itself
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            out_of_cpu = sig == signal.SIGXCPU or (   # or the hard limit's SIGKILL
                sig == signal.SIGKILL and report["cpu"] > float(request["cpu_limit"]))
            report.update(outcome="timeout" if out_of_cpu else "signal", code=sig)
        else:
            report.update(outcome="exited", code=os.WEXITSTATUS(status))
    return report


def _bench(rounds=4, steps=60):
    """CPU seconds of a fixed small paddle workload: the fastest of ``rounds``
    after one warm-up round (the first ops of a process are slower); what
    ``autograder.limits`` compares with the calibration machine's."""
    import paddle

    paddle.seed(0)
    x, w1 = paddle.rand([200, 2]), paddle.rand([2, 20])
    times = []
    for _ in range(rounds + 1):
        w2 = paddle.rand([20, 1])
        start = time.process_time()
        for _ in range(steps):
            h = paddle.maximum(paddle.matmul(x, w1) - 0.5, paddle.zeros([1]))
            o = paddle.matmul(h, w2)
            w2 = w2 - 0.01 * paddle.matmul(h.t(), o - 1.0) / 200
        float(w2.sum())
        times.append(time.process_time() - start)
    return min(times[1:])


def _serve(spec, out, kernel):
    for number, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        request = json.loads(line)
        progress_fd = os.open(request["progress"], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        task_group = jail.TaskGroup(kernel["pids"], f"nndl-{os.getpid()}-{number}")
        try:
            pid = os.fork()
            if pid == 0:
                _worker(request, spec, progress_fd, task_group, kernel)
            report = _wait(pid, request, progress_fd, watch_disk=not kernel["namespaces"])
        finally:
            os.close(progress_fd)
            task_group.remove()
        report["question"] = request["question"]
        out.write(json.dumps(report) + "\n")
        out.flush()


def main():
    spec = json.loads(sys.argv[2])      # argv[1]: the sandbox's folder (its cwd), for ps
    out = sys.stdout
    sys.stdout = sys.stderr    # stray prints from imports must not reach the protocol
    imports = {}            # (matplotlib, if a notebook needs it, finds MPLBACKEND=Agg)
    for module in spec["preload"] + spec["probe_modules"]:   # never a reference module
        start = time.monotonic()
        importlib.import_module(module)
        imports[module] = round(time.monotonic() - start, 4)
    if spec.get("language"):            # the probes' messages in the course's language
        setter, language = spec["language"]
        _resolve(setter, [setter.partition(":")[0]])(language)
    import paddle

    become_subreaper()
    start = time.monotonic()
    kernel = jail.features()
    probed = time.monotonic()
    bench = _bench()
    hello = {"hello": True, "paddle": paddle.__version__,
             "cuda": bool(paddle.is_compiled_with_cuda()), "jail": kernel,
             "bench_cpu": bench, "cpu_share": jail.cpu_share(),
             "startup": {"imports": imports, "jail": round(probed - start, 4),
                         "bench": round(time.monotonic() - probed, 4)}}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    _serve(spec, out, kernel)


if __name__ == "__main__":
    main()
