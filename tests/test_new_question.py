"""Adding a question without touching the engine (docs/adding-a-question.md):
a copy of the repository gets a fifth question, an l1-penalized loss, from the
fixture in tests/fixtures/q5_l1 -- its public module, its instructor package
and its grading.toml section, nothing else -- and grades notebooks with it:
one notebook, a batch with its gradebook, and the Gradescope zip."""

import csv
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from conftest import (BOOK, ROOT, class_sources, notebook_from, per_question, run_gradescope,
                      unpack, write_notebook)

FIXTURE = ROOT / "tests" / "fixtures" / "q5_l1"
SOLUTION = (FIXTURE / "solution.py").read_text()
WRONG = SOLUTION.replace("paddle.sign(layer.params[\"W\"])", "layer.params[\"W\"]")  # l2 gradient
QUESTIONS = ["q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay", "q5_l1"]


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the grader with the fifth question added as an instructor would."""
    root = tmp_path_factory.mktemp("five") / "repo"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("autograder", "nndl"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy2(ROOT / "grade.py", root / "grade.py")
    before = digests(root)
    shutil.copy2(FIXTURE / "public.py", root / "nndl" / "checks" / "q5_l1.py")
    unit = root / "autograder" / "questions" / "q5_l1"
    unit.mkdir()
    (unit / "__init__.py").write_text('"""Question q5_l1 (an l1-penalized loss)."""\n')
    for name in ("grading.py", "reference.py"):
        shutil.copy2(FIXTURE / name, unit / name)
    with open(root / "autograder" / "grading.toml", "a") as f:
        f.write((FIXTURE / "grading.toml").read_text())
    after = digests(root)
    changed = {rel for rel in before if after[rel] != before[rel]}
    assert changed == {"autograder/grading.toml"}, changed      # no engine file edited
    assert set(after) - set(before) == {"nndl/checks/q5_l1.py", "autograder/questions/q5_l1/"
                                        "__init__.py", "autograder/questions/q5_l1/grading.py",
                                        "autograder/questions/q5_l1/reference.py"}
    return root


def notebooks(tmp):
    classes = class_sources(BOOK)
    right = notebook_from({**classes, "BinaryCrossEntropyWithL1": SOLUTION})
    wrong = notebook_from({**classes, "BinaryCrossEntropyWithL1": WRONG})
    return (write_notebook(right, tmp / "right.ipynb"), write_notebook(wrong, tmp / "wrong.ipynb"))


def test_single_grading_carries_the_new_question(repo, tmp_path):
    import json

    right, wrong = notebooks(tmp_path)
    for notebook, q5 in ((right, 25), (wrong, "short")):
        results = tmp_path / f"{notebook.stem}.json"
        proc = subprocess.run([sys.executable, "grade.py", "grade", str(notebook), "--results",
                               str(results)], cwd=repo, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        scores = per_question(json.loads(results.read_text()))
        assert list(scores) == QUESTIONS
        assert all(scores[q] == 25 for q in QUESTIONS[:4]), proc.stdout
        assert scores["q5_l1"] == 25 if q5 == 25 else scores["q5_l1"] < 25, proc.stdout


def test_batch_gradebook_carries_the_new_question(repo, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    notebooks(subs)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "grade.py", "batch", str(subs), "--out", str(out),
                           "--jobs", "2"], cwd=repo, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
        assert f.seek(0) == 0 and next(csv.reader(f))[:6] == ["student_id", *QUESTIONS]
    assert rows["right"]["total"] == "125" and rows["right"]["q5_l1"] == "25"
    assert float(rows["wrong"]["q5_l1"]) < 25 and rows["wrong"]["q1_relu"] == "25"


def test_gradescope_zip_carries_the_new_question(repo, tmp_path, gradescope_venv):
    zip_path = tmp_path / "autograder.zip"
    proc = subprocess.run([sys.executable, "grade.py", "gradescope", "--out", str(zip_path)],
                          cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
    assert {"nndl/checks/q5_l1.py", "autograder/questions/q5_l1/grading.py",
            "autograder/questions/q5_l1/reference.py"} <= names
    root = Path(tempfile.mkdtemp(prefix="nndl-gs-five-", dir="/tmp"))   # traversable by the
    root.chmod(0o755)                                                    # sandbox user
    try:
        unpack(zip_path, root / "source")
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        (root / "submission").mkdir()
        (root / "results").mkdir()
        right, wrong = notebooks(root / "submission")
        wrong.unlink()
        right.rename(root / "submission" / "regularization.ipynb")
        python, _ = gradescope_venv
        _, data = run_gradescope(root, python)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    scores = per_question(data)
    assert list(scores) == QUESTIONS and scores["q5_l1"] == 25, data["output"]
    assert data["score"] == 125
