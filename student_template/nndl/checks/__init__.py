"""Public self-checks of the lab, run by ``grader.check("q1_relu")`` etc.

The same check functions (inputs, probe, judge) are used by the official
grader; there the probe runs in a sandboxed process and the judge in the
grader. Here everything runs in the notebook's kernel, which is fine for a
self-check and is why the official grade never relies on it.
"""

from .core import Check, StudentError, Verdict, judged, resolve, to_numpy

QUESTIONS = ("q1_relu", "q2_dropout", "q3_l2", "q4_weight_decay")
GRADED_CLASS = {"q1_relu": "ReLU", "q2_dropout": "Dropout",
                "q3_l2": "BinaryCrossEntropyWithLogits", "q4_weight_decay": "BatchGD"}
SELF_CHECK_SEED = 7  # the official grader uses its own seeds (see its config)


def public_checks():
    """Every public check, in question order."""
    from . import q1_relu, q2_dropout, q3_l2, q4_weight_decay

    return [c for m in (q1_relu, q2_dropout, q3_l2, q4_weight_decay) for c in m.CHECKS]


def run_in_process(check, namespace, seed):
    """Probe and judge ``check`` in this process; returns a Verdict."""
    import numpy as np

    inputs = check.make_inputs(seed)
    try:
        outputs = resolve(check.probe)(namespace, inputs)
    except StudentError as e:
        return Verdict(False, str(e))
    except Exception as e:  # noqa: BLE001 - a probe failing is the student's to see
        return Verdict(False, f"{type(e).__name__}: {e}")
    outputs = {k: np.asarray(to_numpy(v)) for k, v in outputs.items()}
    return judged(check, inputs, outputs)


def self_check(question, namespace, seed=SELF_CHECK_SEED):
    """Run the public checks of ``question`` against the classes in
    ``namespace`` (the notebook's globals); print one line per check and raise
    AssertionError listing the failures."""
    if question not in QUESTIONS:
        raise ValueError(f"unknown question {question!r}; expected one of {QUESTIONS}")
    lines, failed = [], False
    for check in public_checks():
        if check.question != question:
            continue
        verdict = run_in_process(check, namespace, seed)
        failed |= not verdict.passed
        mark = "PASS" if verdict.passed else "FAIL"
        lines.append(f"[{mark}] {check.title}: {verdict.describe()}")
    report = "\n".join(lines)
    if failed:
        raise AssertionError(report)
    print(report)


__all__ = ["Check", "Verdict", "QUESTIONS", "public_checks", "run_in_process", "self_check"]
