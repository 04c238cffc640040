import json
import os

import jsonschema
import pytest

from autograder.config import ConfigError, load_config
from autograder.results import GradingResult, TestResult, validate, write_json_atomic, write_results


def make_result(hidden_message="secret diagnosis"):
    r = GradingResult(submission="s.ipynb", execution_time=1.5)
    r.tests = [
        TestResult("q1_relu.backward_fd", "q1_relu", "title", 10, 0, False,
                   "backward ignores the upstream gradient", False, "visible"),
        TestResult("q1_relu.accuracy", "q1_relu", "learns", 6, 0, False, hidden_message, True,
                   "after_published"),
        TestResult("q2_dropout.forward_stats", "q2_dropout", "stats", 7, 7, True, "ok", False,
                   "visible"),
    ]
    return r


def test_results_follow_gradescope_schema_and_hide_hidden_diagnoses(tmp_path):
    path = tmp_path / "results.json"
    data = write_results(make_result(), path)
    assert json.loads(path.read_text()) == data
    validate(data)
    assert data["score"] == 7
    hidden = data["tests"][1]
    assert hidden["visibility"] == "after_published"
    assert "secret" not in json.dumps(data)
    assert "failed (hidden test)" in hidden["output"]
    assert "ignores the upstream gradient" in data["tests"][0]["output"]
    assert "q1_relu: 0 / 16" in data["output"]
    staff = json.loads((tmp_path / "results.staff.json").read_text())
    assert "secret diagnosis" in json.dumps(staff)


def test_gradescope_output_is_markdown_numbered_and_tagged(tmp_path):
    r = make_result()
    r.tests[0].message = "the l2 gradient is N = 12 times too large: add `lambda * W / N`"
    r.tests.append(TestResult("q2_dropout.backward_mask", "q2_dropout", "`Dropout.backward`", 8,
                              0, False, "Dropout.forward raised ValueError: a*b_c [x](y) <b>",
                              False, "visible", plain=True))
    r.problems = ["code cell 3, `x = 1`: raised *oops*"]
    data = write_results(r, tmp_path / "results.json")
    validate(data)
    assert data["output_format"] == "md" and data["output"].startswith("**Total: 7 / 31**")
    assert [t["number"] for t in data["tests"]] == ["1.1", "1.2", "2.1", "2.2"]
    assert [t["tags"] for t in data["tests"]] == [["q1_relu"], ["q1_relu"], ["q2_dropout"],
                                                  ["q2_dropout"]]
    first, student = data["tests"][0], data["tests"][3]
    assert first["output_format"] == "md" and "add `lambda * W / N`" in first["output"]
    assert student["output_format"] == "text"          # quotes student code: no Markdown
    assert "a*b_c [x](y) <b>" in student["output"]
    assert "raised \\*oops\\*" in data["output"]            # notes are escaped
    assert all(t["name_format"] == "text" for t in data["tests"])


def test_schema_rejects_malformed_results():
    with pytest.raises(jsonschema.ValidationError):
        validate({"score": -1, "tests": []})
    with pytest.raises(jsonschema.ValidationError):
        validate({"score": 1, "tests": [{"name": "x", "score": 1}]})


def test_long_messages_are_clipped_and_results_stay_small(tmp_path):
    data = write_results(make_result(), tmp_path / "r.json")
    r = make_result()
    r.tests[0].message = "x" * 5_000_000
    r.problems = ["y" * 100_000] * 1000
    data = write_results(r, tmp_path / "r.json")
    assert (tmp_path / "r.json").stat().st_size < 1_000_000
    assert len(data["tests"][0]["output"]) < 3000


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"a": "z" * 100}, limit=10)
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_default_config_covers_every_check_and_sums_to_100(config, lab):
    checks = lab.checks()
    QUESTIONS = lab.ids
    assert {c.name for c in checks} == set(config.checks)
    assert config.max_score == 100
    for c in checks:
        assert c.name.startswith(c.question + ".")
        assert c.question in QUESTIONS
    per_question = {q: sum(config.checks[c.name].points for c in checks if c.question == q)
                    for q in QUESTIONS}
    assert per_question == {q: 25 for q in QUESTIONS}


def test_config_is_editable_without_code(tmp_path):
    from autograder.config import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text().replace('hidden_visibility = "after_published"',
                                             'hidden_visibility = "hidden"')
    text = text.replace('[questions.q1_relu]\nforward = 4', '[questions.q1_relu]\nforward = 9')
    path = tmp_path / "g.toml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.run.hidden_visibility == "hidden" and cfg.checks["q1_relu.forward"].points == 9
    path.write_text(text.replace('hidden_visibility = "hidden"', 'hidden_visibility = "sometimes"'))
    with pytest.raises(ConfigError):
        load_config(path)


# -- text that UTF-8 cannot encode ---------------------------------------------------

LONE = "bad \ud800 value"                     # e.g. an exception message of student code
NOT_UTF8_NAME = os.fsdecode(b"caf\xe9.ipynb")   # a file name with a latin-1 byte: 'caf\udce9'


def test_lone_surrogates_are_escaped_and_results_stay_valid(tmp_path):
    from autograder.results import clean, clean_text

    assert clean_text(LONE) == "bad \\ud800 value"
    assert clean_text(NOT_UTF8_NAME) == "caf\\xe9.ipynb"
    assert clean_text("déjà vu ✓") == "déjà vu ✓"          # valid text is left alone
    r = make_result()
    r.submission = str(tmp_path / NOT_UTF8_NAME)
    r.tests[0].message = f"ReLU.forward raised ValueError: {LONE}"
    r.tests[1].message = f"hidden {LONE}"
    r.problems = [f"code cell 2: RuntimeError: {LONE}", "\udcff"]
    r.staff = {"questions": {"q1_relu": {"log": f"printed {LONE}", "key \ud83d": [LONE]}}}
    path = tmp_path / "results.json"
    write_results(r, path)
    raw = path.read_bytes()
    data = json.loads(raw.decode("utf-8"))                     # strict UTF-8
    validate(data)
    assert "bad \\ud800 value" in data["tests"][0]["output"]
    assert "bad \\ud800 value" in data["output"]
    staff_raw = (tmp_path / "results.staff.json").read_bytes()
    staff = json.loads(staff_raw.decode("utf-8"))
    assert staff["submission"].endswith("caf\\xe9.ipynb")
    assert staff["problems"] == ["code cell 2: RuntimeError: bad \\ud800 value", "\\xff"]
    assert staff["questions"]["q1_relu"] == {"log": "printed bad \\ud800 value",
                                             "key \\ud83d": ["bad \\ud800 value"]}
    assert clean(staff) == staff                                # no surrogate left


def test_text_writer_escapes_lone_surrogates(tmp_path):
    from autograder.results import write_text_atomic

    write_text_atomic(tmp_path / "g.csv", f"id,message\n{NOT_UTF8_NAME},{LONE}\n")
    assert (tmp_path / "g.csv").read_bytes().decode("utf-8") == \
        "id,message\ncaf\\xe9.ipynb,bad \\ud800 value\n"


def test_grading_a_notebook_raising_a_lone_surrogate_writes_results(tmp_path):
    """End to end: grade.py on a notebook with a non-UTF-8 file name whose ReLU.forward
    raises a message with a lone surrogate, and a class body raising another (a load
    problem). Only the ReLU class, so only one question runs (~3 s)."""
    import subprocess
    import sys

    from conftest import BOOK, ROOT, class_sources, notebook_from, write_notebook

    relu = class_sources(BOOK)["ReLU"].replace(
        "        self.inputs = inputs\n",
        "        self.inputs = inputs\n        raise ValueError('bad \\ud800 value')\n"
        "    def helper(self):\n        return Loud\n")   # Loud is in ReLU's slice
    assert "raise ValueError" in relu
    nb = notebook_from({"ReLU": relu, "Loud": "class Loud:\n    raise RuntimeError('x \\udce9')"})
    path = write_notebook(nb, tmp_path / NOT_UTF8_NAME)
    results = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), str(path),
                           "--results", str(results)],
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    data = json.loads(results.read_bytes().decode("utf-8"))
    validate(data)
    relu_outputs = " | ".join(t["output"] for t in data["tests"] if t["name"].startswith("q1"))
    assert "ValueError: bad \\ud800 value" in relu_outputs
    assert "x \\xe9" in data["output"]                         # the load problem
    staff = json.loads((tmp_path / "results.staff.json").read_bytes().decode("utf-8"))
    assert staff["submission"].endswith("caf\\xe9.ipynb")
    assert "bad \\ud800 value" in proc.stdout.decode("utf-8")


def test_grade_one_falls_back_to_a_failed_result_when_writing_fails(tmp_path, monkeypatch,
                                                                    capsys, config):
    """Whatever goes wrong while writing, grade.py leaves a results.json and exits 2."""
    from autograder import grading as grade_module
    from autograder import results as results_module
    from autograder.results import GradingResult

    real = results_module.write_results
    calls = []

    def flaky(result, path):
        calls.append(result.grader_error)
        if len(calls) == 1:
            raise OSError("disk trouble")
        return real(result, path)

    monkeypatch.setattr(grade_module, "grade_notebook",
                        lambda *a, **k: GradingResult(submission="x"))
    monkeypatch.setattr(grade_module, "write_results", flaky)
    results = tmp_path / "results.json"
    _, code = grade_module.grade_and_write(str(tmp_path / "x.ipynb"), results, config)
    assert code == 2
    data = json.loads(results.read_text())
    validate(data)
    assert data["score"] == 0 and "Autograder failed" in data["output"]
    assert calls[0] is None and "disk trouble" in calls[1]
    assert "disk trouble" in capsys.readouterr().err
