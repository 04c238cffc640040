"""A question of a new kind without touching the engine (docs/adding-a-question.md):
q6_momentum's class, SGD with momentum, is an optimizer the book's model is not
built with (``Momentum(init_lr, model, momentum)``), so the question declares its
own reference training (tests/fixtures/q6_momentum/training.py: the model from
the reference parts, the student's optimizer, ``momentum`` as a hyper-parameter).
A copy of the repository gets the question's files -- its public module, its
instructor package with the training, its grading.toml section, nothing else --
and grades notebooks with it end to end."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import BOOK, ROOT, class_sources, notebook_from, per_question, write_notebook
from test_new_question import digests

FIXTURE = ROOT / "tests" / "fixtures" / "q6_momentum"
SOLUTION = (FIXTURE / "solution.py").read_text()
# plain gradient descent: the velocity is only this step's gradient
WRONG = SOLUTION.replace("self.momentum * self.velocity.get((i, key), 0.0) + ", "")
QUESTIONS = ["q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay", "q6_momentum"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the grader with the new question added as an instructor would."""
    root = tmp_path_factory.mktemp("six") / "repo"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("autograder", "nndl"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy2(ROOT / "grade.py", root / "grade.py")
    before = digests(root)
    shutil.copy2(FIXTURE / "public.py", root / "nndl" / "checks" / "q6_momentum.py")
    unit = root / "autograder" / "questions" / "q6_momentum"
    unit.mkdir()
    (unit / "__init__.py").write_text('"""Question q6_momentum (SGD with momentum)."""\n')
    for name in ("grading.py", "reference.py", "training.py"):
        shutil.copy2(FIXTURE / name, unit / name)
    with open(root / "autograder" / "grading.toml", "a") as f:
        f.write((FIXTURE / "grading.toml").read_text())
    after = digests(root)
    changed = {rel for rel in before if after[rel] != before[rel]}
    assert changed == {"autograder/grading.toml"}, changed      # no engine file edited
    assert set(after) - set(before) == {
        "nndl/checks/q6_momentum.py", "autograder/questions/q6_momentum/__init__.py",
        "autograder/questions/q6_momentum/grading.py",
        "autograder/questions/q6_momentum/reference.py",
        "autograder/questions/q6_momentum/training.py"}
    return root


def test_a_new_optimizer_is_graded_end_to_end(repo, tmp_path):
    """The solution gets every point of q6 (its accuracy run trains the MLP with
    the student's Momentum, by the question's own training); plain gradient
    descent loses the step checks, named; the other questions are untouched."""
    classes = class_sources(BOOK)
    for name, source, full in (("right", SOLUTION, True), ("wrong", WRONG, False)):
        notebook = write_notebook(notebook_from({**classes, "Momentum": source}),
                                  tmp_path / f"{name}.ipynb")
        results = tmp_path / f"{name}.json"
        proc = subprocess.run([sys.executable, "grade.py", "grade", str(notebook), "--results",
                               str(results)], cwd=repo, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        data = json.loads(results.read_text())
        scores = per_question(data)
        assert list(scores) == QUESTIONS
        assert all(scores[q] == 25 for q in QUESTIONS[:4]), proc.stdout
        tests = {t["name"]: t for t in data["tests"] if "q6_momentum" in t["name"]}
        accuracy = next(t for name, t in tests.items() if "accuracy" in name)
        assert accuracy["score"] == accuracy["max_score"], accuracy     # it learns either way
        if full:
            assert scores["q6_momentum"] == 25, proc.stdout
        else:
            assert scores["q6_momentum"] == 8, proc.stdout
            assert "plain gradient descent" in proc.stdout
