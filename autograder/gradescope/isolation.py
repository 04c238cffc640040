"""Run the sandbox child as an unprivileged user, without network, when the
grader runs as root (as on Gradescope).

The engine starts the sandbox through a ``sandbox_factory``;
:meth:`Isolation.factory` returns an :class:`IsolatedSandbox`, a
:class:`~autograder.sandbox.runner.Sandbox` whose child process

* runs as an unprivileged user (``nndl-sandbox`` made by setup.sh, else
  ``nobody``; ``NNDL_SANDBOX_USER`` overrides) with no supplementary groups,
  ``PR_SET_NO_NEW_PRIVS`` set (no setuid binary can give root back);
* imports only a world-readable copy of the child-side files (``nndl/**`` and
  the ``autograder`` modules that the child, the probes and the reference ops
  import, found by parsing their imports): the hidden checks' judges and
  ``grading.toml`` stay in the grader's source folder, which is made ``0700
  root``;
* has no network: a new, empty network namespace (``unshare(CLONE_NEWNET)``;
  not even loopback is up) when the kernel lets root create one, and a seccomp
  filter that makes ``socket()`` fail with EACCES (``socketpair`` still works),
  and also denies ``ptrace``, ``process_vm_readv/writev``, ``io_uring_setup``,
  ``bpf``, ``perf_event_open``, System V IPC, POSIX message queues and the
  kernel keyrings (objects that would outlive the sandbox), when seccomp is
  available. Whatever of these
  the kernel refuses is recorded in the staff log;
* is the OOM killer's first choice (``oom_score_adj`` 1000) and may have at
  most ``NPROC_LIMIT`` processes/threads (no fork bomb).

The grader's work folder stays ``0711 root``; the child may write only its
question's log file, scratch folder and output folder, which the grader
creates for it before each question. Before each question and at the end,
every process of the sandbox user that descends from the grader (the grader is
a child subreaper, so escaped daemons stay its descendants) except the live
zygote is killed. Outputs that are not regular files (symlinks, FIFOs) are
refused before the runner reads them.
"""

import ast
import ctypes
import os
import pwd
import re
import resource
import shutil
import socket
import stat
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

from ..errors import GraderFault
from ..lab import load_lab
from ..sandbox.processes import become_subreaper, in_throwaway_fork, kill_descendants
from ..sandbox.runner import ProbeResult, Sandbox
from ..sandbox.seccomp import PR_SET_NO_NEW_PRIVS, install_program, seccomp_program

DEFAULT_USERS = ("nndl-sandbox", "nobody")
NPROC_LIMIT = 512            # processes + threads of the sandbox user (fork bombs)

# Parent-only parts of the engine: never copied for the child (the lab's own
# parent-only files, its questions' grading.py, come from the lab).
PARENT_ONLY = ("autograder/config.py", "autograder/grading.toml", "autograder/gradescope/",
               "autograder/batch/", "autograder/commands/", "autograder/cli.py",
               "autograder/grading.py", "autograder/engine.py", "autograder/lab.py",
               "autograder/notebook/")

CLONE_NEWNET = 0x40000000

_QUESTION = re.compile(r"^[A-Za-z0-9_.-]+$")
LIVE_BASES = set()       # private folders not yet removed (for a watchdog's last cleanup)


class IsolationError(GraderFault):
    """The sandbox user cannot be set up (a grader problem)."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _unshare_net(libc):
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) refused")


def probe_kernel(prog):
    """What this kernel lets the grader use: ``{"netns": bool, "seccomp": bool}``.
    Tried in a throwaway forked process."""
    def probe():
        code, libc = 0, _libc()
        with suppress(OSError):
            _unshare_net(libc)
            code |= 1
        with suppress(OSError):
            if prog is not None and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
                install_program(libc, prog)
                try:
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                except PermissionError:
                    code |= 2
        return code

    code = in_throwaway_fork(probe)
    return {"netns": bool(code & 1), "seccomp": bool(code & 2)}


# -- the child's files ----------------------------------------------------------
def _module_file(root, module):
    base = Path(root, *module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported_modules(path, module, local):
    """Modules of the ``local`` packages named by the imports of ``path``
    (module ``module``), anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.append(base)
            names += [f"{base}.{a.name}" for a in node.names]   # maybe submodules
    return [n for n in names if n.split(".")[0] in local]


def child_side_files(source_root, lab):
    """Relative paths (sorted) of the files the sandbox child may import: the
    course library, the lab's reference package, and the modules the child,
    the probes and the reference classes import, transitively (found by
    parsing their imports, so that a new child-side module is copied too).
    The instructor sides of the questions must never be among them."""
    root = Path(source_root)
    local = lab.local_packages()
    files, seen = set(), set()
    todo = ["autograder.sandbox.child"] + lab.child_modules()
    trees = [lab.settings.library.replace(".", "/"), lab.settings.reference.replace(".", "/")]
    for tree in trees:
        todo += [".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                 for p in sorted((root / tree).rglob("*.py")) if "__pycache__" not in p.parts]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(root, module)
        if path is None:
            continue
        files.add(path.relative_to(root).as_posix())
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]   # parent packages
        todo += _imported_modules(path, module, local)
    for tree in trees:       # compiled message catalogs (the probes' messages to students)
        files |= {p.relative_to(root).as_posix() for p in (root / tree).rglob("*.mo")}
    private = set(PARENT_ONLY) | set(lab.parent_only_files())
    leaked = sorted(f for f in files if f.startswith(tuple(private)))
    if leaked:
        raise IsolationError(f"the sandbox child would import grader-only files: {leaked}")
    return sorted(files)


# -- the isolation ------------------------------------------------------------
def resolve_user(name=None):
    """(uid, gid, name) of the sandbox user."""
    candidates = [name] if name else list(DEFAULT_USERS)
    for cand in candidates:
        try:
            entry = pwd.getpwuid(int(cand)) if cand.isdigit() else pwd.getpwnam(cand)
            if entry.pw_uid == 0:
                raise IsolationError(f"sandbox user {cand} is root")
            return entry.pw_uid, entry.pw_gid, entry.pw_name
        except KeyError:
            if cand.isdigit():
                return int(cand), int(cand), cand
    raise IsolationError(f"no sandbox user among {candidates}")


class Isolation:
    """Per-grading setup: the user, the world-readable child library, a private
    base folder, the kernel's network blocking. Use as a context manager."""

    def __init__(self, source_root, cfg, *, python=None, user=None):
        self.source_root = Path(source_root)
        self.lab = load_lab(cfg)
        self.python = python or os.environ.get("NNDL_SANDBOX_PYTHON") or \
            __import__("sys").executable
        self.active = os.geteuid() == 0
        self.zygotes = set()
        self.base = None
        self.kernel = {"netns": False, "seccomp": False}
        self.prog = None
        if not self.active:
            self.uid = self.gid = self.user = None
            return
        self.uid, self.gid, self.user = resolve_user(user or os.environ.get("NNDL_SANDBOX_USER"))
        self.prog = seccomp_program()
        self.kernel = probe_kernel(self.prog)
        become_subreaper()
        self.base = Path(tempfile.mkdtemp(prefix="nndl-gradescope-"))
        LIVE_BASES.add(self.base)
        try:
            os.chmod(self.base, 0o711)
            self.lib = self.base / "lib"
            self._copy_child_files()
            home = self.base / "home"
            home.mkdir(mode=0o700)
            os.chown(home, self.uid, self.gid)
            os.environ["SANDBOX_HOME"] = str(home)   # read by runner.child_env()
            self.workdir = self.base / "work"
            self._check_interpreter()
        except BaseException:
            self.close()
            raise

    # -- setup ----------------------------------------------------------------
    def _copy_child_files(self):
        self.lib.mkdir(mode=0o755)
        for rel in child_side_files(self.source_root, self.lab):
            dest = self.lib / rel
            for parent in reversed(dest.relative_to(self.lib).parents[:-1]):
                d = self.lib / parent
                if not d.exists():
                    d.mkdir(mode=0o755)
                    os.chmod(d, 0o755)
            shutil.copyfile(self.source_root / rel, dest)
            os.chmod(dest, 0o644)

    def _check_interpreter(self):
        try:
            proc = subprocess.run([self.python, "-c", "import sys"], preexec_fn=self._drop,
                                  capture_output=True, timeout=60, cwd="/")
        except (OSError, subprocess.SubprocessError) as e:
            raise IsolationError(f"the sandbox interpreter {self.python} cannot be started "
                                 f"as {self.user}: {e}") from e
        if proc.returncode != 0:
            raise IsolationError(
                f"the sandbox interpreter {self.python} does not run as {self.user} "
                f"(exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]} "
                "(it and its packages must be readable by that user)")

    def describe(self):
        if not self.active:
            return {"active": False, "reason": "the grader does not run as root"}
        blocked = []
        if self.kernel["netns"]:
            blocked.append("new empty network namespace (no interface up)")
        if self.kernel["seccomp"]:
            blocked.append("seccomp: socket() fails with EACCES; ptrace, process_vm_*, "
                           "io_uring_setup, bpf, perf_event_open, System V IPC, mq_open, "
                           "keyrings denied")
        return {"active": True, "user": self.user, "uid": self.uid, "python": self.python,
                "network": blocked or ["NOT blocked: the kernel refused both a network "
                                       "namespace and seccomp"],
                "nproc_limit": NPROC_LIMIT}

    # -- in the forked child, before exec -------------------------------------
    def _drop(self):
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def preexec(self):
        """Runs in the sandbox child between fork and exec (as root)."""
        libc = _libc()
        with suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
        resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_LIMIT, NPROC_LIMIT))
        if self.kernel["netns"]:
            _unshare_net(libc)
        self._drop()
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS refused")
        if self.kernel["seccomp"]:
            install_program(libc, self.prog)
        os.umask(0o077)

    # -- per sandbox / per question ---------------------------------------------
    def factory(self, workdir, spec, **kwargs):
        """A ``sandbox_factory`` for :func:`autograder.engine.grade_notebook`."""
        if not self.active:
            return Sandbox(workdir, spec, python=self.python, **kwargs)
        return IsolatedSandbox(workdir, spec, isolation=self, **kwargs)

    def secure_workdir(self, workdir):
        for d in (Path(workdir), Path(workdir, "io"), Path(workdir, "scratch")):
            d.mkdir(mode=0o711, exist_ok=True)
            os.chown(d, 0, 0)
            os.chmod(d, 0o711)

    def prepare_question(self, workdir, question):
        """The only places the child may write for ``question``: its log file,
        its scratch folder and its output folder, new and owned by the user."""
        if not _QUESTION.match(question):
            raise IsolationError(f"odd question id {question!r}")
        workdir = Path(workdir)
        log = workdir / f"{question}.log"
        if os.path.lexists(log):
            os.unlink(log)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchown(fd, self.uid, self.gid)
        finally:
            os.close(fd)
        for d in (workdir / "scratch" / question, workdir / "io" / question):
            if os.path.lexists(d):
                if os.path.islink(d) or not os.path.isdir(d):
                    os.unlink(d)
                else:
                    shutil.rmtree(d)
            d.mkdir(mode=0o700)
            os.chown(d, self.uid, self.gid)

    def kill_leftovers(self, keep=()):
        if self.active:
            kill_descendants(self.uid, keep=set(keep), never_reap=self.zygotes)

    def close(self):
        self.kill_leftovers()
        if self.base is not None:      # (made only when active)
            shutil.rmtree(self.base, ignore_errors=True)
            LIVE_BASES.discard(self.base)
            self.base = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class IsolatedSandbox(Sandbox):
    """A Sandbox whose child runs as the isolation's user (see module doc)."""

    def __init__(self, workdir, spec, *, isolation, **kwargs):
        kwargs.update(python=isolation.python, pythonpath=str(isolation.lib),
                      preexec_fn=isolation.preexec)
        super().__init__(workdir, spec, **kwargs)
        self.iso = isolation
        isolation.secure_workdir(self.workdir)

    def _live_zygote(self):
        return {self.proc.pid} if self.proc is not None and self.proc.poll() is None else set()

    def start(self):
        self.iso.kill_leftovers()
        try:
            return super().start()
        finally:
            if self.proc is not None:
                self.iso.zygotes.add(self.proc.pid)

    def prepare(self, question):
        """Before every worker: kill what earlier ones left, and make its
        folders, owned by the sandbox user."""
        self.iso.kill_leftovers(keep=self._live_zygote())
        self.iso.prepare_question(self.workdir, question)
        return self.workdir / "io" / question, self.workdir / "scratch" / question

    def _collect(self, c, report):
        for path in (c.status, c.output):     # c: a protocol.ProbeRequest
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            except OSError:
                return ProbeResult(error="the check's output could not be read")
            if not stat.S_ISREG(st.st_mode):
                return ProbeResult(error="the check's output is not a regular file")
        return super()._collect(c, report)

    def stop(self):
        super().stop()
        self.iso.kill_leftovers()
