"""Grading fidelity: the grade is what the notebook does when it runs top to
bottom. Correct code written in ordinary ways scores full marks, a patch in
one graded cell costs only its own question, a slice statement that hangs,
exits or crashes costs only the questions whose slice holds it, and the
notebook's own self-check cells agree with the official public checks.

The notebooks are graded in-process through one warm sandbox; the
agreement test also runs each of them top to bottom in a Jupyter kernel.
"""

import re

import nbformat
import pytest

from conftest import BOOK, ROOT, class_sources, write_notebook

QUESTIONS = {"ReLU": "q1_relu", "Dropout": "q2_dropout",
             "BinaryCrossEntropyWithLogits": "q3_l2", "BatchGD": "q4_weight_decay"}
IMPORTS = "import paddle\nimport numpy as np\nimport nndl.op as op\nfrom nndl.op import Op, Optimizer"
BOOKS = class_sources(BOOK)


def check_cell(cls):
    return f"from nndl.checks import self_check\nself_check({QUESTIONS[cls]!r}, globals())"


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def with_checks(*cells, checked=()):
    """``cells`` then one self-check cell per class in ``checked``."""
    return notebook(*cells, *[check_cell(c) for c in checked])


# -- the cases: (notebook, expected points per question; None = not asserted) --------------

RELU_STUB = ("class ReLU(Op):\n    def __init__(self):\n        self.inputs = None\n"
             "        self.params = None\n    def forward(self, inputs):\n"
             "        raise NotImplementedError\n    def backward(self, outputs_grads):\n"
             "        raise NotImplementedError\n")
RELU_BROKEN = BOOKS["ReLU"].replace("(self.inputs > 0", "(self.inputs < 0")

CASES = {
    "constants_from_calls": (with_checks(
        IMPORTS, "DTYPE = paddle.get_default_dtype()\nEPS = float(np.finfo(np.float32).eps)\n"
        "KEEP = {p: 1 - p for p in (0.3, 0.6)}",
        "class Dropout(Op):\n    def __init__(self, drop_rate):\n        self.p = drop_rate\n"
        "    def forward(self, inputs):\n"
        "        self.mask = paddle.cast(paddle.rand(inputs.shape) > self.p + EPS * 0, DTYPE)\n"
        "        self.mask = paddle.cast(self.mask, inputs.dtype)\n"
        "        return inputs * self.mask / (KEEP.get(self.p, 1 - self.p))\n"
        "    def backward(self, g):\n        return g * self.mask / (1 - self.p)",
        checked=["Dropout"]), {"q2_dropout": 25}),
    "helpers_in_other_cells": (with_checks(
        IMPORTS, "class _Masker:\n    @staticmethod\n    def of(x):\n        return paddle.cast(x > 0, x.dtype)",
        "class ReLU(Op):\n    def __init__(self):\n        self.inputs = None\n"
        "    def forward(self, inputs):\n        self.inputs = inputs\n"
        "        return inputs * _Masker.of(inputs)\n"
        "    def backward(self, g):\n        return _times_mask(g, self.inputs)",
        "def _times_mask(g, x):\n    return g * _Masker.of(x)", checked=["ReLU"]),
        {"q1_relu": 25}),
    "methods_attached_later": (with_checks(
        IMPORTS, RELU_STUB,
        "def _forward(self, inputs):\n    self.inputs = inputs\n    return paddle.maximum(inputs, "
        "paddle.zeros_like(inputs))\n\ndef _backward(self, g):\n"
        "    return g * paddle.cast(self.inputs > 0, g.dtype)\n\n"
        "ReLU.forward = _forward\nsetattr(ReLU, 'backward', _backward)", checked=["ReLU"]),
        {"q1_relu": 25}),
    "redefined_fixed_later": (with_checks(IMPORTS, RELU_BROKEN, BOOKS["ReLU"], checked=["ReLU"]),
                              {"q1_relu": 25}),
    "redefined_broken_later": (with_checks(IMPORTS, BOOKS["ReLU"], RELU_BROKEN, checked=["ReLU"]),
                               {"q1_relu": "short"}),
    "magics_in_the_graded_cell": (with_checks(
        IMPORTS, "%%time\n" + BOOKS["ReLU"],
        "%matplotlib inline\n!echo shell escapes are not run\n" + BOOKS["BatchGD"]
        + "\nfiles = !ls\n%time x = 1",
        checked=["ReLU", "BatchGD"]), {"q1_relu": 25, "q4_weight_decay": 25}),
    "star_import": (with_checks("import paddle\nfrom nndl.op import *", BOOKS["ReLU"],
                                checked=["ReLU"]), {"q1_relu": 25}),
    "dropout_body_patches_the_library": (with_checks(
        IMPORTS, BOOKS["ReLU"],
        BOOKS["Dropout"].replace(
            "class Dropout(Op):",
            "class Dropout(Op):\n    import nndl.op\n"
            "    nndl.op.Linear.backward = lambda self, g: g * 0\n"
            "    nndl.op.Linear.forward = lambda self, x: x * 0"),
        BOOKS["BinaryCrossEntropyWithLogits"], BOOKS["BatchGD"],
        checked=["ReLU", "BinaryCrossEntropyWithLogits", "BatchGD"]),
        {"q1_relu": 25, "q2_dropout": "short", "q3_l2": 25, "q4_weight_decay": 25}),
}

# A BatchGD whose step does nothing cannot train; a module-level patch in the Dropout
# cell that makes Linear.backward update the weights itself would let it train, if it
# ran while BatchGD is graded.
NO_OP_STEP = BOOKS["BatchGD"].replace(
    "        for layer in self.model.layers:", "        return\n        for layer in self.model.layers:")
SELF_UPDATE = ("import nndl.op\n_backward = nndl.op.Linear.backward\n"
               "def _update(self, g):\n    out = _backward(self, g)\n"
               "    self.params['W'] = self.params['W'] - 0.2 * self.grads['W']\n"
               "    self.params['b'] = self.params['b'] - 0.2 * self.grads['b']\n    return out\n"
               "nndl.op.Linear.backward = _update")
CASES["patch_cannot_raise_another_question"] = (
    notebook(IMPORTS, BOOKS["Dropout"] + "\n" + SELF_UPDATE, NO_OP_STEP),
    {"q2_dropout": 25, "q4_weight_decay": "short"})
CASES["same_without_the_patch"] = (notebook(IMPORTS, BOOKS["Dropout"], NO_OP_STEP),
                                   {"q2_dropout": 25, "q4_weight_decay": "short"})


@pytest.fixture(scope="module")
def warm(config):
    from autograder.engine import open_sandbox

    with open_sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def graded(tmp_path_factory, config, warm):
    """{case: GradingResult}, every case graded once through the warm sandbox."""
    from autograder.engine import grade_notebook

    tmp = tmp_path_factory.mktemp("fidelity")
    results = {}
    for name, (nb, _) in CASES.items():
        results[name] = grade_notebook(write_notebook(nb, tmp / f"{name}.ipynb"), config,
                                       sandbox=warm)
    return results


def points(result):
    return {q: got for q, (got, _) in result.question_scores().items()}


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_gets_the_grade_of_what_the_notebook_does(case, graded):
    result = graded[case]
    got = points(result)
    for question, expected in CASES[case][1].items():
        if expected == "short":
            assert got[question] < 25, (question, result.to_text())
        else:
            assert got[question] == expected, (question, result.to_text())


def test_a_patch_in_another_cell_does_not_change_a_score(graded):
    assert points(graded["patch_cannot_raise_another_question"]) == \
        points(graded["same_without_the_patch"])


def run_top_to_bottom(nb, tmp_path):
    """Execute ``nb`` in a Jupyter kernel from the repository root (``nndl``
    importable); returns {question: (passed, output)} of its self-check cells."""
    from nbclient import NotebookClient

    nb = nbformat.from_dict(nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    verdicts = {}
    for cell in nb.cells:
        if "self_check(" in cell.source:
            question = cell.source.split("self_check(")[1].split(",")[0].strip("'\"")
            text = " ".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)
            verdicts[question] = (not any(o.get("output_type") == "error" for o in cell.outputs),
                                  text)
    return verdicts


def test_self_checks_agree_with_the_official_public_checks(graded, lab, tmp_path):
    """Every case run top to bottom: a question whose self-check cell passes
    passes every official public check, and one whose self-check fails fails
    one -- except where another class's cell patched the course library: the
    grader then grades with the library as installed (a patch costs only its own
    question), and the self-check says so."""
    for name, (nb, _) in CASES.items():
        if not any("self_check(" in c.source for c in nb.cells):
            continue
        notebook_says = run_top_to_bottom(nb, tmp_path)
        result = graded[name]
        for question, (passed, output) in notebook_says.items():
            public = [t for t in result.tests if t.question == question and not t.hidden]
            official = all(t.passed for t in public)
            if passed:
                assert official, (name, question, result.to_text())
            elif official:
                assert "the official grader runs each class with the course library as " \
                       "installed" in output, (name, question, output)
            assert passed == official or name == "dropout_body_patches_the_library", \
                (name, question, output, result.to_text())


# -- statements that hang, exit or crash -----------------------------------------------------

def test_a_lethal_statement_costs_only_the_questions_whose_slice_holds_it(tmp_path, config,
                                                                         warm):
    from autograder.engine import grade_notebook

    relu = BOOKS["ReLU"].replace("        self.inputs = inputs\n",
                                 "        self.inputs = inputs + SLOW * 0\n")
    dropout = BOOKS["Dropout"].replace("        self.mask = mask\n",
                                       "        self.mask = mask * EXIT\n")
    loss = BOOKS["BinaryCrossEntropyWithLogits"].replace(
        "        self.labels = labels\n", "        self.labels = labels * CRASH\n")
    nb = notebook(IMPORTS, "import os, time, ctypes",
                  "SLOW = time.sleep(600) or 0.0", "EXIT = os._exit(3) or 1.0",
                  "CRASH = ctypes.string_at(0) and 1.0", relu, dropout, loss, BOOKS["BatchGD"])
    result = grade_notebook(write_notebook(nb, tmp_path / "lethal.ipynb"), config, sandbox=warm)
    assert points(result) == {"q1_relu": 0, "q2_dropout": 0, "q3_l2": 0,
                              "q4_weight_decay": 25}, result.to_text()
    problems = " | ".join(result.problems)
    # stopped at the statement's limit (its seconds are named), not at the question's
    assert re.search(r"`SLOW = time\.sleep\(600\) or 0\.0`: did not finish within [0-9.]+ s",
                     problems), problems
    assert "`EXIT = os._exit(3) or 1.0`: ended the program" in problems
    assert "`CRASH = ctypes.string_at(0) and 1.0`: crashed the program" in problems
    assert "graded without it: q1_relu" in problems
    relu_message = next(t.message for t in result.tests if t.name == "q1_relu.forward")
    assert "`SLOW` would have been made by code cell 3" in relu_message


def test_a_class_reading_an_experiments_result_gets_a_clear_message(tmp_path, config, warm):
    from autograder.engine import grade_notebook

    relu = BOOKS["ReLU"].replace("        self.inputs = inputs\n",
                                 "        self.inputs = inputs\n        _ = model.fc1\n")
    training = ("def train(model):\n    while True:\n        model.fc1.params\n"
                "model = train(MLP_3L([2, 20, 3, 1]))")
    nb = notebook(IMPORTS, relu, "class MLP_3L:\n    def __init__(self, sizes):\n"
                  "        self.act = ReLU()\n        self.fc1 = op.Linear(2, 20)", training)
    result = grade_notebook(write_notebook(nb, tmp_path / "reads_model.ipynb"), config,
                            sandbox=warm)
    message = next(t.message for t in result.tests if t.name == "q1_relu.forward")
    assert "name 'model' is not defined" in message, message
    assert ("would have been made by code cell 4, `model = train(MLP_3L([2, 20, 3, 1]))`, "
            "which did not finish within") in message
    assert "not what the notebook's experiments make" in message
