"""The command line (subcommands, usage errors) and the lab's consistency
checks (every check has points, every points entry a check, a typed config
that names what it does not know)."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT


def run(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_help_lists_every_subcommand():
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("grade", "batch", "gradescope", "selftest", "calibrate", "build", "config"):
        assert command in proc.stdout, command


@pytest.mark.parametrize("args, message", [
    (["missing.ipynb"], "does not exist"),
    (["grade", "missing.ipynb"], "does not exist"),
    (["-q", "missing.ipynb"], "does not exist"),           # shorthands with options first
    (["--jobs", "0", "examples/submissions", "--out", "o"], "not positive"),
    (["grade", "README.md", "--out", "README.md"], "is a file, not a folder"),
    (["gradescope", "--out", "README.md"], "is a file, not a folder"),
    (["gradescope", "--out", "README.md/a.zip"], "README.md is a file, not a folder"),
    (["batch", "missing_dir", "--out", "o"], "does not exist"),
    (["batch", "README.md", "--out", "o"], "is not a folder"),
    (["batch", "examples/submissions"], "--out"),
    (["batch", "examples/submissions", "--out", "o", "--jobs", "0"], "not positive"),
    (["batch", "examples/submissions", "--out", "README.md"], "is a file, not a folder"),
    (["grade", "README.md", "--results", "examples"], "examples is a folder: name the file"),
    (["grade", "README.md", "--results", "README.md/r.json"], "README.md is a file"),
])
def test_an_instructors_mistake_is_a_usage_error_without_results(tmp_path, args, message):
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "examples" / "submissions").mkdir(parents=True)
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "o").exists()
    assert not (tmp_path / "results").exists() and not (tmp_path / "dist").exists()


def test_a_students_bad_file_still_grades_to_zero(tmp_path):
    bad = tmp_path / "sub.ipynb"
    bad.write_text("{oops")
    proc = run("grade", bad, "--results", tmp_path / "r.json")
    assert proc.returncode == 0 and (tmp_path / "r.json").exists()


def test_config_lists_every_setting_with_its_meaning(tmp_path):
    proc = run("config")
    assert proc.returncode == 0
    for text in ("[lab]", "notebook = 'regularization.ipynb'", "[run]", "statement_time_limit",
                 "[accuracy]", "iterations = 1000:", "[questions.q1_relu]", "100 points in all"):
        assert text in proc.stdout, text
    changed = edited(tmp_path, "iterations = 1000", "iterations = 2000")
    proc = run("config", "--config", changed)
    assert proc.returncode == 0 and "iterations = 2000 (default 1000)" in proc.stdout
    proc = run("config", "--config", edited(tmp_path, "iterations = 1000", "iterations = 0"))
    assert proc.returncode == 2 and "out of range" in proc.stderr


# -- the config --------------------------------------------------------------------------

def edited(tmp_path, old, new):
    text = (ROOT / "autograder" / "grading.toml").read_text()
    assert old in text, old
    path = tmp_path / "g.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, message", [
    ("question_time_limit = 60", "question_timelimit = 60", "unknown key 'question_timelimit'"),
    ("[seeds]", "[seed]", "unknown section [seed]"),
    ("iterations = ", "iterations = 'many' #", "iterations must be of type int"),
    ("device = \"auto\"", "device = \"tpu\"", "is not one of"),
    ("forward = 4", "forward = -4", "must not be negative"),
    ("train_threshold = 0.75", "train_threshold = 7.5", "train_threshold = 7.5 is out of range"),
    ("total_time_limit = 420", "total_time_limit = -5", "total_time_limit = -5 is out of range"),
    ("iterations = 1000", "iterations = 0", "iterations = 0 is out of range"),
    ("memory_limit_mb = 2048", "memory_limit_mb = 0", "memory_limit_mb = 0 is out of range"),
    ("checks = 2026", "checks = -1", "checks = -1 is out of range"),
])
def test_a_config_mistake_is_named_with_its_file(tmp_path, old, new, message):
    from autograder.config import ConfigError, load_config

    path = edited(tmp_path, old, new)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert message in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("old, new, message", [
    ("backward_fd_hidden = 5", "", "check q1_relu.backward_fd_hidden has no points"),
    ("forward = 4", "forward = 4\nforwards = 1", "gives points to q1_relu.forwards, which is "
                                                "no check"),
    ("[questions.q4_weight_decay]", "[questions.q9_new]\nx = 1\n[questions.q4_weight_decay]",
     "q9_new.x, which is no check"),
    ("backward_fd = 10", "backwrd_fd = 10", "q1_relu.backwrd_fd, which is no check of the lab "
                                            "(checks of q1_relu: accuracy, backward_fd,"),
])
def test_a_check_without_points_or_points_without_a_check_is_named(tmp_path, old, new, message):
    from autograder.config import load_config
    from autograder.lab import LabError, load_lab

    path = edited(tmp_path, old, new)
    with pytest.raises(LabError, match=re.escape(message)):
        load_lab(load_config(path))
    proc = run("grade", ROOT / "solutions" / "regularization.ipynb", "--config", path,
               "--results", tmp_path / "r.json")
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_the_lab_is_derived_from_its_units(lab):
    assert lab.ids == ["q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay"]
    assert lab.graded_classes == ["ReLU", "Dropout", "BinaryCrossEntropyWithLogits", "BatchGD"]
    refs = lab.references_for("q2_dropout")
    assert set(refs) == {"activation", "loss", "optimizer"}       # never its own slot
    assert all(not r.startswith("autograder.questions.q2_dropout") for r in refs.values())
    spec = lab.sandbox_spec("/root")
    assert "autograder.questions.q3_l2.probes" in spec["probe_modules"]
    assert not [m for m in spec["preload"] + spec["probe_modules"] if m.endswith("reference")]


def test_selftest_passes_on_this_machine():
    """What a GPU grader runs after installing (here on the CPU): every verdict of the
    bundled examples as recorded, with the time per notebook."""
    proc = run("selftest", "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "selftest ok" in proc.stdout and " s  ok" in proc.stdout


def test_selftest_names_changed_and_unrecorded_verdicts(tmp_path, monkeypatch, capsys):
    """A verdict that differs is a MISMATCH; a check with no recorded verdict (a new
    question) fails too, telling the instructor to record them."""
    import json

    from autograder.commands import selftest

    expected = json.loads(selftest.EXPECTED.read_text())
    expected["bob"]["q1_relu.forward"] = not expected["bob"]["q1_relu.forward"]
    del expected["alice"]["q4_weight_decay.step"]
    changed = tmp_path / "expected.json"
    changed.write_text(json.dumps(expected))
    monkeypatch.setattr(selftest, "EXPECTED", changed)
    assert selftest.main(device="cpu") == 1
    out, err = capsys.readouterr()
    assert "bob: q1_relu.forward" in err and "MISMATCH" in out
    assert "alice: q4" not in err
    monkeypatch.setattr(selftest, "EXPECTED", tmp_path / "one.json")
    (tmp_path / "one.json").write_text(json.dumps({"alice": expected["alice"]}))
    assert selftest.main(device="cpu", quiet=True) == 1
    out, err = capsys.readouterr()
    assert "no expected verdicts for" in err and "q4_weight_decay.step" in err
    assert "selftest --record" in err


@pytest.mark.parametrize("case", ["missing notebook", "bad config key", "missing folder"])
def test_an_instructors_mistake_exits_2_without_results_or_traceback(tmp_path, case):
    """An instructor's mistake: a short message, exit 2 (ExitCode.USAGE), no results
    file written anywhere, no traceback on the terminal."""
    config = (ROOT / "autograder" / "grading.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(config.replace("[run]\n", "[run]\nno_such_setting = 1\n", 1), encoding="utf-8")
    notebook = ROOT / "examples" / "submissions" / "alice.ipynb"
    args = {"missing notebook": ["grade", tmp_path / "nowhere.ipynb"],
            "bad config key": ["grade", notebook, "--config", bad, "--out", tmp_path / "out"],
            "missing folder": ["batch", tmp_path / "no_class", "--out", tmp_path / "out"]}[case]
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
    assert not list(tmp_path.rglob("results*.json"))
    if case == "bad config key":
        assert "no_such_setting" in proc.stderr


def test_grade_loads_the_lab_once(tmp_path, monkeypatch):
    """One grading, one load_lab: the command's check of the config and the
    engine's grading share the lab (dave's file is not a notebook: no sandbox)."""
    from autograder import engine, lab
    from autograder.commands import grade

    calls = []

    def counted(cfg):
        calls.append(cfg.source)
        return lab.load_lab(cfg)

    monkeypatch.setattr(grade, "load_lab", counted)
    monkeypatch.setattr(engine, "load_lab", counted)
    code = grade.main(str(ROOT / "examples" / "submissions" / "dave.ipynb"), out=str(tmp_path),
                      quiet=True)
    assert code == 0 and (tmp_path / "dave" / "results.json").is_file()
    assert len(calls) == 1


def test_a_grader_fault_prints_one_line_and_its_traceback_goes_to_the_staff_log(
        tmp_path, monkeypatch, capsys):
    """A bug of the grader (here the engine raising) gives the "Autograder failed"
    results file and exit 2; the terminal gets one line naming the staff sidecar,
    which holds the traceback."""
    import json

    from autograder import grading
    from autograder.commands import grade

    def broken(notebook, cfg, **kwargs):
        raise RuntimeError("the engine broke\non two lines")

    monkeypatch.setattr(grading, "grade_notebook", broken)
    results = tmp_path / "results.json"
    code = grade.main(str(ROOT / "examples" / "submissions" / "alice.ipynb"),
                      results=str(results), quiet=True)
    err = capsys.readouterr().err
    staff = tmp_path / "results.staff.json"
    assert code == 2 and "Traceback" not in err
    line = [x for x in err.splitlines() if x.startswith("grader error:")]
    assert line == [f"grader error: RuntimeError: the engine broke on two lines "
                    f"(details in {staff})"]
    logged = json.loads(staff.read_text(encoding="utf-8"))["grader_error"]
    assert logged.startswith("Traceback") and "the engine broke" in logged
    assert json.loads(results.read_text(encoding="utf-8"))["score"] == 0
