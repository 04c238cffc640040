"""Batch grading (``grade.py SUBMISSIONS_DIR --out OUT_DIR``): a mixed class,
resuming after SIGKILL, Ctrl-C, the Dask runner, and the pieces on their own.

The batches run ``grade.py`` as a subprocess with a short time-limit config.
Most submissions define only the ReLU class (one question to run, ~3 s) to keep
the file fast; four are whole notebooks.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import (BOOK, ROOT, VARIANTS, class_sources, notebook_from, processes_named,
                      set_name, wait_for, with_sigint, write_notebook)

QUESTIONS = ["q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay"]


# -- submissions -----------------------------------------------------------------

def book(**replace):
    classes = class_sources(BOOK)
    classes.update(replace)
    return classes


def variant(kind, name, cls):
    return class_sources((VARIANTS / kind / f"{name}.py").read_text())[cls]


RELU = class_sources(BOOK)["ReLU"]
WRONG_RELU = variant("wrong", "relu_ignores_upstream", "ReLU")     # q1: forward only, 4/25
HANGING_RELU = RELU.replace("        return paddle.multiply(outputs_grads,",
                            "        while True:\n            pass\n"
                            "        return paddle.multiply(outputs_grads,")
CRASHING_BCE = class_sources(BOOK)["BinaryCrossEntropyWithLogits"].replace(
    "        self.predicts = self.logistic(logits)",
    "        import ctypes; ctypes.string_at(0)\n        self.predicts = self.logistic(logits)")
XSS = "<script>alert('xss')</script>"
XSS_CLASS = f"class Loud:\n    raise RuntimeError({XSS!r})"
RELU_READS_LOUD = RELU.rstrip() + "\n    def _loud(self):\n        return Loud\n"  # Loud in its slice


def nb_bytes(classes, tmp):
    path = write_notebook(notebook_from(classes), tmp / f"{uuid.uuid4().hex}.ipynb")
    data = path.read_bytes()
    path.unlink()
    return data


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def run_batch(subs, out, config, *extra, timeout=600, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), str(subs), "--out", str(out),
                           "--config", str(config), *extra],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def gradebook(out):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


# -- a mixed class ---------------------------------------------------------------

# id: (total, status, message fragment); "" totals are empty cells
EXPECTED = {
    "alice": ("100", "graded", ""),                      # the book's code
    "bob": ("4", "graded", ""),                          # wrong ReLU backward, no other class
    "carol": ("0", "graded", "not a Jupyter notebook"),  # broken JSON
    "dan": ("79", "graded", "q1_relu: time limit"),      # ReLU backward hangs
    "erin": ("75", "graded", "q3_l2: crashed (signal 11)"),  # segfault in the loss
    "frank": ("25", "graded", ""),                       # otter export zip
    "grace": ("25", "graded", ""),                       # folder, notebook in a subfolder
    "heidi": ("", "no_notebook", "no .ipynb"),           # folder without a notebook
    "ivan": ("", "multiple_notebooks", "a.ipynb, b.ipynb"),
    "judy": ("", "bad_zip", "not a valid zip"),
    "kim": ("", "duplicate_id", "kim/lab.ipynb, kim.ipynb"),
    "leo": ("", "too_large", "MB"),                      # zip bomb
    "mallory": ("0", "graded", ""),                      # zip member ../../..; no class
    "mia": ("25", "graded", "RuntimeError"),             # a cell raising HTML
    "notes": ("", "not_a_notebook", "notes.txt is not a notebook"),   # a row, not a skip
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, short_config):
    tmp = tmp_path_factory.mktemp("mixed")
    subs, out = tmp / "submissions", tmp / "out"
    subs.mkdir()
    q1 = nb_bytes({"ReLU": RELU}, tmp)
    (subs / "alice.ipynb").write_bytes(nb_bytes(book(), tmp))
    (subs / "bob.ipynb").write_bytes(nb_bytes({"ReLU": WRONG_RELU}, tmp))
    (subs / "carol.ipynb").write_text('{"cells": [oops')
    (subs / "dan.ipynb").write_bytes(nb_bytes(book(ReLU=HANGING_RELU), tmp))
    (subs / "erin.ipynb").write_bytes(nb_bytes(book(BinaryCrossEntropyWithLogits=CRASHING_BCE),
                                               tmp))
    make_zip(subs / "frank.zip", {"regularization.ipynb": q1, "regularization.pdf": b"%PDF-1.4",
                                  "__MACOSX/._regularization.ipynb": b"junk"})
    (subs / "grace" / "work").mkdir(parents=True)
    (subs / "grace" / "work" / "lab.ipynb").write_bytes(q1)
    (subs / "grace" / ".ipynb_checkpoints").mkdir()
    (subs / "grace" / ".ipynb_checkpoints" / "lab-checkpoint.ipynb").write_bytes(q1)
    (subs / "heidi").mkdir()
    (subs / "heidi" / "README.txt").write_text("forgot the notebook")
    (subs / "ivan").mkdir()
    (subs / "ivan" / "a.ipynb").write_bytes(q1)
    (subs / "ivan" / "b.ipynb").write_bytes(q1)
    (subs / "judy.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    (subs / "kim.ipynb").write_bytes(q1)
    (subs / "kim").mkdir()
    (subs / "kim" / "lab.ipynb").write_bytes(q1)
    with zipfile.ZipFile(subs / "leo.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("lab.ipynb", "w", force_zip64=True) as f:
            for _ in range(101):
                f.write(b" " * 2**20)
    make_zip(subs / "mallory.zip", {"../../../escaped.ipynb": nb_bytes({}, tmp)})
    (subs / "mia.ipynb").write_bytes(nb_bytes({"ReLU": RELU_READS_LOUD, "Loud": XSS_CLASS}, tmp))
    (subs / "notes.txt").write_text("not a submission")
    (tmp / "tmp").mkdir()                            # the batch's temporary folder
    proc = run_batch(subs, out, short_config, "--jobs", "2", "--scale", "10",
                     env={**os.environ, "TMPDIR": str(tmp / "tmp")})
    return subs, out, proc, short_config


def test_mixed_class_gives_the_expected_gradebook(mixed):
    subs, out, proc, _ = mixed
    assert proc.returncode == 0, proc.stderr[-3000:]
    book_rows = gradebook(out)
    assert list(book_rows) == sorted(EXPECTED)
    for sid, (total, status, fragment) in EXPECTED.items():
        row = book_rows[sid]
        assert (row["total"], row["status"]) == (total, status), (sid, row)
        assert fragment in row["message"], (sid, row)
        if total:
            assert float(row["scaled_total"]) == pytest.approx(float(total) / 10)
            assert sum(float(row[q]) for q in QUESTIONS) == pytest.approx(float(total))
        else:
            assert row["scaled_total"] == "" and all(row[q] == "" for q in QUESTIONS)
    assert [book_rows["dan"][q] for q in QUESTIONS] == ["4", "25", "25", "25"]
    assert [book_rows["erin"][q] for q in QUESTIONS] == ["25", "25", "0", "25"]
    assert "not a submission: notes.txt" in proc.stderr
    assert not (subs.parent / "escaped.ipynb").exists()
    assert not (subs.parent.parent / "escaped.ipynb").exists()


def test_the_batch_leaves_no_temporary_folder_behind(mixed):
    """The workers' warm sandboxes (killed at the end) kept their work folders."""
    subs, _, proc, _ = mixed
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in (subs.parent / "tmp").iterdir()) == []


def test_each_graded_student_gets_results_and_feedback(mixed):
    from autograder.results import validate

    _, out, _, config = mixed
    for sid, (total, status, _) in EXPECTED.items():
        if status != "graded":
            assert not (out / sid / "results.json").exists()
            continue
        data = json.loads((out / sid / "results.json").read_text())
        validate(data)
        assert f"{data['score']:g}" == total
        assert (out / sid / "results.staff.json").exists()
        feedback = (out / sid / "feedback.html").read_text()
        assert f"Total: {total} / 100" in feedback
    # hidden tests: passed/failed only; their diagnosis stays in the staff files
    bob = (out / "bob" / "feedback.html").read_text()
    assert "backward ignores the upstream gradient" in bob          # public test's diagnosis
    assert "does not learn" not in bob                             # hidden accuracy test's
    staff = json.loads((out / "bob" / "results.staff.json").read_text())
    assert any("does not learn" in t["message"] for t in staff["tests"] if t["hidden"])
    mia = (out / "mia" / "feedback.html").read_text()
    assert XSS not in mia and "&lt;script&gt;" in mia


def test_report_shows_plots_diagnoses_and_incidents(mixed):
    _, out, _, _ = mixed
    report = (out / "report.html").read_text()
    assert report.count('<img alt="plot" src="data:image/png;base64,') == 3
    for text in ("does not learn", "q1_relu: time limit", "q3_l2: crashed", "duplicate_id",
                 "bad_zip", "q1_relu.backward_fd_hidden"):
        assert text in report, text
    assert XSS not in report and "&lt;script&gt;" in report


def test_similar_answers_are_flagged(mixed):
    """Most of the class handed in the book's ReLU: one cluster, marked "book", in
    similarity.csv and in the report with a heat map per class."""
    _, out, _, _ = mixed
    with open(out / "similarity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    relu = [r for r in rows if r["kind"] == "cluster" and r["class"] == "ReLU"]
    assert relu and "book" in relu[0]["matches"].split(";")
    assert {"alice", "frank", "grace"} <= set(relu[0]["students"].split(";"))
    report = (out / "report.html").read_text()
    assert "Similar answers" in report and 'alt="ReLU similarity"' in report


def test_rerun_grades_nothing_and_changes_nothing(mixed):
    subs, out, _, config = mixed
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    csv_before = (out / "gradebook.csv").read_text()
    proc = run_batch(subs, out, config, "--jobs", "2", "--scale", "10")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 to grade" in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")} == before
    assert (out / "gradebook.csv").read_text() == csv_before


# -- resume: content hash, --force -------------------------------------------------

def test_only_changed_submissions_or_config_are_regraded(tmp_path, short_config):
    """Unreadable notebooks are graded without a sandbox, so this is quick."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for sid in ("a", "b", "c"):
        (subs / f"{sid}.ipynb").write_text(f"{{ {sid}")

    assert run_batch(subs, out, short_config).returncode == 0
    assert sorted(graded_log(out)) == ["a", "b", "c"]
    (subs / "b.ipynb").write_text("{ b changed")
    assert run_batch(subs, out, short_config).returncode == 0
    assert graded_log(out)[3:] == ["b"]
    assert run_batch(subs, out, short_config, "--force").returncode == 0
    assert sorted(graded_log(out)[4:]) == ["a", "b", "c"]
    other_config = tmp_path / "other.toml"
    other_config.write_text(short_config.read_text() + "\n# changed\n")
    assert run_batch(subs, out, other_config).returncode == 0
    assert sorted(graded_log(out)[7:]) == ["a", "b", "c"]
    assert set(gradebook(out)) == {"a", "b", "c"}


def test_only_regrades_the_chosen_students_and_rewrites_the_gradebook(tmp_path, short_config):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for sid in ("a", "b", "c"):
        (subs / f"{sid}.ipynb").write_text(f"{{ {sid}")      # unreadable: graded quickly
    assert run_batch(subs, out, short_config).returncode == 0
    before = {sid: (out / sid / "results.json").stat().st_mtime_ns for sid in "abc"}
    (subs / "b.ipynb").write_bytes(nb_bytes({"ReLU": RELU}, tmp_path))   # b resubmits
    proc = run_batch(subs, out, short_config, "--only", "b")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 to grade" in proc.stderr
    assert graded_log(out)[3:] == ["b"]
    rows = gradebook(out)
    assert rows["b"]["total"] == "25" and rows["a"]["total"] == "0" and set(rows) == set("abc")
    for sid in "ac":
        assert (out / sid / "results.json").stat().st_mtime_ns == before[sid]
    proc = run_batch(subs, out, short_config, "--only", "b", "zed")
    assert proc.returncode == 2 and "no submission for zed" in proc.stderr


# -- killing and interrupting ------------------------------------------------------

def processes_marked(marker, tmpdir):
    """Live processes carrying ``marker`` in their environment (the batch, its
    forkserver and job processes) or ``tmpdir`` in their command line (the
    sandbox zygotes and their question workers, which get a minimal env)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ or str(tmpdir).encode() in cmdline:
            found.append((int(proc.name), cmdline.replace(b"\0", b" ")[:200]))
    return found


def assert_no_stray_processes(marker, tmpdir, grace=15):
    deadline = time.monotonic() + grace
    while processes_marked(marker, tmpdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_marked(marker, tmpdir) == []


def start_batch(subs, out, config, tmp_path, marker):
    sandbox_tmp = tmp_path / "sandbox-tmp"
    sandbox_tmp.mkdir(exist_ok=True)
    env = {**os.environ, "BATCH_TEST_MARKER": marker, "TMPDIR": str(sandbox_tmp)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "grade.py"), str(subs), "--out", str(out),
                             "--config", str(config), "--jobs", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env=env,
                            preexec_fn=with_sigint(signal.SIG_DFL))   # Ctrl-C reaches it
    return proc, sandbox_tmp


def wait_for_first_result(out, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(out.glob("*/batch.json")):
            return
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        time.sleep(0.05)
    raise AssertionError("no result appeared")


def graded_log(out):
    """Student ids in the order their gradings were saved."""
    path = out / "batch.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["student_id"] for line in lines]


def waiting_name(go):
    """The name the waiting submission's worker takes while it waits for ``go``."""
    return "nndl-" + go.name[-10:]


def waiting_relu(go):
    """A correct ReLU whose forward names its process ``waiting_name(go)`` and
    waits until the file ``go`` exists: the submission that cannot finish before
    the test has signalled. (/dev is readable from the sandbox; the test creates
    ``go`` in /dev/shm.)"""
    return RELU.replace("        self.inputs = inputs\n",
                        "        self.inputs = inputs\n        import os, time\n"
                        f"        {set_name(waiting_name(go))}\n"
                        f"        while not os.path.exists({str(go)!r}):\n"
                        "            time.sleep(0.05)\n")


def small_class(subs, tmp, go):
    """Four quick submissions (25, 0, 4, 0 points), one that waits for ``go`` (25)
    and a folder without a notebook."""
    subs.mkdir()
    nothing = nb_bytes({}, tmp)
    for i, data in enumerate([nb_bytes({"ReLU": RELU}, tmp), nothing,
                              nb_bytes({"ReLU": WRONG_RELU}, tmp), nothing,
                              nb_bytes({"ReLU": waiting_relu(go)}, tmp)]):
        (subs / f"s{i}.ipynb").write_bytes(data)
    (subs / "empty").mkdir()


@pytest.fixture
def go(tmp_path):
    """A file the waiting submission waits for (created by the test)."""
    path = Path("/dev/shm") / f"nndl-test-go-{uuid.uuid4().hex}"
    yield path
    path.unlink(missing_ok=True)


def test_sigkill_mid_batch_then_rerun_gives_the_uninterrupted_gradebook(tmp_path,
                                                                         patient_config, go):
    subs = tmp_path / "subs"
    small_class(subs, tmp_path, go)
    reference = tmp_path / "reference"
    go.touch()                                       # uninterrupted: nobody waits
    assert run_batch(subs, reference, patient_config, "--jobs", "2").returncode == 0
    go.unlink()

    out, marker = tmp_path / "out", uuid.uuid4().hex
    proc, sandbox_tmp = start_batch(subs, out, patient_config, tmp_path, marker)
    try:
        wait_for_first_result(out, proc)             # s4 is waiting for `go`: not finished
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert_no_stray_processes(marker, sandbox_tmp)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stderr.close()
    finished = {p.parent.name: (p.parent / "results.json").stat()
                for p in out.glob("*/batch.json")}
    assert 1 <= len(finished) < 5 and "s4" not in finished
    assert not (out / "gradebook.csv").exists()
    logged_before = len(graded_log(out))

    go.touch()
    rerun = run_batch(subs, out, patient_config, "--jobs", "2")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{5 - len(finished)} to grade, {len(finished)} already graded" in rerun.stderr
    for sid, st in finished.items():
        now = (out / sid / "results.json").stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), sid
    regraded = graded_log(out)[logged_before:]
    assert sorted(regraded) == sorted({f"s{i}" for i in range(5)} - set(finished))
    assert (out / "gradebook.csv").read_text() == (reference / "gradebook.csv").read_text()
    rows = gradebook(out)
    assert [rows[f"s{i}"]["total"] for i in range(5)] == ["25", "0", "4", "0", "25"]
    assert rows["empty"]["status"] == "no_notebook"


def test_ctrl_c_stops_cleanly_keeping_finished_results(tmp_path, patient_config, go):
    """Deterministic: one submission waits until the test has sent Ctrl-C, which
    comes when another's result is saved and the waiting one is being graded. The
    batch gets SIGINT at its default from the test, whatever the test run has."""
    subs = tmp_path / "subs"
    small_class(subs, tmp_path, go)
    out, marker = tmp_path / "out", uuid.uuid4().hex
    proc, sandbox_tmp = start_batch(subs, out, patient_config, tmp_path, marker)
    try:
        wait_for_first_result(out, proc)
        wait_for("the waiting submission's grading", proc,
                 lambda: processes_named(waiting_name(go)))
        os.killpg(proc.pid, signal.SIGINT)          # what the terminal sends on Ctrl-C
        assert proc.wait(timeout=60) == 130
        stderr = proc.stderr.read().decode()
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr[-3000:]
        assert_no_stray_processes(marker, sandbox_tmp, grace=5)
        assert sorted(p.name for p in sandbox_tmp.iterdir()) == []     # nothing left in /tmp
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stderr.close()
    for marker_file in out.glob("*/batch.json"):
        json.loads((marker_file.parent / "results.json").read_text())
    assert list(out.glob("*/batch.json")) and not (out / "s4" / "batch.json").exists()
    assert not (out / "gradebook.csv").exists()


def test_a_warm_sandbox_shows_nothing_of_one_submission_to_the_next(tmp_path, short_config):
    """One batch worker grades both (--jobs 1) in one sandbox; the first leaves a
    file, module attributes and an environment variable behind, the second's
    ReLU is wrong if it sees any of them."""
    leaker = RELU.replace("        self.inputs = inputs\n", """        self.inputs = inputs
        import os, numpy, nndl.op
        open("leak.txt", "w").write("x")
        numpy.LEAK = nndl.op.LEAK = 1
        os.environ["NNDL_LEAK"] = "1"
""")
    detector = RELU.replace("        self.inputs = inputs\n", """        self.inputs = inputs
        import os, numpy, nndl.op
        if (os.listdir(".") != ["tmp"] or hasattr(numpy, "LEAK") or hasattr(nndl.op, "LEAK")
                or "NNDL_LEAK" in os.environ):
            return inputs * 0
""")
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "a_leaker.ipynb").write_bytes(nb_bytes({"ReLU": leaker}, tmp_path))
    (subs / "b_detector.ipynb").write_bytes(nb_bytes({"ReLU": detector}, tmp_path))
    proc = run_batch(subs, out, short_config, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert gradebook(out)["b_detector"]["total"] == "25"
    staff = json.loads((out / "b_detector" / "results.staff.json").read_text())
    assert staff["sandbox_grading"] == 2                 # the same, warm sandbox


# -- grader errors ---------------------------------------------------------------

def test_device_gpu_without_cuda_stops_the_batch_before_grading_anyone(tmp_path,
                                                                     short_config):
    """The batch decides the device once, before grading anyone (issue 29): a GPU
    that cannot be used is the grader's failure, not a zero for every student.
    (A per-student grader error that does not stop the batch:
    test_a_student_whose_results_cannot_be_saved_is_a_grader_error.)"""
    import paddle

    if paddle.is_compiled_with_cuda():
        pytest.skip("this paddle has CUDA")
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "a.ipynb").write_bytes(nb_bytes({"ReLU": RELU}, tmp_path))
    (subs / "b").mkdir()
    proc = run_batch(subs, out, short_config, "--device", "gpu")
    assert proc.returncode == 2
    assert "grader error: --device gpu" in proc.stderr and "not compiled with CUDA" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "gradebook.csv").exists() and not (out / "a").exists()


def test_lone_surrogates_and_non_utf8_names_do_not_stop_the_batch(tmp_path, short_config):
    """A ReLU raising a message with a lone surrogate, and a file name that is not
    UTF-8: every student is graded, the gradebook and report are written."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    surrogate_relu = RELU.replace("        self.inputs = inputs\n",
                                  "        self.inputs = inputs\n"
                                  "        raise ValueError('bad \\ud800 value')\n")
    assert "raise ValueError" in surrogate_relu
    (subs / "a.ipynb").write_bytes(nb_bytes({"ReLU": RELU}, tmp_path))
    (subs / "b.ipynb").write_bytes(nb_bytes({"ReLU": surrogate_relu}, tmp_path))
    latin1 = subs / os.fsdecode(b"caf\xe9.ipynb")
    latin1.write_bytes(nb_bytes({"ReLU": RELU}, tmp_path))
    proc = run_batch(subs, out, short_config, "--jobs", "3", errors="backslashreplace")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = gradebook(out)
    assert {sid: (r["total"], r["status"]) for sid, r in rows.items()} == {
        "a": ("25", "graded"), "b": ("0", "graded"), "caf\\xe9": ("25", "graded")}
    data = json.loads((out / "b" / "results.json").read_bytes().decode("utf-8"))
    assert "bad \\ud800 value" in data["output"]
    staff = json.loads((out / latin1.stem / "results.staff.json").read_bytes().decode("utf-8"))
    assert staff["submission"] == "caf\\xe9.ipynb"
    assert "caf\\xe9" in (out / latin1.stem / "feedback.html").read_bytes().decode("utf-8")
    (out / "report.html").read_bytes().decode("utf-8")


SAVE_FAILS = """
import sys
from autograder.batch import store
from autograder.cli import main

real, calls = store.save, {}

def save(out, sub, job, outcome):
    calls[sub.sid] = calls.get(sub.sid, 0) + 1
    if sub.sid == "b" or sub.sid == "c" and calls["c"] == 1:
        raise OSError(f"cannot save {sub.sid}")
    return real(out, sub, job, outcome)

store.save = save
sys.exit(main(sys.argv[1:]))
"""


def test_a_student_whose_results_cannot_be_saved_is_a_grader_error(tmp_path, short_config):
    """store.save raising (b: always; c: only the first time) costs that student only.
    Unreadable notebooks are graded without a sandbox, so this is quick."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for sid in ("a", "b", "c", "d"):
        (subs / f"{sid}.ipynb").write_text(f"{{ {sid}")
    proc = subprocess.run([sys.executable, "-c", SAVE_FAILS, str(subs), "--out", str(out),
                           "--config", str(short_config), "--jobs", "1"],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    rows = gradebook(out)
    assert {sid: r["status"] for sid, r in rows.items()} == {
        "a": "graded", "b": "grader_error", "c": "grader_error", "d": "graded"}
    assert "cannot save b" in rows["b"]["message"] and rows["b"]["total"] == ""
    assert "cannot save c" in rows["c"]["message"]
    data = json.loads((out / "c" / "results.json").read_text())      # the failure notice
    assert data["score"] == 0 and "Autograder failed" in data["output"]
    assert (out / "report.html").exists()


# -- Dask --------------------------------------------------------------------------

def test_dask_cluster_runs_the_same_jobs(tmp_path, short_config, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("TMPDIR", str(tmp_path))     # the workers' sandboxes stay in tmp_path
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "a.ipynb").write_bytes(nb_bytes({"ReLU": RELU}, tmp_path))
    make_zip(subs / "b.zip", {"lab.ipynb": nb_bytes({"ReLU": WRONG_RELU}, tmp_path)})
    (subs / "c.ipynb").write_text("{ not json")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        proc = run_batch(subs, out, short_config, "--scheduler", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = gradebook(out)
    assert {sid: (r["total"], r["status"]) for sid, r in rows.items()} == {
        "a": ("25", "graded"), "b": ("4", "graded"), "c": ("0", "graded")}
    json.loads((out / "b" / "results.json").read_text())


# -- the pieces, without grading -----------------------------------------------------

def test_discovery_layouts_and_guards(tmp_path):
    from autograder.batch.discover import discover

    root = tmp_path / "subs"
    root.mkdir()
    (root / "a.ipynb").write_text("{}")
    (root / ".hidden.ipynb").write_text("{}")
    (root / "b").mkdir()
    (root / "b" / "deep" / "er").mkdir(parents=True)
    (root / "b" / "deep" / "er" / "x.ipynb").write_text("{}")
    make_zip(root / "c.zip", {"../../etc/evil.ipynb": b'{"cells": []}', "c.pdf": b"%PDF"})
    make_zip(root / "d.zip", {"x.ipynb": b"{}", "y.ipynb": b"{}"})
    make_zip(root / "f.zip", {"x.ipynb": b"{}", "sub/regularization.ipynb": b"{1}"})
    (root / "g").mkdir()
    (root / "g" / "regularization.ipynb").write_text("{2}")
    (root / "g" / "scratch.ipynb").write_text("{}")
    make_zip(root / "e.zip", {"readme.txt": b"hi"})
    (root / "report.html").mkdir()
    (root / "report.html" / "n.ipynb").write_text("{}")
    (root / "similarity.csv.ipynb").write_text("{}")
    out = root / "out"
    out.mkdir()
    subs, skipped = discover(root, exclude=[out], expected="regularization.ipynb")
    by_id = {s.sid: s for s in subs}
    assert list(by_id) == ["a", "b", "c", "d", "e", "f", "g", "report.html", "similarity.csv"]
    assert by_id["f"].ok and by_id["f"].read() == b"{1}"       # the lab's name wins, as on
    assert by_id["g"].ok and by_id["g"].read() == b"{2}"       # Gradescope, with a note
    assert "only g/regularization.ipynb" not in by_id["g"].message
    assert "only regularization.ipynb was graded" in by_id["g"].message
    assert by_id["a"].ok and by_id["a"].read() == b"{}"
    assert by_id["b"].ok and by_id["b"].source == "b/deep/er/x.ipynb"
    assert by_id["c"].ok and by_id["c"].read() == b'{"cells": []}'
    assert by_id["d"].status == "multiple_notebooks"
    assert by_id["e"].status == "no_notebook"
    assert by_id["report.html"].status == "bad_id"
    assert by_id["similarity.csv"].status == "bad_id"
    assert skipped == []
    assert not (tmp_path / "etc").exists()


def test_notebook_size_is_capped_while_reading(tmp_path, monkeypatch):
    """Zip bombs: at most the cap is decompressed, even when the header lies."""
    import io

    from autograder.batch import discover as discover_module
    from autograder.batch.discover import SubmissionError, discover

    monkeypatch.setattr(discover_module, "MAX_NOTEBOOK_BYTES", 1000)
    with pytest.raises(SubmissionError) as e:
        discover_module._read_capped(io.BytesIO(b" " * 5000), 10)    # header says 10 bytes
    assert e.value.status == "too_large"
    root = tmp_path / "subs"
    root.mkdir()
    make_zip(root / "z.zip", {"n.ipynb": b" " * 5000})
    (root / "n.ipynb").write_bytes(b" " * 5000)
    subs, _ = discover(root)
    for sub in subs:
        with pytest.raises(SubmissionError) as e:
            sub.read()
        assert e.value.status == "too_large"


def fake_result(hidden_message="secret hidden diagnosis"):
    from autograder.results import GradingResult, TestResult

    def t(name, passed, message, hidden, points):
        return TestResult(name=name, question=name.split(".")[0], title=f"title of {name}",
                          max_score=points, score=points if passed else 0, passed=passed,
                          message=message, hidden=hidden,
                          visibility="after_published" if hidden else "visible")

    return GradingResult(submission="x", tests=[
        t("q1_relu.forward", False, f"public diagnosis {XSS} `max(x, 0)` `{XSS}`", False, 4),
        t("q1_relu.backward_fd_hidden", False, hidden_message, True, 21),
    ], problems=[f"code cell 3: {XSS}"])


def test_feedback_hides_hidden_diagnoses_and_escapes():
    from autograder.batch.feedback import render_feedback

    page = render_feedback("<b>id</b>", fake_result())
    assert "secret hidden diagnosis" not in page
    assert "public diagnosis" in page and "hidden test" in page
    assert XSS not in page and "<b>id</b>" not in page
    assert "<code>max(x, 0)</code>" in page and "`" not in page     # code spans, still escaped
    assert "<code>&lt;script&gt;" in page
    assert "Total: 0 / 25" in page


def test_gradebook_csv_scale_and_formula_guard():
    from autograder.batch.gradebook import Entry, render_gradebook

    entries = [Entry("s1", "s1.ipynb", "graded", "=HYPERLINK(\"x\")", fake_result()),
               Entry("s2", "s2/", "no_notebook", "no .ipynb file in the folder")]
    entries[0].result.tests[1].passed, entries[0].result.tests[1].score = True, 21
    text = render_gradebook(entries, {"q1_relu": 25}, scale=10)
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["student_id", "q1_relu", "total", "scaled_total", "late_penalty",
                       "adjustments", "final", "status", "message"]
    assert rows[1] == ["s1", "21", "21", "8.4", "", "", "", "graded", "'=HYPERLINK(\"x\")"]
    assert rows[2] == ["s2", "", "", "", "", "", "", "no_notebook",
                       "no .ipynb file in the folder"]
