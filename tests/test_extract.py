import json

import nbformat
import pytest

from autograder.extract import NotebookError, extract, read_notebook


def nb_of(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_keeps_definitions_and_drops_experiments():
    nb = nb_of("import paddle\nimport otter\ngrader = otter.Notebook()\n%matplotlib inline\n"
               "NUM_ITERS = 50000\nmodel = MLP_3L([2, 20, 3, 1])\n"
               "for i in range(NUM_ITERS):\n    train()\nclass ReLU:\n    pass\n"
               "def helper(x):\n    return x\nprint('hi')")
    ex = extract(nb)
    sources = [s.source for s in ex.statements]
    assert sources[0] == "import paddle"
    assert "NUM_ITERS = 50000" in sources
    assert any(s.startswith("class ReLU") for s in sources)
    assert any(s.startswith("def helper") for s in sources)
    joined = "\n".join(sources)
    for dropped in ("otter", "MLP_3L([2", "for i", "print("):
        assert dropped not in joined
    assert {"ReLU", "helper", "paddle", "NUM_ITERS"} <= ex.defined


def test_syntax_error_costs_only_its_cell():
    ex = extract(nb_of("class ReLU(:\n    pass", "class Dropout:\n    pass"))
    assert ex.defined == {"Dropout"}
    assert "code cell 1 has a syntax error" in ex.problems[0]


def test_monkeypatching_assignments_are_dropped():
    ex = extract(nb_of("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                       "setattr(np, 'max', len)"))
    assert [s.source for s in ex.statements] == ["import numpy as np"]


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
    import ast

    from autograder.extract import _line_starts, _segment

    source = ("import os; x = 'é'; y = 2\r\n@decorator\r\ndef f(a,\r\n      b):\r\n"
              "    return 'ü' + a\r\nclass C: z = 'ß'\rW = {'k': [1,\n 2]}\n")
    tree = ast.parse(source)
    starts = _line_starts(source)
    for node in tree.body:
        expected = ast.get_source_segment(source, node)
        if getattr(node, "decorator_list", None):
            expected = "@decorator\r\n" + expected
        assert _segment(source, starts, node) == expected


def test_constant_like_assignments_are_kept_and_experiments_dropped():
    ex = extract(nb_of("import numpy as np\nHALF = 1 / 2\nEPS = 10 ** -8\n"
                       "rng = np.random.default_rng(0)\na, b = 1, 2\n"
                       "model = MLP_3L([2, 20, 3, 1])\nresult = train_model(model)\n"
                       "np.allclose = lambda *a: True"))
    kept = [s.source for s in ex.statements]
    assert kept == ["import numpy as np", "HALF = 1 / 2", "EPS = 10 ** -8",
                    "rng = np.random.default_rng(0)", "a, b = 1, 2"]
    assert ex.dropped == {"model": 0, "result": 0}


def test_importing_the_grader_is_refused_with_a_message():
    ex = extract(nb_of("from autograder.reference import ReLU\nimport nndl.checks.probes\n"
                       "import autograder\nfrom nndl.op import Op"))
    assert [s.source for s in ex.statements] == ["from nndl.op import Op"]
    assert len(ex.problems) == 3 and "may not import the grader" in ex.problems[0]


def test_pathological_cells_are_problems_not_crashes():
    deep = "x = " + "+".join(["1"] * 20000)
    unary = "y = " + "-" * 100000 + "1"
    ex = extract(nb_of(deep, unary, "class Fine:\n    pass"))
    assert ex.defined == {"Fine"}
    assert len(ex.problems) == 2


def test_deeply_nested_json_is_a_notebook_error(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(NotebookError, match="nested too deeply"):
        read_notebook(path)


def test_statement_count_and_cell_size_are_capped():
    from autograder.extract import MAX_CELL_SOURCE, MAX_STATEMENTS

    many = "\n".join(f"c{i} = {i}" for i in range(MAX_STATEMENTS + 50))
    ex = extract(nb_of(many))
    assert len(ex.statements) == MAX_STATEMENTS
    assert "not graded" in ex.problems[-1]
    ex = extract(nb_of("z = 1\n" + "#" * MAX_CELL_SOURCE, "class Ok:\n    pass"))
    assert ex.defined == {"Ok"} and "characters of code" in ex.problems[0]


def test_assignments_that_read_dropped_names_are_dropped_too():
    ex = extract(nb_of("X_train, y_train = load_moons()\nlayers_size = [X_train.shape[1], 20, 3, 1]\n"
                       "SIZES = [2, 20, 3, 1]\nDOUBLE = [2 * s for s in SIZES]"))
    assert [s.source for s in ex.statements] == ["SIZES = [2, 20, 3, 1]"]
    assert set(ex.dropped) == {"X_train", "y_train", "layers_size", "DOUBLE"}


def test_constants_that_could_blow_up_are_dropped():
    ex = extract(nb_of("EPS = 10 ** -8\nTWO_PI = 2 * 3.14159\nBIG = 10 ** 10 ** 10\n"
                       "HUGE = [0] * 10 ** 9\nS = 'x' * 10\nSHIFT = 1 << 100000\nMASK = 1 << 8"))
    assert [s.source for s in ex.statements] == ["EPS = 10 ** -8", "TWO_PI = 2 * 3.14159",
                                                 "MASK = 1 << 8"]


def test_total_code_is_capped():
    from autograder.extract import MAX_CELL_SOURCE, MAX_TOTAL_CODE

    filler = "f(1)\n" * ((MAX_CELL_SOURCE - 10) // 5)
    cells = [filler] * (MAX_TOTAL_CODE // len(filler) + 1) + ["class Late:\n    pass"]
    ex = extract(nb_of(*cells))
    assert "Late" not in ex.defined
    assert "characters of code" in ex.problems[-1]
