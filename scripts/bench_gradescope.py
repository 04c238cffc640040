#!/usr/bin/env python3
"""Measure one Gradescope grading under Gradescope-like limits.

What it does, per run:

1. builds the autograder zip (``autograder.commands.gradescope``) and lays out a
   Gradescope root in a fresh /tmp folder: ``source/`` (the unzipped zip),
   ``run_autograder``, ``submission/regularization.ipynb`` (default: the
   solution notebook ``solutions/regularization.ipynb``), ``results/``;
2. runs ``bash run_autograder`` (``AUTOGRADER_ROOT`` set to that folder) with
   ``taskset -c CPU`` (one core) inside a new memory cgroup limited to
   ``--memory-mb`` (default 768; swap limited to the same, cgroup v1 or v2),
   and, with ``--cpu-quota 0.5``, a CPU cgroup quota of half a CPU; the
   interpreter's files are first evicted from the page cache (``--warm`` skips
   it) so that the cgroup is charged for reading them, as in a new container;
3. reports: wall time, CPU time of the whole process tree (``wait4``), the
   cgroup's peak memory (v1 ``memory.max_usage_in_bytes``, v2 ``memory.peak``:
   includes the page cache the tree brought in), the peak anonymous memory of
   the cgroup (polled ``memory.stat`` rss/anon every 0.1 s), the peak of the sum
   of RSS and of PSS over the process tree (polled every 0.1 s from /proc),
   whether the limit was hit (failcnt / memory.events) and OOM kills, and the
   score of results.json.

Without a usable cgroup (not root, no memory controller) it still runs with
taskset and reports the process-tree RSS/PSS peaks, saying that no limit was
enforced. Run as root for the privilege drop to be part of the measurement;
then ``--python`` must be an interpreter the sandbox user can execute (by
default the tests' venv /tmp/nndl-gradescope-venv-*/bin/python if present;
``--setup-venv DIR`` makes one from /usr/bin/python3 with setup.sh).

    sudo python scripts/bench_gradescope.py [--repeat 2] [--cpu-quota 0.5] [--json out.json]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_tree import rss_pss, tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

V1 = Path("/sys/fs/cgroup")


# -- cgroups ------------------------------------------------------------------------
class Cgroup:
    """A memory (and optionally CPU) cgroup for the measured tree, v1 or v2."""

    def __init__(self, name, memory_mb, cpu_quota=None):
        self.name, self.dirs, self.version = name, [], None
        self.memory_bytes = memory_mb * 2**20
        if os.geteuid() != 0:
            self.error = "not root"
            return
        self.error = None
        try:
            if (V1 / "memory" / "memory.limit_in_bytes").exists():
                self.version = 1
                self.mem = self._mkdir(V1 / "memory" / name)
                (self.mem / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
                if (self.mem / "memory.memsw.limit_in_bytes").exists():
                    (self.mem / "memory.memsw.limit_in_bytes").write_text(str(self.memory_bytes))
                self.cpu = None
                if cpu_quota:
                    self.cpu = self._mkdir(V1 / "cpu" / name)
                    (self.cpu / "cpu.cfs_period_us").write_text("100000")
                    (self.cpu / "cpu.cfs_quota_us").write_text(str(int(cpu_quota * 100000)))
            elif "memory" in (V1 / "cgroup.controllers").read_text().split():
                self.version = 2
                parent = V1
                ctl = (parent / "cgroup.subtree_control")
                if "memory" not in ctl.read_text().split():
                    ctl.write_text("+memory" + (" +cpu" if cpu_quota else ""))
                self.mem = self.cpu = self._mkdir(parent / name)
                (self.mem / "memory.max").write_text(str(self.memory_bytes))
                if (self.mem / "memory.swap.max").exists():
                    (self.mem / "memory.swap.max").write_text("0")
                if cpu_quota:
                    (self.mem / "cpu.max").write_text(f"{int(cpu_quota * 100000)} 100000")
            else:
                self.error = "no memory cgroup controller"
        except OSError as e:
            self.error = f"cannot set up a cgroup: {e}"
            self.close()
            self.version = None

    def _mkdir(self, path):
        path.mkdir()
        self.dirs.append(path)
        return path

    @property
    def usable(self):
        return self.version is not None

    def join(self):
        """In the measured child before exec."""
        pid = str(os.getpid())
        for d in self.dirs:
            (d / "cgroup.procs").write_text(pid)

    def _read(self, name, default=None):
        try:
            return (self.mem / name).read_text()
        except OSError:
            return default

    def anon_bytes(self):
        stats = dict(line.split() for line in (self._read("memory.stat", "") or "").splitlines()
                     if len(line.split()) == 2)
        if self.version == 1:
            return int(stats.get("total_rss", stats.get("rss", 0)))
        return int(stats.get("anon", 0))

    def usage_bytes(self):
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        return int(self._read(name, "0") or 0)

    def peak_bytes(self):
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        value = self._read(name)
        return int(value) if value else None

    def limit_events(self):
        if self.version == 1:
            oom = dict(line.split() for line in (self._read("memory.oom_control", "") or "")
                       .splitlines() if len(line.split()) == 2)
            return {"limit_hits": int(self._read("memory.failcnt", "0") or 0),
                    "oom_kills": int(oom.get("oom_kill", 0))}
        events = dict(line.split() for line in (self._read("memory.events", "") or "")
                      .splitlines() if len(line.split()) == 2)
        return {"limit_hits": int(events.get("max", 0)), "oom_kills": int(events.get("oom_kill", 0))}

    def close(self):
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        self.dirs = []


# -- one run ------------------------------------------------------------------------
def layout(zip_path, notebook):
    root = Path(tempfile.mkdtemp(prefix="nndl-gs-bench-", dir="/tmp"))
    os.chmod(root, 0o755)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            path = z.extract(info, root / "source")
            if (info.external_attr >> 16) & 0o777:
                os.chmod(path, (info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(notebook, root / "submission" / "regularization.ipynb")
    return root


def measure(zip_path, args, index):
    root = layout(zip_path, args.notebook)
    evicted = 0 if args.warm else evict_page_cache(args.python)
    cg = Cgroup(f"nndl-bench-{os.getpid()}-{index}", args.memory_mb, args.cpu_quota)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNDL_")}
    env.update(AUTOGRADER_ROOT=str(root), NNDL_PYTHON=args.python)
    cmd = ["taskset", "-c", str(args.cpu), "bash", str(root / "run_autograder")]
    peaks = {"tree_rss": 0, "tree_pss": 0, "cgroup_anon": 0, "cgroup_usage": 0}
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd="/", stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=cg.join if cg.usable else None)
    output = []
    import threading

    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
    reader.start()
    status = rusage = None
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        rss, pss = rss_pss(tree(proc.pid))
        peaks["tree_rss"] = max(peaks["tree_rss"], rss)
        peaks["tree_pss"] = max(peaks["tree_pss"], pss)
        if cg.usable:
            peaks["cgroup_anon"] = max(peaks["cgroup_anon"], cg.anon_bytes())
            peaks["cgroup_usage"] = max(peaks["cgroup_usage"], cg.usage_bytes())
        time.sleep(0.1)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(10)
    result = {"wall_s": round(wall, 2), "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 2),
              "exit": proc.returncode,
              "tree_peak_rss_mb": round(peaks["tree_rss"] / 2**20),
              "tree_peak_pss_mb": round(peaks["tree_pss"] / 2**20),
              "limits": {"cpu": f"taskset -c {args.cpu}",
                         "cpu_quota": args.cpu_quota, "memory_mb": args.memory_mb,
                         "page_cache": "warm" if args.warm else f"cold ({evicted} files evicted)",
                         "cgroup": f"v{cg.version}" if cg.usable else f"none ({cg.error})"}}
    if cg.usable:
        peak = cg.peak_bytes()
        result.update({"cgroup_peak_mb": round((peak or peaks["cgroup_usage"]) / 2**20),
                       "cgroup_peak_anon_mb": round(peaks["cgroup_anon"] / 2**20),
                       **cg.limit_events()})
    cg.close()
    try:
        data = json.loads((root / "results" / "results.json").read_text())
        staff = json.loads((root / "results" / "results.staff.json").read_text())
        result.update({"score": data["score"], "grading_time_s": data.get("execution_time"),
                       "isolation": staff.get("isolation"), "summary": data["output"]})
    except (OSError, ValueError) as e:
        result["score"] = f"no results ({e})"
    result["log_tail"] = (output[0] if output else b"").decode(errors="replace")[-1500:]
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        result["root"] = str(root)
    return result


def evict_page_cache(python):
    """Drop the page cache of the interpreter's files (posix_fadvise DONTNEED on
    each file; pages mapped by running processes stay), so that the run reads
    them from disk and its cgroup is charged for them, as in a fresh container.
    Nothing else on the machine is evicted."""
    out = subprocess.run([python, "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    count = 0
    for prefix in dict.fromkeys(out):
        for dirpath, _, files in os.walk(Path(prefix) / "lib"):
            for name in files:
                try:
                    fd = os.open(os.path.join(dirpath, name), os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    count += 1
                except OSError:
                    pass
                finally:
                    os.close(fd)
    return count


def default_python():
    if os.environ.get("NNDL_PYTHON"):
        return os.environ["NNDL_PYTHON"]
    if os.geteuid() == 0:
        venvs = sorted(Path("/tmp").glob("nndl-gradescope-venv-*/bin/python"),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        if venvs:
            return str(venvs[0])
    return sys.executable


def setup_venv(path, zip_path):
    path = Path(path)
    if not (path / "bin" / "python").exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(path)], check=True)
    src = Path(tempfile.mkdtemp(prefix="nndl-gs-setup-"))
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(src)
    env = dict(os.environ, NNDL_PYTHON=str(path / "bin" / "python"))
    subprocess.run(["bash", str(src / "setup.sh"), "install"], env=env, check=True, cwd=src)
    subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)
    shutil.rmtree(src, ignore_errors=True)
    return str(path / "bin" / "python")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", help="interpreter of run_autograder (NNDL_PYTHON)")
    p.add_argument("--setup-venv", metavar="DIR",
                   help="make DIR a venv from /usr/bin/python3 with setup.sh install, use it")
    p.add_argument("--notebook", default=str(REPO / "solutions" / "regularization.ipynb"))
    p.add_argument("--memory-mb", type=int, default=768)
    p.add_argument("--cpu", default="0", help="taskset CPU list (default: one core, 0)")
    p.add_argument("--cpu-quota", type=float, default=None,
                   help="CPU cgroup quota in CPUs, e.g. 0.5 (default: none, one whole core)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--warm", action="store_true",
                   help="do not evict the interpreter's files from the page cache first")
    p.add_argument("--json", help="also write the measurements here")
    p.add_argument("--keep", action="store_true", help="keep the layout folders")
    args = p.parse_args(argv)
    if not shutil.which("taskset"):
        p.error("taskset is needed (util-linux)")

    from autograder.commands.gradescope import build

    workdir = Path(tempfile.mkdtemp(prefix="nndl-gs-bench-zip-"))
    zip_path = workdir / "autograder.zip"
    build(zip_path)
    if args.setup_venv:
        args.python = setup_venv(args.setup_venv, zip_path)
    args.python = args.python or default_python()
    try:   # keep this monitoring process off the measured core(s)
        measured = set()
        for part in str(args.cpu).split(","):
            lo, _, hi = part.partition("-")
            measured |= set(range(int(lo), int(hi or lo) + 1))
        others = os.sched_getaffinity(0) - measured
        if others:
            os.sched_setaffinity(0, others)
    except (OSError, ValueError, AttributeError):
        pass
    runs = []
    for i in range(args.repeat):
        r = measure(zip_path, args, i)
        runs.append(r)
        shown = {k: v for k, v in r.items() if k not in ("log_tail", "summary")}
        print(json.dumps(shown, indent=1))
        if r.get("score") is None or isinstance(r.get("score"), str):
            print(r["log_tail"])
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\npython: {args.python}")
    for i, r in enumerate(runs):
        print(f"run {i + 1}: score {r.get('score')}, wall {r['wall_s']} s, cpu {r['cpu_s']} s, "
              f"cgroup peak {r.get('cgroup_peak_mb', '-')} MB "
              f"(anon {r.get('cgroup_peak_anon_mb', '-')} MB), tree peak RSS "
              f"{r['tree_peak_rss_mb']} MB / PSS {r['tree_peak_pss_mb']} MB, "
              f"limit hits {r.get('limit_hits', '-')}, OOM kills {r.get('oom_kills', '-')}; "
              f"limits {r['limits']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"python": args.python, "runs": runs}, indent=1))
    return 0 if all(isinstance(r.get("score"), (int, float)) for r in runs) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
