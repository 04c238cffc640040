"""Shared fixtures: the variant corpus, notebook builders, a fast config."""

import ast
import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "autograder" / "gradescope" / "templates"
SYSTEM_PYTHON = Path("/usr/bin/python3")
VENV_PARENT = Path(os.environ.get("NNDL_GS_VENV_PARENT", "/tmp"))
IS_ROOT = os.geteuid() == 0
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

VARIANTS = ROOT / "autograder" / "variants"
BOOK = (VARIANTS / "book.py").read_text()


def class_sources(source):
    """{class name: source} of the top-level classes of a Python source."""
    tree = ast.parse(source)
    return {n.name: ast.get_source_segment(source, n) for n in tree.body
            if isinstance(n, ast.ClassDef)}


IMPORTS = "import paddle\nimport numpy as np\nimport nndl.op as op\nfrom nndl.op import Op, Optimizer"


def notebook_from(classes, extra_cells=(), imports=IMPORTS):
    """A notebook with an import cell and one code cell per class, in the
    assignment's order, plus ``extra_cells`` at the end."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# submission"), nbformat.v4.new_code_cell(imports)]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in classes.values()]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra_cells]
    return nb


def variant_namespace(path=None):
    """The book's classes, with those of the variant at ``path`` replacing them."""
    ns = {"__name__": "__notebook__"}
    exec(BOOK, ns)  # noqa: S102 - fixtures
    if path is not None:
        exec(Path(path).read_text(), ns)  # noqa: S102
    return ns


def variant_docfields(path):
    doc = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    fields = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


@pytest.fixture(scope="session")
def config():
    from autograder.config import load_config

    return load_config()


@pytest.fixture(scope="session")
def lab(config):
    from autograder.lab import load_lab

    return load_lab(config)


@pytest.fixture(scope="session")
def fast_config(config):
    """The default config with short limits, for adversarial end-to-end runs."""
    return config.replace_run(question_time_limit=20, total_time_limit=200, memory_limit_mb=2048)


SHORT_QUESTION_LIMIT = 10   # seconds; correct questions take ~2 s, a hang costs this much


@pytest.fixture(scope="session")
def short_config(tmp_path_factory):
    """A copy of grading.toml whose question time limit is SHORT_QUESTION_LIMIT."""
    text = (ROOT / "autograder" / "grading.toml").read_text()
    text = text.replace("question_time_limit = 60",
                        f"question_time_limit = {SHORT_QUESTION_LIMIT}")
    assert f"question_time_limit = {SHORT_QUESTION_LIMIT}" in text
    path = tmp_path_factory.mktemp("cfg") / "grading.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def patient_config(tmp_path_factory):
    """A copy of grading.toml whose time limits are so long (900 s a question and a
    statement) that only the test ends a submission that waits: the grading cannot
    finish before the test has acted, however fast or slow the machine."""
    text = (ROOT / "autograder" / "grading.toml").read_text()
    for old, new in (("time_limit_factor = 15", "time_limit_factor = 10000"),
                     ("question_time_limit = 60", "question_time_limit = 900"),
                     ("statement_time_limit = 5", "statement_time_limit = 900"),
                     ("total_time_limit = 420", "total_time_limit = 900")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("patient") / "grading.toml"
    path.write_text(text)
    return path


def with_sigint(disposition):
    """A ``preexec_fn`` that starts a process with SIGINT at ``disposition``
    (``signal.SIG_DFL`` or ``signal.SIG_IGN``) and not blocked, whatever the test
    run inherited: a test run started as a background job, by nohup or by some CI
    runners has SIGINT ignored, and a process started from it would keep it
    ignored (and blocked, were it blocked)."""
    def preexec():
        signal.signal(signal.SIGINT, disposition)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    return preexec


def unique_name():
    """A process name (at most 15 characters, the kernel's limit) that no other
    test run on this machine uses: student code under test sets it with
    ``prctl(PR_SET_NAME)`` when it reaches a point, and the test waits for it."""
    return "nndl-" + uuid.uuid4().hex[:10]


def set_name(name):
    """Python source (one line) that names the running process ``name``."""
    return f"__import__('ctypes').CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)"


def processes_named(name):
    """Pids of the live (not zombie) processes named ``name``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as comm, open(f"/proc/{pid}/stat") as st:
                if comm.read().strip() == name and st.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(pid))
        except OSError:
            pass
    return found


def assert_stopped_cleanly(proc, names, results, scratch):
    """``proc`` (a grading told to stop) exits 130 with one line, no traceback, no
    process named in ``names`` left, no results file and an empty TMPDIR ``scratch``."""
    assert proc.wait(timeout=60) == 130
    stderr = proc.stderr.read()
    assert "interrupted: grade stopped" in stderr and "Traceback" not in stderr, stderr
    assert all(processes_named(name) == [] for name in names)
    assert not results.exists() and list(scratch.iterdir()) == []


def wait_for(what, proc, condition, timeout=300):
    """Wait until ``condition()`` is true (an event the test caused), failing at
    once when ``proc`` ends first; ``timeout`` only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            raise AssertionError(f"the grader ended ({proc.returncode}) before {what}: "
                                 f"{err[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def per_question(data):
    """{question: points} of a results.json's data."""
    scores = {}
    for t in data["tests"]:
        q = t["name"].split(".")[0]
        scores[q] = scores.get(q, 0) + t["score"]
    return scores


def write_notebook(nb, path):
    nbformat.write(nb, str(path))
    return path


# -- the Gradescope layout (tests/test_gradescope.py, tests/test_new_question.py) ----
@pytest.fixture(scope="session")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "gradescope", "--out",
                           str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.exists()
    return out


def unpack(zip_path, dest):
    """Unzip like Gradescope does (keeping the modes)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)


def _world_readable(path):
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                continue
            mode = os.stat(p).st_mode
            os.chmod(p, mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH |
                     ((stat.S_IXGRP | stat.S_IXOTH) if mode & stat.S_IXUSR else 0))
    os.chmod(path, 0o755)


@pytest.fixture(scope="session")
def gradescope_venv(built_zip, tmp_path_factory):
    """(python, setup.sh's output): setup.sh's install step run into a venv made
    from /usr/bin/python3 (cached by the requirements' hash)."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no /usr/bin/python3 to make the Gradescope-like venv from")
    reqs = (TEMPLATES / "requirements.txt").read_bytes()
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(reqs + version.encode()).hexdigest()[:16]
    venv = VENV_PARENT / f"nndl-gradescope-venv-{key}"
    python = venv / "bin" / "python"
    src = tmp_path_factory.mktemp("setup") / "source"
    unpack(built_zip, src)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old_umask = os.umask(0o022)
        try:
            if not (venv / ".ready").exists():
                shutil.rmtree(venv, ignore_errors=True)
                subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", str(venv)], check=True,
                               capture_output=True, timeout=300)
            env = {k: v for k, v in os.environ.items() if not k.startswith("NNDL_")}
            env["NNDL_PYTHON"] = str(python)
            proc = subprocess.run(["bash", str(src / "setup.sh"), "install"], env=env,
                                  capture_output=True, text=True, timeout=1800, cwd=src)
            assert proc.returncode == 0, (
                f"setup.sh install failed in {venv}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
            _world_readable(venv)
            (venv / ".ready").write_text(key)
        finally:
            os.umask(old_umask)
    return str(python), proc.stdout + proc.stderr


@pytest.fixture
def gs_root(built_zip):
    """A Gradescope layout in a world-traversable temporary folder: the zip in
    source/, run_autograder copied to the root, empty submission/ and results/."""
    root = Path(tempfile.mkdtemp(prefix="nndl-gs-test-", dir="/tmp"))
    os.chmod(root, 0o755)
    unpack(built_zip, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def gradescope_env(root, python, **extra_env):
    """run_autograder's environment: none of the test run's NNDL_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNDL_")}
    env.update(AUTOGRADER_ROOT=str(root), NNDL_PYTHON=python, **extra_env)
    return env


def run_gradescope(root, python, **extra_env):
    proc = subprocess.run(["bash", str(root / "run_autograder")],
                          env=gradescope_env(root, python, **extra_env), cwd="/",
                          capture_output=True, text=True, timeout=900)
    return proc, gradescope_results(root, proc.stdout[-3000:] + proc.stderr[-3000:])


def gradescope_results(root, output=""):
    """The validated results.json of a finished run_autograder run (``output``:
    what it printed, shown when there is no results file)."""
    results = root / "results" / "results.json"
    assert results.exists(), output
    data = json.loads(results.read_text())
    from autograder.results import validate

    validate(data)
    return data
