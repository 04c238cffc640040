"""Reading a notebook as a program and slicing it per graded class
(``autograder.notebook``): static only, nothing here runs student code."""

import ast
import json

import nbformat
import pytest

from autograder.notebook import NotebookError, parse, read_notebook, slice_for

GRADED = ("ReLU", "Dropout", "BinaryCrossEntropyWithLogits", "BatchGD")
GRADER = ("autograder", "nndl.checks")


def nb_of(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def sliced(target, *sources):
    """The first lines of the statements of ``target``'s slice."""
    program = parse(nb_of(*sources), GRADER)
    return [st.source.splitlines()[0] for st in slice_for(program, target, GRADED).statements]


def test_a_slice_holds_the_class_and_what_it_reads_not_the_experiments():
    lines = sliced("ReLU",
                   "import paddle\nimport otter\ngrader = otter.Notebook()\n%matplotlib inline\n"
                   "NUM_ITERS = 50000\nmodel = MLP_3L([2, 20, 3, 1])\n"
                   "for i in range(NUM_ITERS):\n    train()\n"
                   "class ReLU:\n    def forward(self, x):\n        return paddle.nn.functional.relu(x)\n"
                   "def helper(x):\n    return x\nprint('hi')\ngrader.check('q1_relu')")
    assert lines == ["import paddle", "class ReLU:"]


def test_constants_from_arbitrary_calls_and_their_inputs_are_in_the_slice():
    lines = sliced("Dropout",
                   "import paddle\nimport numpy as np\nDTYPE = paddle.get_default_dtype()\n"
                   "EPS = float(np.finfo(np.float32).eps)\nUNUSED = np.zeros(10**9)",
                   "class Dropout:\n    def forward(self, x):\n        return x.astype(DTYPE) + EPS")
    assert lines == ["import paddle", "import numpy as np", "DTYPE = paddle.get_default_dtype()",
                     "EPS = float(np.finfo(np.float32).eps)", "class Dropout:"]


def test_helpers_before_or_after_the_class_and_methods_attached_later():
    lines = sliced("ReLU",
                   "def _mask(x):\n    return x > 0",
                   "class ReLU:\n    def forward(self, x):\n        return x * _mask(x) * SCALE",
                   "class _Base:\n    pass",
                   "def _scale():\n    return 1.0\ndef _backward(self, g):\n    return g * _Helper.k",
                   "SCALE = _scale()\nReLU.backward = _backward\nclass _Helper:\n    k = 1\n"
                   "unrelated = 3")
    assert lines == ["def _mask(x):", "class ReLU:", "def _scale():", "def _backward(self, g):",
                     "SCALE = _scale()", "ReLU.backward = _backward", "class _Helper:"]
    # a name read when a statement runs needs its value at that point of the notebook
    assert sliced("ReLU", "class ReLU:\n    k = K", "K = 1") == ["class ReLU:"]


def test_the_last_definition_wins():
    first = "class ReLU:\n    version = 1"
    second = "class ReLU:\n    version = 2\n    def f(self):\n        return HELPER"
    assert sliced("ReLU", first, "HELPER = 1", second) == ["HELPER = 1", "class ReLU:"]
    program = parse(nb_of(first, "HELPER = 1", second), GRADER)
    assert "version = 2" in slice_for(program, "ReLU", GRADED).statements[-1].source
    # a conditional redefinition keeps the earlier one as a fallback
    assert sliced("ReLU", first, "FLAG = 0", "if FLAG:\n    " + second.replace("\n", "\n    "),
                  "HELPER = 1") == ["class ReLU:", "FLAG = 0", "if FLAG:", "HELPER = 1"]
    # a class built from its earlier self needs that one too
    assert sliced("ReLU", first, "class ReLU(ReLU):\n    pass") == ["class ReLU:",
                                                                   "class ReLU(ReLU):"]


def test_a_loop_filling_a_table_and_method_calls_on_it_are_in_the_slice():
    lines = sliced("BatchGD",
                   "TABLE = {}\nfor k in range(3):\n    TABLE[k] = k * k\nTABLE.update(a=1)\n"
                   "setattr(TABLE_OBJ, 'x', 1)\nOTHER = []\nOTHER.append(1)",
                   "class BatchGD:\n    def step(self):\n        return TABLE[2]")
    assert lines == ["TABLE = {}", "for k in range(3):", "TABLE.update(a=1)", "class BatchGD:"]


def test_library_patches_and_other_graded_classes_never_enter_a_slice():
    program = parse(nb_of(
        "import numpy as np\nimport nndl.op as op\nfrom nndl.op import Op, Linear\n"
        "np.allclose = lambda *a, **k: True\nsetattr(np, 'max', len)\n"
        "paddle_cfg = None",
        "class ReLU(Op):\n    def forward(self, x):\n        return np.maximum(x, 0)",
        "class Dropout(Op):\n    op.Linear.backward = None\n    def forward(self, x):\n"
        "        return ReLU().forward(x)\nop.Linear.forward = None\nOp.__call__ = None\n"
        "Linear.backward = None\nReLU.forward = Dropout.forward",
        "class BinaryCrossEntropyWithLogits(Op):\n    def backward(self):\n"
        "        return [l for l in self.model.layers if isinstance(l, op.Linear)]"), GRADER)
    slices = {cls: [st.source.splitlines()[0] for st in slice_for(program, cls, GRADED).statements]
              for cls in GRADED[:3]}
    # a change of ReLU is in its slice, even one that reads another graded class (which
    # is not defined there, so that statement fails and is skipped, with a message)
    assert slices["ReLU"] == ["import numpy as np", "from nndl.op import Op, Linear",
                              "class ReLU(Op):", "ReLU.forward = Dropout.forward"]
    assert slices["Dropout"] == ["import nndl.op as op", "from nndl.op import Op, Linear",
                                 "class Dropout(Op):"]
    assert slices["BinaryCrossEntropyWithLogits"] == [
        "import nndl.op as op", "from nndl.op import Op, Linear",
        "class BinaryCrossEntropyWithLogits(Op):"]


def test_star_imports_are_in_every_slice():
    assert sliced("ReLU", "from nndl.op import *\nimport paddle",
                  "class ReLU(Op):\n    pass") == ["from nndl.op import *", "class ReLU(Op):"]


@pytest.mark.parametrize("cell", [
    "%%time\nclass ReLU:\n    def forward(self, x):\n        return x",
    "%matplotlib inline\n!pip install nothing\nclass ReLU:\n    def forward(self, x):\n"
    "        return x\nfiles = !ls\nx = %time 1 + 1\nReLU?",
    "%%capture out\nclass ReLU:\n    def forward(self, x):\n        return x",
])
def test_magics_and_shell_escapes_are_transformed_as_ipython_does(cell):
    program = parse(nb_of(cell), GRADER)
    assert program.problems == []
    sl = slice_for(program, "ReLU", GRADED)
    assert [st.source.splitlines()[0] for st in sl.statements] == ["class ReLU:"]


def test_a_bash_cell_magic_holds_no_python():
    program = parse(nb_of("%%bash\nclass ReLU: not python"), GRADER)
    assert program.problems == [] and not slice_for(program, "ReLU", GRADED).defined


def test_names_read_by_the_slice_and_what_binds_them():
    program = parse(nb_of("import paddle as pd\nX, y = load()\n(z := 3)\nfor i in range(2):\n"
                          "    acc = i\nclass C(Base, metaclass=M):\n    k = K\n"
                          "    def f(self, d=DEFAULT):\n        return G + [q for q in Q]\n"
                          "del X\nx += 1"), GRADER)
    st = {s.source.splitlines()[0]: s for s in program.statements}
    assert st["import paddle as pd"].kills == {"pd"} and st["import paddle as pd"].imported == {"pd"}
    assert st["X, y = load()"].kills == {"X", "y"} and st["X, y = load()"].eager == {"load"}
    assert st["(z := 3)"].binds == {"z"} and not st["(z := 3)"].kills
    assert st["for i in range(2):"].binds == {"i", "acc"} and not st["for i in range(2):"].kills
    c = st["class C(Base, metaclass=M):"]
    assert c.eager == {"Base", "M", "K", "DEFAULT"} and c.deferred == {"G", "Q"}
    assert st["del X"].kills == {"X"}
    assert "x" in st["x += 1"].eager and not st["x += 1"].kills
    assert program.library_names() == {"pd"}


def test_syntax_error_costs_only_its_cell():
    program = parse(nb_of("class ReLU(:\n    pass", "class Dropout:\n    pass"), GRADER)
    assert [st.binds for st in program.statements] == [{"Dropout"}]
    assert "code cell 1 (`class ReLU(:`) has a syntax error" in program.problems[0]
    nb = nb_of("x = 1", "class ReLU(:\n    pass")               # messages count code cells
    nb.cells[1:1] = [nbformat.v4.new_markdown_cell("# text"), nbformat.v4.new_raw_cell("raw")]
    assert "code cell 2 (`class ReLU(:`)" in parse(nb, GRADER).problems[0]
    program = parse(nb_of("return 5\nclass Dropout:\n    pass"), GRADER)  # a compile-time error
    assert [st.binds for st in program.statements] == [{"Dropout"}]
    assert "'return' outside function" in program.problems[0]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps({"hello": 1}).encode(), "no 'cells'"),
    (b"print('a python file')", "invalid JSON"),
])
def test_bad_files_give_clear_messages(tmp_path, content, message):
    path = tmp_path / "sub.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookError, match=message):
        read_notebook(path)


def test_statement_text_is_exactly_the_source_segment():
    from nndl.notebook.program import _line_starts, _segment

    source = ("import os; x = 'é'; y = 2\r\n@decorator\r\ndef f(a,\r\n      b):\r\n"
              "    return 'ü' + a\r\nclass C: z = 'ß'\rW = {'k': [1,\n 2]}\n")
    tree = ast.parse(source)
    starts = _line_starts(source)
    for node in tree.body:
        expected = ast.get_source_segment(source, node)
        if getattr(node, "decorator_list", None):
            expected = "@decorator\r\n" + expected
        assert _segment(source, starts, node) == expected


def test_importing_the_grader_is_refused_with_a_message():
    program = parse(nb_of("from autograder.reference import ReLU\nimport nndl.checks.q1_relu\n"
                          "import autograder\nfrom nndl.op import Op"), GRADER)
    assert [s.source for s in program.statements] == ["from nndl.op import Op"]
    assert len(program.problems) == 3 and "may not import the grader" in program.problems[0]


def test_pathological_cells_are_problems_not_crashes():
    deep = "x = " + "+".join(["1"] * 20000)
    unary = "y = " + "-" * 100000 + "1"
    program = parse(nb_of(deep, unary, "class Fine:\n    pass"), GRADER)
    assert [st.binds for st in program.statements] == [{"Fine"}]
    assert len(program.problems) == 2


def test_deeply_nested_json_is_a_notebook_error(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(NotebookError, match="nested too deeply"):
        read_notebook(path)


def test_statement_count_and_cell_size_are_capped():
    from autograder.notebook import MAX_CELL_SOURCE, MAX_STATEMENTS

    many = "\n".join(f"c{i} = {i}" for i in range(MAX_STATEMENTS + 50))
    program = parse(nb_of(many), GRADER)
    assert len(program.statements) == MAX_STATEMENTS
    assert "not graded" in program.problems[-1]
    program = parse(nb_of("z = 1\n" + "#" * MAX_CELL_SOURCE, "class Ok:\n    pass"), GRADER)
    assert [st.binds for st in program.statements] == [{"Ok"}]
    assert "characters of code" in program.problems[0]


def test_total_code_is_capped():
    from autograder.notebook import MAX_CELL_SOURCE, MAX_TOTAL_CODE

    filler = ("f('" + "x" * 995 + "')\n") * ((MAX_CELL_SOURCE - 10) // 1000)
    cells = [filler] * (MAX_TOTAL_CODE // len(filler) + 1) + ["class Late:\n    pass"]
    program = parse(nb_of(*cells), GRADER)
    assert not any("Late" in st.binds for st in program.statements)
    assert "characters of code" in program.problems[-1]
