"""Grade one notebook: extract its definitions, run every question's probes
in the sandbox, judge the returned arrays here, and build the result.

The grader process never imports or executes student code: it parses the
notebook (``extract``), hands plain arrays to the sandboxed child and judges
plain arrays that come back. A question whose worker hangs, crashes or
exhausts memory scores 0 on its checks only.
"""

import re
import shutil
import tempfile
import time
import traceback
from collections import OrderedDict
from pathlib import Path

from nndl.checks import GRADED_CLASS
from nndl.checks.core import Verdict, judged

from .checks import all_checks
from .config import load_config
from .extract import NotebookError, extract, read_notebook
from .results import GradingResult, TestResult
from .sandbox.runner import Sandbox, SandboxError



class GraderError(Exception):
    """The grader itself cannot work (bad config, no paddle, no GPU asked for)."""


def _test(check, cfg, verdict):
    conf = cfg.checks[check.name]
    return TestResult(
        name=check.name, question=check.question, title=check.title,
        max_score=conf.points, score=conf.points if verdict.passed else 0.0,
        passed=verdict.passed, message=verdict.describe(), hidden=conf.hidden,
        visibility=cfg.hidden_visibility if conf.hidden else cfg.public_visibility,
        measured=verdict.measured, threshold=verdict.threshold)


LOAD_TIME_LIMIT = 30   # seconds to run the notebook's definitions (they take < 1 s)
LOAD_ATTEMPTS = 4      # statements that kill or hang the loading are skipped one at a time


def _find_lethal_statements(sandbox, extracted, cfg, result):
    """Run the notebook's definitions once in a worker of their own; a statement
    that ends, crashes or hangs the worker (``os._exit`` or ``while True`` in a
    class body, say) is skipped from then on, so that it costs only what it
    defines, not every question. Returns the indices skipped."""
    skip = set()
    limit = min(LOAD_TIME_LIMIT, cfg.question_time_limit)
    for _ in range(LOAD_ATTEMPTS):
        report, bad = sandbox.load(limit, skip)
        if bad is None or bad in skip or bad >= len(extracted.statements):
            break
        skip.add(bad)
        st = extracted.statements[bad]
        first = st.source.strip().splitlines()[0][:80] if st.source.strip() else ""
        fate = {"timeout": f"did not finish within {limit:g} s",
                "signal": "crashed the program"}.get(report.get("outcome"), "ended the program")
        result.problems.append(f"code cell {st.cell + 1}, `{first}`: {fate} when run, so it "
                               "was skipped for every question")
    result.staff["load"] = {"skipped": sorted(skip)}
    return skip


def _explain(error, extracted):
    """Add why a name is missing when the grader dropped its assignment."""
    match = re.search(r"name '(\w+)' is not defined", error)
    if match and match.group(1) in extracted.dropped:
        name = match.group(1)
        error += (f" - note: the grader runs only the notebook's imports, definitions and "
                  f"simple constant assignments; `{name} = ...` in code cell "
                  f"{extracted.dropped[name] + 1} was not run. Create it inside your class "
                  "(e.g. in __init__) instead.")
    return error


def resolve_device(requested, info):
    if requested == "auto":
        return "gpu" if info.get("cuda") else "cpu"
    if requested == "gpu" and not info.get("cuda"):
        raise GraderError("--device gpu was asked for, but the installed paddle "
                          f"{info.get('paddle', '?')} is not compiled with CUDA "
                          "(install paddlepaddle-gpu, or use --device cpu)")
    return requested


def grade_notebook(path, config=None, *, device=None, workdir=None, keep_workdir=False,
                   sandbox_factory=Sandbox, progress=None):
    """Grade the notebook at ``path``; always returns a GradingResult unless the
    grader itself cannot run (GraderError)."""
    cfg = config or load_config()
    start = time.monotonic()
    path = Path(path)
    result = GradingResult(submission=str(path))
    checks = all_checks(cfg)
    by_question = OrderedDict()
    for check in checks:
        by_question.setdefault(check.question, []).append(check)

    def fail_all(question_checks, message):
        for check in question_checks:
            result.tests.append(_test(check, cfg, Verdict(False, message)))

    try:
        nb = read_notebook(path)
    except NotebookError as e:
        result.problems.append(str(e))
        fail_all(checks, f"not graded: {e}")
        result.execution_time = time.monotonic() - start
        return result

    extracted = extract(nb)
    result.problems.extend(extracted.problems)
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="nndl-grade-"))
    sandbox = sandbox_factory(tmp, extracted.to_json(), memory_mb=cfg.memory_limit_mb)
    logs = {}
    try:
        try:
            info = sandbox.start()
        except SandboxError as e:
            raise GraderError(str(e)) from e
        sandbox.device = resolve_device(device or cfg.device, info)
        result.staff["device"] = sandbox.device
        result.staff["paddle"] = info.get("paddle")
        skip = _find_lethal_statements(sandbox, extracted, cfg, result)
        defined = set().union(*[st.names for i, st in enumerate(extracted.statements)
                                if i not in skip])
        for question, qchecks in by_question.items():
            if progress:
                progress(question)
            cls = GRADED_CLASS[question]
            if cls not in defined:
                why = ("its definition stopped the program when run, so it was skipped"
                       if cls in extracted.defined else
                       "it is not defined at the top level of a code cell of the notebook")
                fail_all(qchecks, f"class {cls} could not be graded: {why}")
                continue
            remaining = cfg.total_time_limit - (time.monotonic() - start)
            if remaining <= 1:
                fail_all(qchecks, "not run: the time limit for the whole submission was "
                                  "reached by earlier questions")
                continue
            inputs = {c.name: c.make_inputs(cfg.check_seed) for c in qchecks}
            requests = [(c.name, c.probe, {k: v for k, v in inputs[c.name].items()
                                           if not k.startswith("_")}) for c in qchecks]
            limit = min(cfg.question_time_limit, remaining)
            try:
                report, probed = sandbox.run_question(question, requests, limit, skip)
            except SandboxError:
                raise
            except Exception:  # noqa: BLE001 - what the worker left must not fail the grader
                logs.setdefault("runner_errors", []).append(traceback.format_exc())
                fail_all(qchecks, "the results of this question could not be read back")
                continue
            logs[question] = {"report": report,
                              "output": sandbox.log(question, cfg.log_limit_kb * 1024)}
            for check in qchecks:
                got = probed[check.name]
                if got.sandbox_note:
                    result.staff["sandbox"] = got.sandbox_note
                for p in got.load_problems:
                    if p not in result.problems:
                        result.problems.append(p)
                if got.error is not None:
                    verdict = Verdict(False, _explain(got.error, extracted))
                else:
                    try:
                        verdict = judged(check, inputs[check.name], got.outputs)
                    except Exception as e:  # noqa: BLE001 - odd arrays must not stop grading
                        verdict = Verdict(False, f"the returned values could not be judged "
                                                 f"({type(e).__name__}: {e})")
                        logs.setdefault("judge_errors", []).append(traceback.format_exc())
                result.tests.append(_test(check, cfg, verdict))
    finally:
        sandbox.stop()
        if not keep_workdir and not workdir:
            shutil.rmtree(tmp, ignore_errors=True)
    result.staff["questions"] = logs
    result.execution_time = time.monotonic() - start
    return result


def failed_result(submission, cfg, error):
    """The result written when the grader itself failed: zero, with a notice."""
    result = GradingResult(submission=str(submission), grader_error=error)
    try:
        for check in all_checks(cfg):
            result.tests.append(_test(check, cfg, Verdict(
                False, "Autograder failed, contact staff")))
    except Exception:  # noqa: BLE001 - even a broken config gets a results file
        pass
    result.problems.append("Autograder failed, contact staff.")
    return result
