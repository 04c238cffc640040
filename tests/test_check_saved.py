"""``nndl.notebook.check_saved()``: the student's check, before submitting, that
the saved notebook holds what the kernel ran (the grader grades the file).
Kernels are simulated by executing cells with their source in ``linecache``,
as IPython does; one test runs a real kernel (nbclient)."""

import linecache
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

from nndl.notebook import check_saved
from nndl.notebook.saved import notebook_path, saved_problems

RELU = "class ReLU:\n    def forward(self, x):\n        return x * (x > 0)"
DROPOUT = "class Dropout:\n    def forward(self, x):\n        return x * SCALE"


def save(tmp_path, *sources, name="lab.ipynb", errors=()):
    """A notebook of code cells saved at tmp_path/name; ``errors``: indices of
    cells whose saved output is an error."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i in errors:
        nb.cells[i].outputs = [nbformat.v4.new_output("error", ename="NameError",
                                                      evalue="name 'x' is not defined",
                                                      traceback=[])]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def kernel(*sources):
    """A namespace in which ``sources`` ran as cells, each cell's source in
    linecache under its own file name (as IPython registers cells)."""
    ns = {"__name__": "__main__"}
    for source in sources:
        filename = f"<kernel-cell-{id(ns)}-{len(linecache.cache)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), ns)  # noqa: S102 - the test's own code
    return ns


def test_silent_when_the_file_holds_what_the_kernel_ran(tmp_path, capsys):
    cells = ("SCALE = 2", RELU, DROPOUT)
    path = save(tmp_path, *cells)
    assert saved_problems(path, kernel(*cells)) == []
    check_saved(path, kernel(*cells))
    assert capsys.readouterr().out == ("check_saved: the saved file lab.ipynb holds what this "
                                       "kernel ran for every graded class.\n")
    # layout and comments do not count as an edit
    assert saved_problems(path, kernel("SCALE = 2", RELU.replace("x * (x > 0)", "x*(x>0)  # ok"),
                                       DROPOUT)) == []


def test_an_edit_the_file_does_not_have_names_its_question(tmp_path):
    path = save(tmp_path, "SCALE = 2", RELU, DROPOUT)
    ns = kernel("SCALE = 2", RELU, DROPOUT, RELU.replace("x > 0", "x >= 0"))   # edited, run
    problems = saved_problems(path, ns)
    assert problems == ["q1_relu: class ReLU in the saved file (code cell 2, `class ReLU:`) "
                        "differs from the one this kernel ran: save the notebook if you edited "
                        "and ran that cell, or run the cell again if you edited it afterwards; "
                        "the grader grades the saved file."]


def test_a_class_or_a_name_only_the_kernel_has(tmp_path):
    path = save(tmp_path, RELU, DROPOUT)                     # SCALE's cell never saved
    problems = saved_problems(path, kernel("SCALE = 2", RELU, DROPOUT, "class BatchGD:\n    pass"))
    assert len(problems) == 2
    assert problems[0].startswith("q2_dropout: class Dropout uses `SCALE`, which this kernel "
                                  "has but no plain statement of the saved file defines")
    assert problems[1].startswith("q4_weight_decay: class BatchGD is defined in this kernel, "
                                  "but no `class BatchGD` statement")
    # a name bound by exec in the file is also one the grader sees only on a second try
    path = save(tmp_path, "exec('SCALE = 2')", RELU, DROPOUT, name="exec.ipynb")
    problems = saved_problems(path, kernel("exec('SCALE = 2')", RELU, DROPOUT))
    assert [p.split(",")[0] for p in problems] == ["q2_dropout: class Dropout uses `SCALE`"]


def test_a_failed_cell_and_a_class_the_kernel_never_ran(tmp_path):
    path = save(tmp_path, "SCALE = 2\nprint(x)", RELU, DROPOUT, errors=[0])
    problems = saved_problems(path, kernel(RELU))
    assert problems == [
        "q2_dropout: the saved file defines class Dropout, but this kernel never ran it: run "
        "the notebook from the top, so that its self-check tests what the grader grades.",
        "q2_dropout: code cell 1 (`SCALE = 2`), which Dropout needs, ended with NameError: "
        "name 'x' is not defined when it was last run, so what follows the error in that cell "
        "did not run in this kernel: fix it, run the cell again and save."]


def test_without_the_cells_source_the_kernels_input_history_is_read(tmp_path):
    path = save(tmp_path, RELU)
    edited = RELU.replace("x > 0", "x >= 0")
    ns = {}
    exec(compile(edited, "<not in linecache>", "exec"), ns)  # noqa: S102
    assert saved_problems(path, {**ns, "In": ["", RELU]}) == []
    assert [p.split(" in the saved")[0] for p in
            saved_problems(path, {**ns, "In": ["", RELU, "%time x = 1\n" + edited]})] == [
        "q1_relu: class ReLU"]
    assert saved_problems(path, ns) == []         # nothing to compare with: no guess
    assert saved_problems(path, {"ReLU": 5}) == []     # not a class: nothing to read


def test_the_course_library_offers_it_as_nndl_checks_check_saved():
    import nndl.checks

    assert nndl.checks.check_saved is check_saved


def test_which_notebook_is_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(LookupError, match="pass the notebook's path"):
        notebook_path({})
    first = save(tmp_path, RELU, name="a.ipynb")
    other = save(tmp_path, RELU, name="b.ipynb")
    assert notebook_path({"__vsc_ipynb_file__": str(first)}) == first
    monkeypatch.setenv("JPY_SESSION_NAME", "some/folder/a.ipynb")    # relative to the server
    assert notebook_path({}) == first
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert notebook_path({}) in (first, other)


def solution_kernel():
    """The solution's definitions (not its experiments), run as a kernel runs them."""
    nb = nbformat.read(str(ROOT / "solutions" / "regularization.ipynb"), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and
             c.source.startswith(("import paddle", "class "))]
    return cells, kernel(*cells)


def test_silent_on_the_solution_and_names_q1_for_an_unsaved_relu_edit(capsys):
    path = ROOT / "solutions" / "regularization.ipynb"
    cells, ns = solution_kernel()
    check_saved(path, ns)
    assert capsys.readouterr().out.count("\n") == 1
    relu = next(c for c in cells if c.startswith("class ReLU"))
    edited = relu.replace("inputs > 0", "inputs >= 0")
    assert edited != relu
    check_saved(path, {**ns, **kernel(*cells[:1], edited)})
    out = capsys.readouterr().out
    assert "- q1_relu: class ReLU in the saved file" in out and "differs from the one this " \
        "kernel ran" in out and "q2_dropout" not in out, out


def test_in_a_real_kernel_an_unsaved_edit_is_named(tmp_path):
    """The file on disk holds the ReLU as first written; the kernel runs it, is
    checked (silent), then runs an edited ReLU cell that was never saved."""
    shutil.copytree(ROOT / "nndl", tmp_path / "nndl", ignore=shutil.ignore_patterns("__pycache__"))
    saved = ["SCALE = 2", RELU, DROPOUT]
    save(tmp_path, *saved, name="regularization.ipynb")
    run = nbformat.v4.new_notebook()
    run.cells = [nbformat.v4.new_code_cell(s) for s in saved + [
        "from nndl.notebook import check_saved\ncheck_saved()",
        RELU.replace("x > 0", "x >= 0"), "check_saved()"]]
    NotebookClient(run, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, second = ("".join(o.get("text", "") for o in run.cells[i].outputs) for i in (3, 5))
    assert first == ("check_saved: the saved file regularization.ipynb holds what this kernel "
                     "ran for every graded class.\n")
    assert "- q1_relu: class ReLU in the saved file (code cell 2, `class ReLU:`) differs" \
        in second and "q2_dropout" not in second, second
