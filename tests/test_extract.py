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
