import json

import jsonschema
import pytest

from autograder.config import ConfigError, load_config
from autograder.checks import all_checks
from autograder.results import GradingResult, TestResult, validate, write_json_atomic, write_results
from nndl.checks import QUESTIONS


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


def test_default_config_covers_every_check_and_sums_to_100(config):
    checks = all_checks(config)
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
    text = text.replace('[checks."q1_relu.forward"]\npoints = 4', '[checks."q1_relu.forward"]\npoints = 9')
    path = tmp_path / "g.toml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.hidden_visibility == "hidden" and cfg.checks["q1_relu.forward"].points == 9
    path.write_text(text.replace('hidden_visibility = "hidden"', 'hidden_visibility = "sometimes"'))
    with pytest.raises(ConfigError):
        load_config(path)
