"""The many implementations, tested at the level of the check functions
(probe + judge in this process; the sandbox is tested end to end elsewhere).

- every correct-but-different implementation passes every exact check;
- every wrong implementation fails at least one check of its own question,
  none of another question, with the diagnosis its docstring names.
"""

from pathlib import Path

import pytest

from nndl.checks import run_in_process

from conftest import VARIANTS, variant_docfields, variant_namespace

CORRECT = sorted((VARIANTS / "correct").glob("*.py"))
WRONG = sorted((VARIANTS / "wrong").glob("*.py"))


@pytest.fixture(scope="module")
def exact_checks(lab):
    return [c for c in lab.checks() if not c.name.endswith(".accuracy")]


def verdicts(namespace, checks, seed):
    """Each check's (question, verdict), run here with the reference parts its
    question's worker would have (the hidden checks on the book's MLP use them)."""
    from autograder.config import load_config
    from autograder.lab import load_lab

    lab = load_lab(load_config())
    results = {}
    for c in checks:
        lab.plug_references(c.question)
        results[c.name] = (c.question, run_in_process(c, namespace, seed))
    return results


def test_corpus_is_large_enough():
    assert len(WRONG) >= 15 and len(CORRECT) >= 6


def test_reference_implementation_passes(exact_checks, config, lab):
    for name, (_, v) in verdicts(lab.reference_classes(), exact_checks,
                                 config.seeds.checks).items():
        assert v.passed, (name, v.message)


@pytest.mark.parametrize("path", [None] + CORRECT, ids=lambda p: Path(p).stem if p else "book")
def test_correct_implementations_pass_every_check(path, exact_checks, config):
    for name, (_, v) in verdicts(variant_namespace(path), exact_checks, config.seeds.checks).items():
        assert v.passed, (name, v.message)


@pytest.mark.parametrize("path", WRONG, ids=lambda p: Path(p).stem)
def test_wrong_implementation_loses_points_only_in_its_question(path, exact_checks, config):
    fields = variant_docfields(path)
    question, diagnosis = fields["question"], fields["diagnosis"]
    results = verdicts(variant_namespace(path), exact_checks, config.seeds.checks)
    failed = {name: (q, v) for name, (q, v) in results.items() if not v.passed}
    assert failed, "a wrong implementation passed every check"
    assert {q for q, _ in failed.values()} == {question}, failed
    messages = " | ".join(v.message for _, v in failed.values())
    assert diagnosis in messages, messages


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_correct_code_passes_for_other_seeds(seed, exact_checks):
    """The statistical dropout check and the kink margins hold beyond one seed."""
    for name, (_, v) in verdicts(variant_namespace(None), exact_checks, seed).items():
        assert v.passed, (name, seed, v.message)


def test_stubs_report_not_implemented(exact_checks, config):
    stub = {"__name__": "nb"}
    exec(  # noqa: S102 - the template's shape: every graded method raises
        "from nndl.op import Op, Optimizer\n"
        "class ReLU(Op):\n"
        "    def forward(self, inputs): raise NotImplementedError\n"
        "    def backward(self, g): raise NotImplementedError\n"
        "class Dropout(Op):\n"
        "    def __init__(self, drop_rate): self.drop_rate = drop_rate\n"
        "    def forward(self, inputs): raise NotImplementedError\n"
        "    def backward(self, g): raise NotImplementedError\n"
        "class BinaryCrossEntropyWithLogits(Op):\n"
        "    def __init__(self, model, lambd): self.model, self.lambd = model, lambd\n"
        "    def __call__(self, logits, labels): return self.forward(logits, labels)\n"
        "    def forward(self, logits, labels): raise NotImplementedError\n"
        "    def backward(self): raise NotImplementedError\n"
        "class BatchGD(Optimizer):\n"
        "    def __init__(self, init_lr, model, weight_decay):\n"
        "        super().__init__(init_lr, model)\n"
        "    def gradient_descent(self, x, g, lr): ...\n"
        "    def step(self): raise NotImplementedError\n", stub)
    for name, (_, v) in verdicts(stub, exact_checks, config.seeds.checks).items():
        assert not v.passed and "not implemented" in v.message, (name, v.message)


def test_missing_class_is_named(exact_checks, config, lab):
    for name, (q, v) in verdicts({}, exact_checks, config.seeds.checks).items():
        assert not v.passed and f"class {lab.unit(q).graded_class} is not defined" in v.message


@pytest.mark.parametrize("path", [None] + CORRECT, ids=lambda p: Path(p).stem if p else "book")
def test_correct_implementations_pass_the_accuracy_test(path, config, lab):
    """Train with each correct variant (its own question; the book's code passes all four)."""
    ns = variant_namespace(path)
    source = Path(path).read_text() if path else ""
    accuracy_checks = [c for c in lab.checks() if c.name.endswith(".accuracy")
                       and (path is None or f"class {lab.unit(c.question).graded_class}" in source)]
    assert accuracy_checks
    for check in accuracy_checks:
        lab.plug_references(check.question)
        v = run_in_process(check, ns, config.seeds.checks)
        assert v.passed, (check.name, v.message)


@pytest.mark.parametrize("path", WRONG, ids=lambda p: Path(p).stem)
def test_self_check_gives_the_student_the_graders_public_verdicts(path, config):
    """grader.check in the notebook (its own seed) and the official grader's
    public tests agree on pass/fail, and both name the same mistake."""
    from nndl.checks import SELF_CHECK_SEED, public_checks

    ns = variant_namespace(path)
    diagnosis = variant_docfields(path)["diagnosis"]
    mine, graders = [], []
    for check in public_checks():
        student = run_in_process(check, ns, SELF_CHECK_SEED)
        grader = run_in_process(check, ns, config.seeds.checks)
        assert student.passed == grader.passed, (check.name, student.message, grader.message)
        mine.append(student.message)
        graders.append(grader.message)
    if any(diagnosis in m for m in graders):
        assert any(diagnosis in m for m in mine)
