"""Names a notebook binds at run time (``exec``, ``globals()[...]``, a decorator
or a class factory that writes the module's namespace): the slice of a
question that meets such a name undefined is widened with the statements that
may bind it (``autograder.notebook.runtime``), and the question graded again.
The slicing is tested as functions; a few notebooks are graded end to end."""

import nbformat
import pytest

from conftest import BOOK, class_sources, notebook_from, per_question, write_notebook

from autograder.notebook import (parse, runtime_binders, runtime_note, slice_for,
                                 with_runtime_bindings)

GRADED = ("ReLU", "Dropout", "BinaryCrossEntropyWithLogits", "BatchGD")
GRADER = ("autograder", "nndl.checks")
USES_K = "class ReLU:\n    def forward(self, x):\n        return x * K"


def program_of(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return parse(nb, GRADER)


def widened(target, missing, *sources):
    """(first lines of the static slice, of the widened one or None, of the binders)."""
    program = program_of(*sources)
    sl = slice_for(program, target, GRADED)
    wide = with_runtime_bindings(program, sl, missing, GRADED)
    lines = [st.first_line for st in sl.statements]
    if wide is None:
        return lines, None, None
    return lines, [st.first_line for st in wide.statements], [st.first_line for st in wide.runtime]


def test_an_exec_constant_comes_with_what_its_code_reads():
    static, wide, binders = widened(
        "ReLU", {"K"}, "import numpy as np\nimport paddle\nSCALE = 2",
        "exec('K = np.float32(SCALE)')", USES_K, "results = train(1000)")
    assert static == ["class ReLU:"]
    assert wide == ["import numpy as np", "SCALE = 2", "exec('K = np.float32(SCALE)')",
                    "class ReLU:"]
    assert binders == ["exec('K = np.float32(SCALE)')"]


@pytest.mark.parametrize("cell, binder", [
    ("globals()['K'] = 3", "globals()['K'] = 3"),
    ("globals().update(K=3)", "globals().update(K=3)"),
    ("globals().setdefault('K', 3)", "globals().setdefault('K', 3)"),
    ("vars()['K'] = 3", "vars()['K'] = 3"),
    ("locals().__setitem__('K', 3)", "locals().__setitem__('K', 3)"),
    ("import sys\nsetattr(sys.modules[__name__], 'K', 3)",
     "setattr(sys.modules[__name__], 'K', 3)"),
    ("import sys\nsys.modules[__name__].K = 3", "sys.modules[__name__].K = 3"),
    ("eval(compile('K = 3', 'k', 'exec'))", "eval(compile('K = 3', 'k', 'exec'))"),
    ("for name in ['K']:\n    globals()[name] = 3", "for name in ['K']:"),
    ("def setup():\n    global K\n    K = 3\nsetup()", "setup()"),
])
def test_writes_to_the_modules_namespace_are_binders(cell, binder):
    static, wide, binders = widened("ReLU", {"K"}, USES_K, cell)
    assert static == ["class ReLU:"] and binders == [binder]
    assert wide[-1] == binder and "class ReLU:" in wide   # after the class: run all the same


def test_a_decorator_or_a_factory_that_binds_the_graded_class_itself():
    register = ("def register(cls):\n    globals()[cls.__name__.lstrip('_')] = cls\n"
                "    return cls")
    _, wide, binders = widened("ReLU", {"ReLU"}, "import paddle", register,
                               "@register\nclass _ReLU:\n    pass",
                               "@register\nclass _Dropout:\n    pass")
    assert binders == ["@register"] and wide == ["def register(cls):", "@register"]
    # through two functions of the notebook, and with `global`
    _, wide, binders = widened(
        "Dropout", {"Dropout"},
        "def _make(name):\n    return type(name, (), {'forward': lambda self, x: x * RATE})",
        "def make_all():\n    global RATE\n    RATE = 0.5\n    for n in ['Dropout']:\n"
        "        globals()[n] = _make(n)", "make_all()")
    assert binders == ["make_all()"]
    assert wide == ["def _make(name):", "def make_all():", "make_all()"]


def test_the_slicers_exclusions_hold_for_binders():
    _, wide, binders = widened(
        "ReLU", {"K"}, "import numpy as np\nimport nndl.op as op", USES_K,
        "exec('K = 1')",
        "exec('class Dropout:\\n    pass')",          # binds another graded class
        "globals()['Dropout'] = None",                 # names one
        "exec('np.allclose = len')",                   # patches a library
        "op.Linear.backward = None\nexec('L = 1')",     # the patch stays out; the exec is apart
        "opt = BatchGD(0.1)\nexec('M = opt')",          # an experiment (reads a graded class)
        "import builtins\nbuiltins.K = 2")              # a write to builtins is a patch
    assert binders == ["exec('K = 1')", "exec('L = 1')", "exec('M = opt')"]
    assert "opt = BatchGD(0.1)" in wide and "op.Linear.backward = None" not in wide
    assert not any("Dropout" in line or "np.allclose" in line for line in wide)


def test_nothing_is_added_when_the_name_has_a_static_binder_or_nothing_binds_at_run_time():
    # a plain binder: the NameError is the notebook's (defined too late, in a failed cell...)
    assert widened("ReLU", {"K"}, USES_K, "K = 1", "exec('x = 1')")[1] is None
    assert widened("ReLU", {"Dropout"}, USES_K, "exec('x = 1')")[1] is None   # a graded class
    assert widened("ReLU", {"K"}, USES_K, "print(K)")[1] is None              # no binder at all
    assert widened("ReLU", {"K"}, "import paddle\nmodel.eval()", USES_K)[1] is None
    # a missing graded class: only binders that name it (a class is bound under a name
    # written somewhere), so a notebook without ReLU is not run for an unrelated exec
    assert widened("ReLU", {"ReLU"}, "exec('x = 1')", "globals()['K'] = 2")[1] is None
    assert widened("ReLU", {"ReLU"}, "exec('class ReLU:\\n    pass')")[2] == [
        "exec('class ReLU:\\n    pass')"]
    program = program_of(USES_K, "exec('K = 1')")
    assert [st.first_line for st in runtime_binders(program, "ReLU", GRADED)] == ["exec('K = 1')"]


def test_the_students_note_quotes_a_few_binders_and_says_what_to_do():
    program = program_of(USES_K, *[f"exec('A{i} = 1')" for i in range(5)])
    note = runtime_note("q1_relu", ["K"], runtime_binders(program, "ReLU", GRADED))
    assert note == ("q1_relu was graded with the statements that bind names at run time "
                    "(code cell 2, `exec('A0 = 1')`; code cell 3, `exec('A1 = 1')`; code cell 4, "
                    "`exec('A2 = 1')`; and 2 more), because no plain statement of the notebook "
                    "defines `K`: define `K` with a plain assignment, def or class at the top "
                    "level of a code cell so that the grader sees it.")


# -- end to end: a few notebooks, one sandbox ------------------------------------------
RIGHT = class_sources(BOOK)
RELU_EPS = RIGHT["ReLU"].replace("> 0", "> EPS")
WRONG_BACKWARD = RELU_EPS.replace(
    "return paddle.multiply(outputs_grads, paddle.to_tensor(self.inputs > EPS, dtype='float32'))",
    "return outputs_grads * EPS")
FULL = {"q1_relu": 25, "q2_dropout": 25, "q3_l2": 25, "q4_weight_decay": 25}


@pytest.fixture(scope="module")
def grade(config, tmp_path_factory):
    from autograder.engine import grade_notebook, open_sandbox

    folder = tmp_path_factory.mktemp("runtime")
    with open_sandbox(config) as box:
        def grade_cells(name, classes, before=(), after=()):
            nb = notebook_from(classes, extra_cells=after)
            nb.cells[2:2] = [nbformat.v4.new_code_cell(c) for c in before]
            return grade_notebook(write_notebook(nb, folder / f"{name}.ipynb"), config,
                                  sandbox=box)
        yield grade_cells


def scores(result):
    return per_question({"tests": [{"name": t.name, "score": t.score} for t in result.tests]})


def test_a_constant_bound_by_exec_grades_full_and_a_wrong_backward_loses_only_q1(grade):
    assert RELU_EPS.count("EPS") == 2 and WRONG_BACKWARD != RELU_EPS
    right = grade("exec_right", {**RIGHT, "ReLU": RELU_EPS}, before=['exec("EPS = 1e-8")'])
    assert right.score == 100, right.to_text()
    assert right.problems == [
        "q1_relu was graded with the statements that bind names at run time (code cell 2, "
        "`exec(\"EPS = 1e-8\")`), because no plain statement of the notebook defines `EPS`: "
        "define `EPS` with a plain assignment, def or class at the top level of a code cell "
        "so that the grader sees it."]
    log = right.staff["questions"]["q1_relu"]
    assert log["runtime_bindings"]["missing"] == ["EPS"]
    assert log["runtime_bindings"]["added"] == [4] and 4 in log["slice"]
    assert all("runtime_bindings" not in right.staff["questions"][q]
               for q in FULL if q != "q1_relu")

    wrong = grade("exec_wrong", {**RIGHT, "ReLU": WRONG_BACKWARD}, before=['exec("EPS = 1e-8")'])
    got = scores(wrong)
    assert got["q1_relu"] < 25 and {q: got[q] for q in FULL if q != "q1_relu"} == {
        q: 25 for q in FULL if q != "q1_relu"}, wrong.to_text()
    # its backward checks fail (its accuracy run may pass: the last layer still learns)
    failed = {t.name for t in wrong.tests if t.score == 0}
    assert {"q1_relu.backward_fd", "q1_relu.backward_fd_hidden"} <= failed
    assert all(name.startswith("q1_relu.") for name in failed), wrong.to_text()


def test_classes_made_by_a_decorator_and_by_a_factory(grade):
    register = ("def register(cls):\n    globals()[cls.__name__.lstrip('_')] = cls\n"
                "    return cls")
    factory = ("import sys\ndef define(name, base):\n"
               "    setattr(sys.modules[__name__], name, type(name, (base,), {}))")
    classes = {**RIGHT,
               "ReLU": "@register\n" + RIGHT["ReLU"].replace("class ReLU(", "class _ReLU("),
               "Dropout": RIGHT["Dropout"].replace("class Dropout(", "class _DropoutBase(")}
    right = grade("made_right", classes, before=[register, factory],
                  after=["define('Dropout', _DropoutBase)"])
    assert right.score == 100, right.to_text()
    assert [p.split(" was graded")[0] for p in right.problems] == ["q1_relu", "q2_dropout"]

    classes["ReLU"] = classes["ReLU"].replace("self.inputs > 0", "self.inputs < 0")
    wrong = grade("made_wrong", classes, before=[register, factory],
                  after=["define('Dropout', _DropoutBase)"])
    got = scores(wrong)
    assert got["q1_relu"] < 25 and {q: got[q] for q in FULL if q != "q1_relu"} == {
        q: 25 for q in FULL if q != "q1_relu"}, wrong.to_text()


def test_a_notebook_that_does_not_need_it_grades_as_before(grade):
    result = grade("plain", RIGHT, after=["exec('UNUSED = 1')", "globals()['ALSO'] = 2"])
    assert result.score == 100 and result.problems == [], result.to_text()
    for question in FULL:                # statements 8 and 9: the exec and globals() ones
        log = result.staff["questions"][question]
        assert "runtime_bindings" not in log and not {8, 9} & set(log["slice"]), log["slice"]
