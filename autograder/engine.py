"""Grade one notebook: read it as a program, run the slice each question's
class needs in a sandboxed worker, judge the returned arrays here, and build
the result.

The grader process never imports or executes student code: it parses the
notebook (:mod:`.notebook`), hands statements and plain arrays to the
sandboxed child, and judges plain arrays that come back. A question whose
worker hangs, crashes or exhausts memory scores 0 on its checks only; a
statement of a slice that kills or hangs the worker is skipped and the
question run again without it, so it costs only the questions whose slice
holds it.

:class:`Grading` is the pipeline; its units: the time budget and re-run policy
(:mod:`.budget`), driving the sandbox (:mod:`.worker_runs`), the wording of
diagnoses (:mod:`.diagnoses`) and building the result (:mod:`.result_builder`).
"""

import re
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path

from nndl.checks.core import Verdict, judged

from . import diagnoses, i18n
from .budget import Budget
from .config import load_config
from .errors import GraderError
from .i18n import N_, say
from .lab import load_lab
from .notebook import (NotebookError, own_source, parse, read_notebook, runtime_note,
                       slice_for, with_runtime_bindings)
from .results import TestSpec
from .limits import Speed, load_timing, question_limits
from .result_builder import ResultBuilder
from .sandbox.runner import Sandbox, SandboxError, child_root
from .worker_runs import QuestionRun, WorkerRuns

_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")


def test_specs(cfg, lab):
    """What the results say of each check of ``lab`` before it runs."""
    run = cfg.run
    return [TestSpec(c.name, c.question, say(c.title, **dict(c.title_params)),
                     cfg.checks[c.name].points, lab.is_hidden(c),
                     run.hidden_visibility if lab.is_hidden(c) else run.public_visibility)
            for c in lab.checks()]


def _not_cuda(info):
    return GraderError("--device gpu was asked for, but the installed paddle "
                       f"{info.get('paddle') or '(none)'} is not compiled with CUDA "
                       "(install paddlepaddle-gpu, or use --device cpu)")


class Grading:
    """One grading, as a pipeline of named steps: :meth:`read` the notebook,
    :meth:`start` on the sandbox, :meth:`grade_question` for each question
    (run its worker, run it again with the statements that bind names at run
    time when needed, judge each check, re-run a check near its threshold),
    :meth:`finish` the result."""

    def __init__(self, path, cfg, lab, progress=None):
        self.path, self.cfg, self.lab, self.progress = Path(path), cfg, lab, progress
        i18n.use(cfg.lab.language)      # what students read, in the course's language
        self.budget = Budget(cfg.run.total_time_limit)
        self.built = ResultBuilder(path, {s.name: s for s in test_specs(cfg, lab)},
                                   cfg.lab.language)
        self.program = None
        self.slices = {}               # graded class -> its Slice of the notebook
        self.timing = load_timing()
        self.profile = {"questions": {}}   # where the time went (scripts/profile_grade.py)
        self.workers = None            # WorkerRuns, once started on a sandbox

    @property
    def result(self):
        return self.built.result

    # -- the pipeline ---------------------------------------------------------------
    def read(self):
        """Parse the notebook; False (and a zero result) when it cannot be read."""
        start = time.monotonic()
        try:
            nb = read_notebook(self.path)
        except NotebookError as e:
            self.built.not_graded(self.path, str(e))
            return False
        self.program = parse(nb, self.lab.grader_modules())
        self.result.problems.extend(self.program.problems)
        graded = self.lab.graded_classes
        self.slices = {cls: slice_for(self.program, cls, graded) for cls in graded}
        self.result.staff["class_sources"] = {cls: own_source(sl)
                                              for cls, sl in self.slices.items() if sl.defined}
        self.profile["read"] = time.monotonic() - start
        return True

    def grade(self, sandbox):
        self.start(sandbox)
        for unit in self.lab.units:
            if self.progress:
                self.progress(unit.id)
            self.grade_question(unit)

    def start(self, sandbox):
        """Use ``sandbox`` (fresh for this notebook); the staff log says which and how
        fast, and each question's limits are set at its speed."""
        sandbox.reset()
        self.profile["sandbox"] = {"start": sandbox.start_seconds,
                                   **sandbox.info.get("startup", {})}
        self.result.staff.update(device=sandbox.device, paddle=sandbox.info.get("paddle"),
                                 jail=sandbox.info.get("jail"), speed=asdict(sandbox.speed),
                                 sandbox_grading=sandbox.gradings)
        preflight = getattr(sandbox, "preflight_report", None)
        if preflight is not None:
            self.result.staff["preflight"] = asdict(preflight)
        if getattr(sandbox, "device_note", ""):
            self.result.staff["device_note"] = sandbox.device_note
        self.budget.limits = {unit.id: question_limits(self.cfg.run, self.timing, sandbox.speed,
                                                       unit.id, self.cfg.accuracy.iterations)
                              for unit in self.lab.units}
        self.workers = WorkerRuns(sandbox, self.lab, self.budget, self.profile, self.built)

    def grade_question(self, unit):
        sl = self.slices[unit.graded_class]
        run = QuestionRun(unit, sl, self.budget.limits[unit.id])
        inputs = {c.name: c.make_inputs(self.cfg.seeds.checks) for c in unit.checks}
        if sl.defined and not self.workers.run(run, unit.checks, inputs):
            return self.built.fail(unit, N_("not run: the time limit for the whole submission "
                                            "was reached by earlier questions"))
        run = self.regrade_with_runtime_bindings(run, inputs)
        if not run.slice.defined:
            return self.built.fail(unit, N_("class %(cls)s could not be graded: it is not "
                                            "defined at the top level of a code cell of the "
                                            "notebook"), cls=unit.graded_class)
        self.log_question(run)
        self.built.note_failures(run)
        self.judge_question(run, inputs)

    def log_question(self, run):
        """The question's staff log: the worker's report, slice, skips, limits, output."""
        self.built.logs[run.unit.id] = {
            "report": run.report.to_json(), "slice": run.slice.indices,
            "skipped": sorted(run.skipped), "limits": asdict(run.limits),
            "output": self.workers.sandbox.log(run.unit.id, self.cfg.run.log_limit_kb * 1024),
            **run.notes}

    def judge_question(self, run, inputs):
        """Record a verdict for each of the question's checks."""
        undefined = diagnoses.class_failure(run)
        profile = self.profile["questions"][run.unit.id]
        judged_from, worker_before = time.monotonic(), profile["worker"]
        for check in run.unit.checks:
            if undefined:
                self.built.record(check, Verdict(False, undefined, plain=True,
                                                 key="class could not be graded"))
            else:
                verdict = self.verdict(check, inputs[check.name], run)
                self.built.record(check, self.rerun_if_near(run, check, verdict))
        # the judging, without the workers of re-runs (counted as the question's worker)
        profile["judge"] = time.monotonic() - judged_from - (profile["worker"] - worker_before)

    def regrade_with_runtime_bindings(self, run, inputs):
        """The question run again (or, when its class has no static binder, run
        at all) with the statements that bind names at run time
        (:mod:`.notebook.runtime`), when ``run`` met an undefined name that no
        statement binds statically; else ``run`` itself. Said in the staff log
        and in the notebook's problems."""
        cls, graded = run.unit.graded_class, self.lab.graded_classes
        errors = [got.error for got in run.probed.values() if got.error] + \
            [message for _, message in run.errors.values()]
        missing = {m.group(1) for e in errors for m in _NAME_ERROR.finditer(e)}
        missing |= set() if run.slice.defined else {cls}
        widened = with_runtime_bindings(self.program, run.slice, missing, graded)
        if widened is None:
            return run
        again = QuestionRun(run.unit, widened, run.limits, skipped=dict(run.skipped))
        if not self.workers.run(again, run.unit.checks, inputs, again=run.slice.defined):
            return run
        names = sorted(n for n in missing if not self.program.binders(n)
                       and (n == cls or n not in graded))
        again.notes["runtime_bindings"] = {"missing": names, "first_slice": run.slice.indices,
                                           "added": [st.index for st in widened.runtime],
                                           "binders": [st.describe() for st in widened.runtime]}
        self.result.problems.append(runtime_note(run.unit.id, names, widened.runtime))
        return again

    def rerun_if_near(self, run, check, verdict):
        """A check that failed close to its threshold (an accuracy run, say) is
        run again with the other inputs of ``check.rerun``; it passes if one
        run passes (the rule and its false-fail rate: autograder/reference/accuracy.py)."""
        def again(inputs):
            ran = self.workers.run(run, [check], {check.name: inputs}, again=True)
            return self.verdict(check, inputs, run) if ran else None

        first = verdict
        verdict, runs = check.rerun_if_near(verdict, self.cfg.seeds.checks, again)
        return diagnoses.after_reruns(first, verdict, runs)

    def verdict(self, check, inputs, run):
        got = run.probed.get(check.name)
        if got is None:
            key = N_("the results of this question could not be read back")
            return Verdict(False, say(key), key=key)
        if got.error is not None:
            return Verdict(False, diagnoses.explain(got.error, run, self.program,
                                                    self.lab.graded_classes, _NAME_ERROR),
                           plain=True, key=got.key or "error")
        try:
            return judged(check, inputs, got.outputs)
        except Exception as e:  # noqa: BLE001 - odd arrays must not stop grading
            self.built.logs.setdefault("judge_errors", []).append(traceback.format_exc())
            key = N_("the returned values could not be judged (%(error)s)")
            return Verdict(False, say(key, error=f"{type(e).__name__}: {e}"), key=key)

    def finish(self):
        return self.built.finish(self.program, self.profile, self.budget.start)


def _start(sandbox):
    try:
        return sandbox.start()
    except SandboxError as e:
        raise GraderError(str(e)) from e


def start_on_device(sandbox, requested):
    """Start ``sandbox`` on the ``requested`` device ("cpu", "gpu", "auto"). A
    GPU is used only when the preflight succeeds; when it fails, "gpu" raises
    GraderError with its message and "auto" grades on the CPU and says so
    (stderr, ``sandbox.device_note``). Returns the zygote's hello."""
    sandbox.requested, sandbox.device_note, sandbox.preflight_report = requested, "", None
    info = _start(sandbox)
    if requested == "gpu" and not info.get("cuda"):
        raise _not_cuda(info)
    if sandbox.device != "gpu":
        return info
    report = sandbox.preflight_report = sandbox.preflight()
    if report.ok:
        info["bench_cpu"] = report.bench_cpu
        return info
    if requested == "gpu":
        raise GraderError(f"--device gpu: {report.message()}")
    sandbox.device_note = (f"--device auto: grading on the CPU, not the GPU: "
                           f"{report.message()}")
    print(sandbox.device_note, file=sys.stderr)
    sandbox.stop()
    sandbox.requested = "cpu"
    return _start(sandbox)


@contextmanager
def open_sandbox(cfg, lab=None, *, device=None, workdir=None, factory=Sandbox):
    """A started sandbox for ``cfg``'s lab (paddle imported once, or on a GPU
    by each worker), stopped on exit; grade any number of notebooks in it with
    ``grade_notebook(..., sandbox=...)``: every worker is forked fresh and
    nothing of one submission is visible to the next."""
    lab = lab or load_lab(cfg)
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="nndl-grade-"))
    sandbox = factory(tmp, lab.sandbox_spec(child_root()), memory_mb=cfg.run.memory_limit_mb)
    try:
        info = start_on_device(sandbox, device or cfg.run.device)
        sandbox.speed = Speed.measure(info, load_timing())
        yield sandbox
    finally:
        sandbox.stop()
        if not workdir:
            shutil.rmtree(tmp, ignore_errors=True)


def choose_device(cfg, device=None):
    """``(device, note)``: the device a batch grades everyone on, decided once
    before grading anyone (the preflight, when a GPU may be used; ``note``
    says why "auto" fell back to the CPU). GraderError when "gpu" cannot be."""
    with open_sandbox(cfg, device=device) as sandbox:
        return sandbox.device, sandbox.device_note


def grade_notebook(path, config=None, *, lab=None, device=None, workdir=None,
                   sandbox_factory=Sandbox, sandbox=None, progress=None):
    """Grade the notebook at ``path``; always returns a GradingResult unless the
    grader itself cannot run (GraderError). ``sandbox``: a started sandbox to
    reuse (:func:`open_sandbox`); else one is started for this notebook. ``lab``:
    the config's lab when the caller has loaded it already (loaded once per grading)."""
    cfg = config or load_config()
    lab = lab or load_lab(cfg)
    grading = Grading(path, cfg, lab, progress)
    if not grading.read():
        return grading.finish()
    sandbox_in_use = nullcontext(sandbox) if sandbox is not None else \
        open_sandbox(cfg, lab, device=device, workdir=workdir, factory=sandbox_factory)
    with sandbox_in_use as box:
        grading.grade(box)
    return grading.finish()
