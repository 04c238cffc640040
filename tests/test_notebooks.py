"""The assignment's notebooks: regenerated from the master, executable, and
what students receive holds no working graded method and no hidden check."""

import ast
import filecmp
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

from autograder import build as build_notebooks  # noqa: E402

GRADED = {"ReLU": ("forward", "backward"), "Dropout": ("forward", "backward"),
          "BinaryCrossEntropyWithLogits": ("forward", "backward"),
          "BatchGD": ("gradient_descent", "step")}


def tree_files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built")
    build_notebooks.build(out)
    return out


@pytest.mark.parametrize("folder", ["student_template", "solutions"])
def test_committed_notebooks_match_the_master(built, folder):
    fresh, committed = built / folder, ROOT / folder
    generated = tree_files(fresh)
    assert generated, "the build produced nothing"
    for rel in generated:
        assert (committed / rel).exists(), f"{folder}/{rel} is not committed"
        assert filecmp.cmp(fresh / rel, committed / rel, shallow=False), \
            f"{folder}/{rel} differs from the master: run python scripts/build_notebooks.py"


def test_student_library_is_the_marked_copy_of_nndl():
    """Without otter: student_template/nndl is nndl/, byte for byte, plus its marker."""
    shipped = ROOT / "student_template" / "nndl"
    assert (shipped / build_notebooks.GENERATED).read_text() == build_notebooks.GENERATED_TEXT
    files = build_notebooks.library_files(ROOT / "nndl")
    present = {p.relative_to(shipped) for p in shipped.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert present == set(files) | {__import__("pathlib").Path(build_notebooks.GENERATED)}
    for rel in files:
        assert (shipped / rel).read_bytes() == (ROOT / "nndl" / rel).read_bytes(), \
            f"student_template/nndl/{rel} differs from nndl/{rel}: run python grade.py build"


def test_solution_notebook_is_clean():
    """Teaching assistants read it: no otter prompt strings or BEGIN/END comments."""
    nb = nbformat.read(str(ROOT / "solutions" / "regularization.ipynb"), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for markup in ("BEGIN PROMPT", "END PROMPT", "# BEGIN SOLUTION", "# END SOLUTION",
                   "raise NotImplementedError"):
        assert markup not in code, markup
    classes = {n.name for n in ast.parse(code).body if isinstance(n, ast.ClassDef)}
    assert set(GRADED) <= classes


def run_notebook(src, workdir, num_iters=None):
    """Execute a copy of ``src`` in ``workdir`` (with nndl and tests next to it)."""
    nb = nbformat.read(str(src), as_version=4)
    if num_iters is not None:
        for cell in nb.cells:
            if cell.cell_type == "code" and "NUM_ITERS = 50000" in cell.source:
                cell.source = cell.source.replace("NUM_ITERS = 50000", f"NUM_ITERS = {num_iters}")
                break
        else:
            raise AssertionError("no NUM_ITERS cell")
    shutil.copytree(ROOT / "nndl", workdir / "nndl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(src.parent / "tests", workdir / "tests")
    nbformat.write(nb, str(workdir / src.name))   # otter.Notebook() looks for it
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def outputs(cells):
    texts = []
    for cell in cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + "".join(out.get("traceback", []))
                         + str(out.get("data", {}).get("text/plain", "")))
    return texts


def errors(nb):
    return [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_solution_notebook_executes_top_to_bottom(tmp_path):
    nb = run_notebook(ROOT / "solutions" / "regularization.ipynb", tmp_path, num_iters=300)
    assert not errors(nb), errors(nb)[:1]
    text = "\n".join(outputs(nb.cells))
    for name in ("baseline", "weight decay", "dropout"):
        assert name in text
    assert "check_saved: the saved file regularization.ipynb holds what this kernel ran" in text
    assert sorted(p.name for p in tmp_path.glob("boundary_*.png")) == [
        "boundary_baseline.png", "boundary_dropout.png", "boundary_l2.png",
        "boundary_weight_decay.png"]


def test_student_template_self_checks_say_not_implemented(tmp_path):
    nb = run_notebook(ROOT / "student_template" / "regularization.ipynb", tmp_path, num_iters=5)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert len(checks) == 4
    for cell in checks:
        text = "\n".join(outputs([cell]))
        assert "not implemented" in text, (cell.source, text[:500])
        assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source


def test_template_has_no_working_graded_method():
    nb = nbformat.read(str(ROOT / "student_template" / "regularization.ipynb"), as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    classes = {n.name: n for n in ast.parse(source.replace("%", "#")).body
               if isinstance(n, ast.ClassDef)}
    for cls, methods in GRADED.items():
        for fn in classes[cls].body:
            if isinstance(fn, ast.FunctionDef) and fn.name in methods:
                last = fn.body[-1]
                assert isinstance(last, ast.Raise), f"{cls}.{fn.name} is not a stub"
                assert not any(isinstance(n, ast.Return) for n in ast.walk(fn)), \
                    f"{cls}.{fn.name} returns something"


def test_students_get_no_grader_and_no_graded_class():
    shipped = ROOT / "student_template"
    assert not (shipped / "autograder").exists()
    names = set()
    for path in list(shipped.rglob("*.py")) + list((ROOT / "nndl").rglob("*.py")):
        text = path.read_text()
        assert "autograder" not in text.replace("autograder (", ""), path
        names |= {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ClassDef)}
    assert not names & set(GRADED), names & set(GRADED)
    tests = sorted(p.name for p in (shipped / "tests").glob("*.py"))
    assert tests == ["q1_relu.py", "q2_dropout.py", "q3_l2.py", "q4_weight_decay.py"]
    for path in (shipped / "tests").glob("*.py"):
        assert "hidden=True" not in path.read_text()


def test_grader_gives_solution_full_marks_and_template_zero(config):
    from autograder.engine import grade_notebook

    solution = grade_notebook(ROOT / "solutions" / "regularization.ipynb", config)
    assert solution.score == 100, solution.to_text()
    assert solution.problems == [], solution.problems   # no noise from experiment cells
    template = grade_notebook(ROOT / "student_template" / "regularization.ipynb", config)
    assert template.score == 0
    for t in template.tests:
        assert "not implemented" in t.message, (t.name, t.message)
