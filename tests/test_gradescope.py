"""The Gradescope autograder (issue 5): the zip, setup.sh's install step in a
throwaway virtual environment, run_autograder in a temporary layout root on a
correct / wrong / broken notebook, the messages for no or several notebooks,
grader failures, the watchdog, and (as root) the privilege drop.

The virtual environment is made from /usr/bin/python3 in a world-readable
folder (/tmp/nndl-gradescope-venv-HASH, cached by the hash of
requirements.txt and reused across sessions); it is also the interpreter of
every run_autograder run here, as the system python3 is on Gradescope.
"""

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import zipfile
from contextlib import suppress
from pathlib import Path

import pytest

from conftest import (BOOK, IS_ROOT, ROOT, TEMPLATES, VARIANTS, class_sources, gradescope_env,
                      gradescope_results, notebook_from, processes_named, run_gradescope,
                      set_name, unique_name, wait_for, write_notebook)

QUESTIONS = ("q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay")
NOTEBOOK = "regularization.ipynb"


def staff_of(root):
    return json.loads((root / "results" / "results.staff.json").read_text())


def per_question(data):
    """{question: (score, max score)}"""
    scores = {}
    for t in data["tests"]:
        q = t["name"].split(".")[0]
        got, out_of = scores.get(q, (0, 0))
        scores[q] = (got + t["score"], out_of + t["max_score"])
    return scores


def book_classes(**replacements):
    classes = class_sources(BOOK)
    classes.update(replacements)
    return classes


# -- the zip --------------------------------------------------------------------
def test_zip_has_the_engine_setup_and_run_autograder(built_zip, tmp_path):
    with zipfile.ZipFile(built_zip) as z:
        infos = {i.filename: i for i in z.infolist()}
        reqs = z.read("requirements.txt").decode()
    for name in ("setup.sh", "run_autograder", "requirements.txt", "grade.py",
                 "autograder/grading.toml", "autograder/questions/q1_relu/grading.py",
                 "autograder/reference/accuracy.py", "autograder/engine.py",
                 "autograder/sandbox/child.py", "autograder/gradescope/run.py",
                 "nndl/op.py", "nndl/checks/core.py", "BUILD_INFO.json",
                 "autograder/calibration/timing.json"):
        assert name in infos, name
    # the unpacked engine finds its timing calibration: calibrated limits, not the flat one
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(built_zip).extractall(unpacked)
    probe = subprocess.run([sys.executable, "-c", "from autograder.limits import load_timing; "
                            "print(sorted(load_timing()['questions']))"], cwd=unpacked,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert probe.returncode == 0 and "q1_relu" in probe.stdout, probe.stderr
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & 0o111, f"{name} is not executable"
    assert not any("__pycache__" in n or n.startswith("tests/") for n in infos)
    lines = [ln.split(";")[0].strip() for ln in reqs.splitlines()
             if ln.strip() and not ln.startswith("#")]
    names = {ln.split("=")[0].split(">")[0].split("<")[0].strip().lower() for ln in lines}
    assert {"paddlepaddle", "numpy", "scikit-learn", "nbformat", "jsonschema",
            "tomli"} <= names
    assert not names & {"otter-grader", "pytest", "paddlepaddle-gpu"}
    assert 'tomli>=2.0; python_version < "3.11"' in reqs
    for name in ("setup.sh", "run_autograder"):
        script = tmp_path / name
        script.write_bytes(zipfile.ZipFile(built_zip).read(name))
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    code = [ln for ln in (TEMPLATES / "setup.sh").read_text().splitlines()
            if not ln.lstrip().startswith("#")]
    assert not [ln for ln in code if re.search(r"\b(conda|mamba|micromamba|curl|wget)\b", ln)]
    assert any("pip install" in ln for ln in code)
    # building again gives the same bytes
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, str(ROOT / "grade.py"), "gradescope", "--out", str(again)],
                   check=True, capture_output=True, cwd=tmp_path, timeout=120)
    assert again.read_bytes() == built_zip.read_bytes()


def test_build_refuses_a_broken_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\npublic_visibility = 'sometimes'\n")
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "gradescope", "--out",
                           str(tmp_path / "a.zip"), "--config", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "visibility" in proc.stderr
    assert not (tmp_path / "a.zip").exists()


def test_setup_install_step_in_a_fresh_venv(gradescope_venv):
    python, log = gradescope_venv
    assert "self-check ok" in log, log[-3000:]
    out = subprocess.run([python, "-c", "import paddle, sklearn, nbformat, jsonschema, "
                          "matplotlib; print(paddle.__version__)"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "3.3.1", out.stderr


def test_child_side_files_exclude_the_hidden_checks(tmp_path, lab):
    from autograder.gradescope.isolation import IsolationError, child_side_files

    files = child_side_files(ROOT, lab)
    for name in ("autograder/__init__.py", "autograder/sandbox/__init__.py",
                 "autograder/sandbox/child.py", "autograder/reference/training.py",
                 "autograder/questions/q1_relu/reference.py",
                 "autograder/questions/q3_l2/probes.py", "nndl/op.py", "nndl/checks/q1_relu.py"):
        assert name in files
    assert not [f for f in files if f.startswith(("autograder/config", "autograder/engine",
                                                  "autograder/gradescope", "autograder/lab"))
                or f.endswith("grading.py")]
    assert all(f.endswith(".py") for f in files if not f.startswith("nndl/locale/"))
    assert "nndl/locale/zh_CN/LC_MESSAGES/nndl.mo" in files    # the probes' messages
    # a child-side module that imports a question's hidden checks is refused
    fake = tmp_path / "src"
    shutil.copytree(ROOT / "autograder", fake / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "nndl", fake / "nndl", ignore=shutil.ignore_patterns("__pycache__"))
    probes = fake / "autograder" / "questions" / "q3_l2" / "probes.py"
    probes.write_text(probes.read_text() + "\nfrom . import grading  # noqa\n")
    with pytest.raises(IsolationError, match="q3_l2/grading.py"):
        child_side_files(fake, lab)


# -- finding the notebook ---------------------------------------------------------
def test_find_notebook(tmp_path):
    from autograder.gradescope.run import find_notebook

    sub = tmp_path / "submission"
    assert find_notebook(sub, NOTEBOOK)[0] is None
    sub.mkdir()
    path, msg = find_notebook(sub, NOTEBOOK)
    assert path is None and "No notebook" in msg
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "regularization-checkpoint.ipynb").write_text("{}")
    (sub / "lab").mkdir()
    (sub / "lab" / "my_work.ipynb").write_text("{}")
    assert find_notebook(sub, NOTEBOOK) == (sub / "lab" / "my_work.ipynb", None)
    (sub / "copy.ipynb").write_text("{}")
    path, msg = find_notebook(sub, NOTEBOOK)
    assert path is None and "Several notebooks" in msg and "regularization.ipynb" in msg
    (sub / "regularization.ipynb").write_text("{}")
    path, msg = find_notebook(sub, NOTEBOOK)
    assert path == sub / "regularization.ipynb" and "only regularization.ipynb was graded" in msg
    (sub / "link.ipynb").symlink_to("/etc/passwd")
    assert find_notebook(sub, NOTEBOOK)[0] == sub / "regularization.ipynb"


def test_find_notebook_in_an_uploaded_zip(tmp_path):
    from autograder.gradescope.run import find_notebook

    sub, out = tmp_path / "submission", tmp_path / "out"
    sub.mkdir()
    out.mkdir()
    with zipfile.ZipFile(sub / "export.zip", "w") as z:
        z.writestr("regularization.ipynb", '{"cells": []}')
        z.writestr("__MACOSX/._regularization.ipynb", "junk")
        z.writestr("regularization.pdf", "pdf")
    path, note = find_notebook(sub, NOTEBOOK, extract_dir=out)
    assert path == out / "regularization.ipynb" and note is None
    assert path.read_text() == '{"cells": []}'
    with zipfile.ZipFile(sub / "more.zip", "w") as z:
        z.writestr("a.ipynb", "{}")
    path, note = find_notebook(sub, NOTEBOOK, extract_dir=out)
    assert path == out / "regularization.ipynb" and "export.zip/regularization.ipynb" in note
    (sub / "not_a_zip.zip").write_text("nope")
    (sub / "mine.ipynb").write_text("{}")          # a plain notebook wins over zips
    assert find_notebook(sub, NOTEBOOK, extract_dir=out) == (sub / "mine.ipynb", None)


# -- run_autograder -------------------------------------------------------------------
def _wrong_notebook():
    wrong = class_sources((VARIANTS / "wrong" / "decay_wrong_sign.py").read_text())
    return notebook_from(book_classes(**wrong))


@pytest.mark.parametrize("kind", ["solution", "wrong", "broken"])
def test_run_autograder_grades_the_submission(kind, gs_root, gradescope_venv, config):
    python, _ = gradescope_venv
    nb_path = gs_root / "submission" / "regularization.ipynb"
    if kind == "solution":
        write_notebook(notebook_from(book_classes()), nb_path)
    elif kind == "wrong":
        write_notebook(_wrong_notebook(), nb_path)
    else:
        nb_path.write_bytes(b'{"cells": [oops')
    proc, data = run_gradescope(gs_root, python)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(data["tests"]) == len(config.checks)
    assert data["stdout_visibility"] == "hidden"
    vis = {t["visibility"] for t in data["tests"]}
    assert vis == {"visible", "after_published"}
    scores = per_question(data)
    if kind == "solution":
        assert data["score"] == 100, data["output"]
        assert "Total: 100 / 100" in data["output"]
    elif kind == "wrong":
        got, out_of = scores["q4_weight_decay"]
        assert got < out_of, data["output"]
        assert all(scores[q][0] == scores[q][1] for q in QUESTIONS[:3]), data["output"]
        assert data["score"] < 100
    else:
        assert data["score"] == 0
        assert "not a Jupyter notebook" in data["output"]
        assert "Autograder failed" not in data["output"]
    text = json.dumps(data)
    assert "Traceback" not in text
    for q in QUESTIONS:
        assert q in data["output"]
    if IS_ROOT:
        assert stat.S_IMODE((gs_root / "source").stat().st_mode) == 0o700
        if kind != "broken":
            assert staff_of(gs_root)["isolation"]["active"] is True


@pytest.mark.parametrize("files,expect", [
    ((), "No notebook"),
    (("a.ipynb", "b.ipynb"), "Several notebooks"),
])
def test_no_or_several_notebooks_get_a_clear_message(files, expect, gs_root, gradescope_venv,
                                                     config):
    python, _ = gradescope_venv
    for name in files:
        write_notebook(notebook_from(book_classes()), gs_root / "submission" / name)
    (gs_root / "submission" / "notes.txt").write_text("hello")
    proc, data = run_gradescope(gs_root, python)
    assert proc.returncode == 0
    assert data["score"] == 0 and len(data["tests"]) == len(config.checks)
    assert expect in data["output"] and "regularization.ipynb" in data["output"]
    assert all(expect in t["output"] for t in data["tests"] if t["visibility"] == "visible")


def test_expected_name_wins_among_several(gs_root, gradescope_venv):
    python, _ = gradescope_venv
    (gs_root / "submission" / "regularization.ipynb").write_text("not json")
    write_notebook(notebook_from(book_classes()), gs_root / "submission" / "scratch.ipynb")
    _, data = run_gradescope(gs_root, python)
    assert data["score"] == 0
    assert "only regularization.ipynb was graded" in data["output"]
    assert "not a Jupyter notebook" in data["output"]


def test_grader_failure_gives_zero_and_hides_the_traceback(gs_root, gradescope_venv, config):
    python, _ = gradescope_venv
    write_notebook(notebook_from(book_classes()), gs_root / "submission" / "regularization.ipynb")
    proc, data = run_gradescope(gs_root, python, NNDL_SANDBOX_PYTHON="/nonexistent/python3")
    assert data["score"] == 0 and len(data["tests"]) == len(config.checks)
    assert "Autograder failed, contact staff" in data["output"]
    assert all("Autograder failed, contact staff" in t["output"]
               for t in data["tests"] if t["visibility"] == "visible")
    assert "Traceback" not in json.dumps(data) and "/nonexistent" not in json.dumps(data)
    staff = staff_of(gs_root)
    assert "/nonexistent/python3" in staff["grader_error"]
    assert "/nonexistent/python3" in proc.stdout      # staff-only stdout


def test_results_written_even_when_python_cannot_start(gs_root):
    write_notebook(notebook_from(book_classes()), gs_root / "submission" / "regularization.ipynb")
    proc, data = run_gradescope(gs_root, "/nonexistent/python3")
    assert proc.returncode == 0
    assert data["score"] == 0 and "Autograder failed, contact staff" in data["output"]


def submit_endless(root, patient_config, name):
    """A submission whose ReLU forward names its process ``name`` and never
    returns, graded under the patient config (limits of 900 s): its grading
    cannot end before the watchdog, however fast the machine."""
    shutil.copy(patient_config, root / "source" / "autograder" / "grading.toml")
    relu = class_sources(BOOK)["ReLU"].replace(
        "        self.inputs = inputs\n",
        f"        self.inputs = inputs\n        import time\n        {set_name(name)}\n"
        "        while True:\n            time.sleep(1)\n")
    write_notebook(notebook_from(book_classes(ReLU=relu)),
                   root / "submission" / "regularization.ipynb")


def assert_watchdog_result(root, data):
    assert data["score"] == 0 and "Autograder failed, contact staff" in data["output"]
    assert "watchdog" in staff_of(root)["grader_error"]
    assert "watchdog" not in json.dumps(data)


def test_watchdog_writes_a_failure_result_in_time(gs_root, gradescope_venv, patient_config):
    """The deadline (2 s) passes while the grading cannot have finished: the
    watchdog's result is written, and nothing of the grading is left running."""
    python, _ = gradescope_venv
    name = unique_name()
    submit_endless(gs_root, patient_config, name)
    proc, data = run_gradescope(gs_root, python, NNDL_DEADLINE="2")
    assert proc.returncode == 0
    assert_watchdog_result(gs_root, data)
    assert processes_named(name) == []


def grader_pid(run_autograder):
    """The pid of ``autograder.gradescope.run`` started by the ``run_autograder``
    process (bash) of pid ``run_autograder``."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == run_autograder and b"\0autograder.gradescope.run\0" in cmdline:
            return int(pid)
    raise AssertionError("run_autograder runs no grader")


def test_watchdog_stops_a_grading_in_progress(gs_root, gradescope_venv, patient_config):
    """The watchdog fires (SIGALRM, sent by the test as the alarm would at the
    deadline) while a question's worker runs: the worker is killed and the
    failure result written."""
    python, _ = gradescope_venv
    name = unique_name()
    submit_endless(gs_root, patient_config, name)
    proc = subprocess.Popen(["bash", str(gs_root / "run_autograder")],
                            env=gradescope_env(gs_root, python), cwd="/", text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for("the endless question", proc, lambda: processes_named(name))
        os.kill(grader_pid(proc.pid), signal.SIGALRM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert "watchdog: grading did not finish" in output, output[-3000:]
        assert_watchdog_result(gs_root, gradescope_results(gs_root, output[-3000:]))
        assert processes_named(name) == []
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pid in processes_named(name):
            os.kill(pid, signal.SIGKILL)


# -- privilege drop ---------------------------------------------------------------------
ATTACK = '''
def _attack():
    import os, pathlib, socket
    out = {"uid": os.getuid(), "euid": os.geteuid()}

    def attempt(name, fn):
        try:
            fn()
            out[name] = "SUCCEEDED"
        except BaseException as e:
            out[name] = "blocked: " + type(e).__name__ + ": " + str(e)[:100]

    root = pathlib.Path(GS_ROOT)
    attempt("write_results", lambda: (root / "results" / "pwned").write_text("forged"))
    attempt("overwrite_results_json",
            lambda: (root / "results" / "results.json").write_text('{"score": 1000, "tests": []}'))
    attempt("read_grading_toml", lambda: (root / "source/autograder/grading.toml").read_text())
    attempt("read_hidden_checks",
            lambda: (root / "source/autograder/questions/q1_relu/grading.py").read_text())
    attempt("list_source", lambda: os.listdir(root / "source"))
    attempt("import_hidden_checks", lambda: __import__("autograder.questions.q1_relu.grading"))
    attempt("inet_socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
    attempt("connect_loopback",
            lambda: socket.create_connection(("127.0.0.1", GS_PORT), timeout=3).close())
    attempt("become_root", lambda: os.setuid(0))
    print("ATTACK-REPORT", out, flush=True)
    return out


def _linger():
    import ctypes, os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, GS_LINGER.encode(), 0, 0, 0)
            for _ in range(300):
                try:
                    open(GS_ROOT + "/results/pwned-late", "w").write("late")
                except OSError:
                    pass
                time.sleep(0.1)
        os._exit(0)


class Probe:
    report = _attack()
    breached = report["uid"] == 0 or any(v == "SUCCEEDED" for v in report.values())
    _linger()
'''


@pytest.fixture
def loopback_server():
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = server.accept()
                accepted.append(addr)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(5)
    server.close()


@pytest.mark.skipif(not IS_ROOT, reason="the privilege drop needs root (CI runs as root)")
def test_student_code_runs_unprivileged_and_offline(gs_root, gradescope_venv, loopback_server,
                                                    config):
    python, _ = gradescope_venv
    port, accepted = loopback_server
    relu = class_sources(BOOK)["ReLU"].replace(
        "    def forward(self, inputs):\n",
        "    def forward(self, inputs):\n        if Probe.breached:\n            return inputs * 0 - 1\n", 1)
    assert "Probe.breached" in relu
    classes = {"Probe": ATTACK, **book_classes(ReLU=relu)}
    linger = unique_name()               # not another test run's lingering process
    nb = notebook_from(classes, imports=f"import paddle\nimport nndl.op as op\n"
                                        f"from nndl.op import Op, Optimizer\n"
                                        f"GS_ROOT = {str(gs_root)!r}\nGS_PORT = {port}\n"
                                        f"GS_LINGER = {linger!r}")
    write_notebook(nb, gs_root / "submission" / "regularization.ipynb")
    proc, data = run_gradescope(gs_root, python)
    assert proc.returncode == 0, proc.stderr[-3000:]

    staff = staff_of(gs_root)
    iso = staff["isolation"]
    assert iso["active"] is True and iso["uid"] != 0
    log = staff["questions"]["q1_relu"]["output"]
    assert "ATTACK-REPORT" in log, log[-3000:]
    report = eval(log.split("ATTACK-REPORT", 1)[1].splitlines()[0])  # noqa: S307 - our dict
    assert report["uid"] == iso["uid"] and report["euid"] == iso["uid"]
    for name in ("write_results", "overwrite_results_json"):     # the worker's mounts are
        assert report[name].startswith(("blocked: PermissionError",  # read-only, or at least
                                         "blocked: OSError: [Errno 30] Read-only file system")), \
            (name, report[name])                                  # the folder is not its own
    for name in ("read_grading_toml", "read_hidden_checks", "list_source"):
        assert report[name].startswith("blocked: PermissionError"), (name, report[name])
    assert report["become_root"].startswith(("blocked: PermissionError",       # in its user
                                             "blocked: OSError: [Errno 22]")), report  # namespace,
    # uid 0 does not even exist
    assert report["import_hidden_checks"].startswith(
        ("blocked: ModuleNotFoundError", "blocked: ImportError"))
    network = " ".join(iso["network"])
    if "seccomp" in network:
        assert report["inet_socket"].startswith("blocked: PermissionError"), report
    if "seccomp" in network or "namespace" in network:
        assert report["connect_loopback"].startswith("blocked"), report
        assert accepted == []

    # the score is the grader's: full marks, nothing forged, nothing printed to the student
    assert data["score"] == 100, data["output"]
    assert len(data["tests"]) == len(config.checks)
    results = gs_root / "results"
    assert sorted(p.name for p in results.iterdir()) == ["results.json", "results.staff.json"]
    assert results.stat().st_uid == 0 and stat.S_IMODE(results.stat().st_mode) == 0o755
    assert (results / "results.json").stat().st_uid == 0
    assert "ATTACK-REPORT" not in json.dumps(data) and "ATTACK-REPORT" not in proc.stderr
    # processes the student left behind were killed before the grader ended (it waits
    # until none runs), and none of their writes got into results/
    assert processes_named(linger) == []
    assert not (results / "pwned-late").exists()
