"""The sandboxed child ("zygote"): imports paddle once, then forks one worker
per question request read from stdin, and reports each worker's fate on
stdout. The zygote itself never executes student code.

Protocol (JSON lines):
    zygote -> parent   {"hello": true, "paddle": "3.3.1", "cuda": false}
    parent -> zygote   {"question": "q1_relu", "time_limit": 60, "device": "cpu",
                        "checks": [{"name": ..., "probe": "mod:func",
                                    "inputs": "/abs/in.npz", "output": "/abs/out.npz",
                                    "status": "/abs/status.json"}]}
    zygote -> parent   {"question": ..., "outcome": "exited"|"timeout"|"signal",
                        "code": int, "elapsed": float}

A worker: sets resource limits, redirects stdout/stderr to a capped log,
executes the notebook's kept statements one by one, then runs each check's
probe and writes its arrays (``np.savez``) and a status file. Everything it
writes is untrusted and validated by the parent.
"""

import json
import os
import resource
import signal
import sys
import time
import traceback

from autograder.sandbox.landlock import restrict_writes

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


def _load_student(statements, ns):
    """Execute each kept statement; return the failures as messages."""
    problems = []
    for st in statements:
        try:
            code = compile(st["source"], f"<notebook cell {st['cell'] + 1}>", "exec")
            exec(code, ns)  # noqa: S102 - this is the sandbox
        except BaseException as e:  # noqa: BLE001 - includes SystemExit, KeyboardInterrupt
            first = st["source"].strip().splitlines()[0][:80] if st["source"].strip() else ""
            problems.append(f"code cell {st['cell'] + 1}, `{first}`: {type(e).__name__}: {e}")
    return problems


def _probe_function(name):
    """The probe ``"module:function"``, from the allowed modules only."""
    import importlib

    module, _, func = name.partition(":")
    if module not in ALLOWED_PROBE_MODULES:
        raise ValueError(f"probe module {module} not allowed")
    return getattr(importlib.import_module(module), func)


def _worker(request, statements, workdir):
    """Body of a forked worker; never returns."""
    import numpy as np

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
        # read every input before any student code runs
        checks = []
        for c in request["checks"]:
            with np.load(c["inputs"], allow_pickle=False) as data:
                checks.append((c, {k: data[k] for k in data.files}))
        savez, dumps = np.savez, json.dumps

        # from here on: writes only to this question's folders, no TCP, no
        # signals to the zygote or the grader (where the kernel has Landlock)
        io_dir = os.path.dirname(request["checks"][0]["output"]) if request["checks"] else scratch
        sandbox_note = restrict_writes([io_dir, scratch])
        ns = {"__name__": "__notebook__", "__builtins__": __builtins__}
        load_problems = _load_student(statements, ns)
        for c, inputs in checks:
            status = {"ok": False, "load_problems": load_problems, "sandbox": sandbox_note}
            try:
                probe = _probe_function(c["probe"])
                out = probe(ns, inputs)
                arrays = {str(k): np.asarray(v) for k, v in dict(out).items()}
                savez(c["output"], **arrays)
                status["ok"] = True
            except BaseException as e:  # noqa: BLE001
                from nndl.checks.core import StudentError

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
            try:  # whatever the worker left running in its group goes too
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
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

    import autograder.probes  # noqa: F401
    import autograder.reference  # noqa: F401
    import nndl.checks.probes  # noqa: F401
    import nndl.op  # noqa: F401

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
