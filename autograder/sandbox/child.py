"""The sandboxed child ("zygote"): imports paddle once, then forks one worker
per question request read from stdin, and reports each worker's fate on
stdout. The zygote itself never executes student code.

Protocol (JSON lines):
    zygote -> parent   {"hello": true, "paddle": "3.3.1", "cuda": false}
    parent -> zygote   {"question": "q1_relu", "time_limit": 60, "device": "cpu",
                        "io_dir": "/abs/io/q1_relu", "skip": [3],
                        "checks": [{"name": ..., "probe": "mod:func",
                                    "inputs": "/abs/in.npz", "output": "/abs/out.npz",
                                    "status": "/abs/status.json"}]}
                       (a "load" request has no checks and a "progress" file: the
                       worker writes there the index of each statement before running
                       it, so the parent can find one that kills or hangs it)
    zygote -> parent   {"question": ..., "outcome": "exited"|"timeout"|"signal",
                        "code": int, "elapsed": float}

A worker: sets resource limits, redirects stdout/stderr to a capped log,
confines itself (Landlock: writes only to its question's folders and reads only
system and Python folders, not the grader's; seccomp: no sockets; the grader's
modules hidden from the notebook), executes the notebook's kept statements one
by one, then runs each check's probe and writes its arrays (``np.savez``) and a
status file. Everything it writes is untrusted and validated by the parent.
The zygote is a child subreaper and kills whatever a worker left running.
"""

import json
import os
import resource
import signal
import sys
import time
import traceback

from autograder.sandbox import seccomp
from autograder.sandbox.landlock import restrict
from autograder.sandbox.processes import PR_SET_CHILD_SUBREAPER, kill_descendants

ALLOWED_PROBE_MODULES = ("nndl.checks.probes", "autograder.probes")
PRINT_LIMIT = 64 * 1024          # bytes of Python-level output kept per worker
FILE_LIMIT = 16 * 1024 * 1024    # RLIMIT_FSIZE: no file written by a worker may exceed this


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


def _set_pdeathsig():
    """Ask the kernel to SIGKILL this worker if the zygote dies (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def _limit(kind, value):
    try:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, hard))
    except (ValueError, OSError):
        pass


def _load_student(statements, ns, skip=(), progress_fd=None):
    """Execute each kept statement (but those in ``skip``); return the failures
    as messages. With ``progress_fd``, write each statement's index there first."""
    problems = []
    for index, st in enumerate(statements):
        if index in skip:
            continue
        if progress_fd is not None:
            os.pwrite(progress_fd, f"{index:>8}".encode(), 0)
        try:
            code = compile(st["source"], f"<notebook cell {st['cell'] + 1}>", "exec")
            exec(code, ns)  # noqa: S102 - this is the sandbox
        except BaseException as e:  # noqa: BLE001 - includes SystemExit, KeyboardInterrupt
            first = st["source"].strip().splitlines()[0][:80] if st["source"].strip() else ""
            problems.append(f"code cell {st['cell'] + 1}, `{first}`: {type(e).__name__}: {e}")
    if progress_fd is not None:
        os.pwrite(progress_fd, b"    done", 0)
    return problems


GRADER_MODULES = ("autograder", "nndl.checks")


class _GraderBlocker:
    """A meta-path finder refusing the grader's own modules to notebook code."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in GRADER_MODULES):
            raise ImportError(f"notebook code may not import the grader ({name})")
        return None


def _hide_grader():
    """Take the grader's modules out of reach of the notebook's code: out of
    ``sys.modules`` and unimportable (the probes already hold what they use)."""
    sys.meta_path.insert(0, _GraderBlocker)
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in GRADER_MODULES):
            del sys.modules[name]
    nndl = sys.modules.get("nndl")
    if nndl is not None and hasattr(nndl, "checks"):
        delattr(nndl, "checks")


def _read_roots(grader_root, workdir):
    """Folders the worker may read: the system's and Python's, never the grader's
    nor this grading's folder (the worker's own folders are added as writable),
    nor an ancestor of either, which would include it."""
    candidates = {"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev",
                  "/opt", sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates |= {p for p in sys.path if p}
    private = [os.path.realpath(grader_root), os.path.realpath(workdir)]
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


def _confine(writable, grader_root, workdir):
    """Landlock, seccomp, and the grader's modules hidden; returns a note."""
    notes = [restrict(writable, _read_roots(grader_root, workdir)), seccomp.install()]
    _hide_grader()
    return "; ".join(notes)


def _probe_function(name):
    """The probe ``"module:function"``, from the allowed modules only."""
    from nndl.checks.core import resolve

    if name.partition(":")[0] not in ALLOWED_PROBE_MODULES:
        raise ValueError(f"probe {name} is not in an allowed module")
    return resolve(name)


def _worker(request, statements, workdir):
    """Body of a forked worker; never returns."""
    import numpy as np

    from nndl.checks import GRADED_CLASS
    from nndl.checks.core import StudentError

    code = 0
    try:
        os.setpgid(0, 0)
        _set_pdeathsig()
        limits = request.get("limits", {})
        _limit(resource.RLIMIT_CPU, int(request["time_limit"]) + 2)
        if limits.get("memory_bytes"):
            _limit(resource.RLIMIT_AS, int(limits["memory_bytes"]))
        _limit(resource.RLIMIT_FSIZE, FILE_LIMIT)
        _limit(resource.RLIMIT_CORE, 0)
        log_path = os.path.join(workdir, f"{request['question']}.log")
        log = open(log_path, "w", encoding="utf-8", errors="replace")
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = _CappedStream(log, PRINT_LIMIT)
        sys.stderr = sys.stdout
        scratch = os.path.join(workdir, "scratch", request["question"])
        os.makedirs(os.path.join(scratch, "tmp"), exist_ok=True)
        os.chdir(scratch)
        os.environ["TMPDIR"] = os.path.join(scratch, "tmp")
        os.environ["MPLCONFIGDIR"] = os.path.join(scratch, "tmp")

        import paddle

        paddle.set_device(request.get("device", "cpu"))
        # read every input and resolve every probe before any student code runs
        checks = []
        for c in request["checks"]:
            with np.load(c["inputs"], allow_pickle=False) as data:
                checks.append((c, {k: data[k] for k in data.files}, _probe_function(c["probe"])))
        savez, dumps = np.savez, json.dumps
        if request["question"] in GRADED_CLASS:
            # the reference of every graded class but this question's own
            import autograder.probes

            autograder.probes.load_reference(request["question"])
        progress_fd = None
        if request.get("progress"):
            progress_fd = os.open(request["progress"], os.O_WRONLY | os.O_CREAT, 0o644)

        # from here on: writes only to this question's folders, reads only system and
        # Python folders, no sockets, no signals to the zygote or the grader, and the
        # grader's modules out of reach (each where the kernel allows it)
        io_dir = request.get("io_dir") or scratch
        sandbox_note = _confine([io_dir, scratch], request.get("grader_root", workdir), workdir)
        ns = {"__name__": "__notebook__", "__builtins__": __builtins__}
        load_problems = _load_student(statements, ns, set(request.get("skip", ())), progress_fd)
        for c, inputs, probe in checks:
            status = {"ok": False, "load_problems": load_problems, "sandbox": sandbox_note}
            try:
                out = probe(ns, inputs)
                arrays = {str(k): np.asarray(v) for k, v in dict(out).items()}
                savez(c["output"], **arrays)
                status["ok"] = True
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, StudentError):
                    status["error"] = str(e)
                else:
                    status["error"] = f"{type(e).__name__}: {e}"
                    status["traceback"] = traceback.format_exc(limit=6)[-4000:]
            with open(c["status"], "w", encoding="utf-8") as f:
                f.write(dumps(status))
            sys.stdout.flush()
    except BaseException:  # noqa: BLE001
        code = 3
        try:
            sys.__stderr__.write(traceback.format_exc())
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def _wait(pid, time_limit):
    """Wait for ``pid`` up to ``time_limit`` seconds; kill its group after that."""
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            kill_descendants()    # whatever the worker left running (we are a subreaper)
            elapsed = time.monotonic() - start
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                outcome = "timeout" if sig == signal.SIGXCPU else "signal"
                return {"outcome": outcome, "code": sig, "elapsed": elapsed}
            return {"outcome": "exited", "code": os.WEXITSTATUS(status), "elapsed": elapsed}
        if time.monotonic() - start > time_limit:
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
            os.waitpid(pid, 0)
            kill_descendants()
            return {"outcome": "timeout", "code": -9, "elapsed": time.monotonic() - start}
        time.sleep(0.005)


def main():
    workdir = sys.argv[1]
    out = sys.stdout
    sys.stdout = sys.stderr    # stray prints from imports must not reach the protocol
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - pre-imported for the workers
    import numpy  # noqa: F401
    import paddle
    import sklearn.datasets  # noqa: F401

    import autograder.probes  # noqa: F401 - no reference class yet: a worker loads its own
    import nndl.checks.probes  # noqa: F401
    import nndl.data  # noqa: F401 - every module a notebook may import, read before
    import nndl.metrics  # noqa: F401 - the worker's Landlock rules hide the grader's folder
    import nndl.op  # noqa: F401
    import nndl.plot  # noqa: F401
    import nndl.training  # noqa: F401

    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort
        pass

    with open(os.path.join(workdir, "statements.json"), encoding="utf-8") as f:
        statements = json.load(f)
    hello = {"hello": True, "paddle": paddle.__version__,
             "cuda": bool(paddle.is_compiled_with_cuda())}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _worker(request, statements, workdir)
        report = _wait(pid, float(request["time_limit"]))
        report["question"] = request["question"]
        out.write(json.dumps(report) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
