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
"""

import re
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nndl.checks.core import Verdict, judged

from . import i18n
from .config import load_config
from .errors import GraderFault
from .i18n import N_, nsay, say
from .lab import load_lab
from .notebook import (NotebookError, own_source, parse, read_notebook, runtime_note,
                       slice_for, with_runtime_bindings)
from .results import GradingResult, TestSpec
from .limits import Limits, Speed, load_timing, question_limits
from .sandbox.protocol import SETUP_READY, Outcome, Report, marked_statement
from .sandbox.runner import Sandbox, SandboxError, child_root

MAX_SKIPPED = 3       # statements of one slice skipped for killing or hanging the worker
MIN_ATTEMPT_TIME = 1  # seconds: a question with less time left is not run (again)
_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
# What paddle and CUDA say when GPU memory runs out (a shared GPU: another
# grading's worker may hold it): such a question is run again, alone on the GPU
_GPU_OOM = re.compile(r"ResourceExhausted|out of memory|cudaErrorMemoryAllocation|"
                      r"CUDA_ERROR_OUT_OF_MEMORY", re.I)


class GraderError(GraderFault):
    """The grader itself cannot work (bad config, no paddle, no GPU asked for)."""


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


def grader_fault(question, report, slice_report):
    """The GraderError of a worker that ended before the student's first
    statement started (its set-up is the grader's), or None."""
    if report.setup in (SETUP_READY, None):      # None: the zygote was lost
        return None
    error = slice_report.setup_error or {}
    step = error.get("step") or report.setup or "start"
    why = error.get("error") or f"the worker ended ({report.outcome}, code {report.code})"
    if error.get("diagnosis"):
        why = f"{error['diagnosis']} ({why})"
    return GraderError(f"the sandbox worker of {question} failed in its set-up ({step}), "
                       f"before the student's code started: {why}")


def _fate(report, statement_limit):
    """What a worker that died during a statement did, as a sentence's verb."""
    return say({Outcome.STATEMENT_TIMEOUT: N_("did not finish within %(seconds)s s"),
                Outcome.TIMEOUT: N_("did not finish within the question's time limit"),
                Outcome.SIGNAL: N_("crashed the program"),
                Outcome.DISK_LIMIT: N_("wrote more to disk than a question may")}.get(
        Outcome.of(report.outcome), N_("ended the program")), seconds=f"{statement_limit:g}")


def _died_in(report, indices):
    """The index of the slice statement the worker was running when it ended
    (by ``os._exit``, a crash or a time limit), or None."""
    index = marked_statement(report.mark)
    return index if index in indices else None


@dataclass
class QuestionRun:
    """One question of one grading: its slice, its limits and what became of it."""
    unit: object
    slice: object
    limits: Limits
    skipped: dict = field(default_factory=dict)    # statement index -> why
    errors: dict = field(default_factory=dict)     # statement index -> (kind, message)
    report: Report = field(default_factory=Report)
    probed: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)      # for the staff log (run-time bindings)

    def failed_statement(self, index):
        """Why the statement ``index`` of this slice did not run, or None."""
        if index in self.skipped:
            return self.skipped[index]
        if index in self.errors:
            kind, message = self.errors[index]
            if kind == "timeout":      # the worker's words are English: say them again
                message = say(N_("did not finish within %(seconds)s s"),
                              seconds=f"{self.limits.statement:g}")
                return say(N_("%(message)s, so it was stopped and skipped"), message=message)
            return say(N_("raised %(message)s"), message=message)
        return None


class Grading:
    """The state of one grading, and its steps."""

    def __init__(self, path, cfg, lab, progress=None):
        self.path, self.cfg, self.lab, self.progress = Path(path), cfg, lab, progress
        self.start = time.monotonic()
        i18n.use(cfg.lab.language)      # what students read, in the course's language
        self.result = GradingResult(submission=str(path), language=cfg.lab.language)
        self.specs = {s.name: s for s in test_specs(cfg, lab)}
        self.program = None
        self.slices = {}               # graded class -> its Slice of the notebook
        self.failures = {}             # statement index -> (why, [questions])
        self.logs = {}
        self.timing = load_timing()
        self.limits = {}               # question id -> its Limits (set when grading starts)
        self.profile = {"questions": {}}   # where the time went (scripts/profile_grade.py)
        self.setup_time = 0.0          # the workers' set-up: never the student's time

    # -- steps ----------------------------------------------------------------------
    def read(self):
        """Parse the notebook; False (and a zero result) when it cannot be read."""
        start = time.monotonic()
        try:
            nb = read_notebook(self.path)
        except NotebookError as e:
            self.result = GradingResult.not_graded(self.path, self.specs.values(), str(e),
                                                   self.cfg.lab.language)
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
        self.limits = {unit.id: question_limits(self.cfg.run, self.timing, sandbox.speed, unit.id,
                                                self.cfg.accuracy.iterations)
                       for unit in self.lab.units}
        for unit in self.lab.units:
            if self.progress:
                self.progress(unit.id)
            self.grade_question(sandbox, unit)

    def grade_question(self, sandbox, unit):
        sl = self.slices[unit.graded_class]
        run = QuestionRun(unit, sl, self.limits[unit.id])
        inputs = {c.name: c.make_inputs(self.cfg.seeds.checks) for c in unit.checks}
        if sl.defined and not self.run_worker(sandbox, run, unit.checks, inputs):
            return self.fail(unit, N_("not run: the time limit for the whole submission was "
                                      "reached by earlier questions"))
        run = self.regrade_with_runtime_bindings(sandbox, run, inputs)
        if not run.slice.defined:
            return self.fail(unit, N_("class %(cls)s could not be graded: it is not defined at "
                                      "the top level of a code cell of the notebook"),
                             cls=unit.graded_class)
        self.logs[unit.id] = {"report": run.report.to_json(), "slice": run.slice.indices,
                              "skipped": sorted(run.skipped), "limits": asdict(run.limits),
                              "output": sandbox.log(unit.id, self.cfg.run.log_limit_kb * 1024),
                              **run.notes}
        self.note_failures(run)
        undefined = self.class_failure(run)
        profile = self.profile["questions"][unit.id]
        judged_from, worker_before = time.monotonic(), profile["worker"]
        for check in unit.checks:
            if undefined:
                self.record(check, Verdict(False, undefined, plain=True,
                                           key="class could not be graded"))
            else:
                verdict = self.verdict(check, inputs[check.name], run)
                self.record(check, self.rerun_if_near(sandbox, run, check, verdict))
        # the judging, without the workers of re-runs (counted as the question's worker)
        profile["judge"] = time.monotonic() - judged_from - (profile["worker"] - worker_before)

    def regrade_with_runtime_bindings(self, sandbox, run, inputs):
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
        if not self.run_worker(sandbox, again, run.unit.checks, inputs,
                               again=run.slice.defined):
            return run
        names = sorted(n for n in missing if not self.program.binders(n)
                       and (n == cls or n not in graded))
        again.notes["runtime_bindings"] = {"missing": names, "first_slice": run.slice.indices,
                                           "added": [st.index for st in widened.runtime],
                                           "binders": [st.describe() for st in widened.runtime]}
        self.result.problems.append(runtime_note(run.unit.id, names, widened.runtime))
        return again

    def time_left(self, run=None, again=False):
        """Seconds left of the submission's time; for running ``run``'s question
        ``again`` (a re-run or a skip), less the first runs of the questions after
        it, so that no question's re-runs take the time of the others."""
        left = self.cfg.run.total_time_limit - (time.monotonic() - self.start) + self.setup_time
        if again:
            ids = [u.id for u in self.lab.units]
            left -= sum(self.limits[q].wall for q in ids[ids.index(run.unit.id) + 1:])
        return left

    def run_worker(self, sandbox, run, checks, inputs, again=False):
        """Run the question's worker on ``checks``; when it dies in a statement of
        the slice, skip that statement and run again (at most MAX_SKIPPED times);
        when it ran out of GPU memory, run it again once, alone on the GPU.
        ``again``: a re-run of the question. False when the submission's time is
        up before the first run. A worker that dies in its set-up (before the
        student's code) raises GraderError."""
        alone = False
        requests = [(c.name, c.probe_name, c.probe_inputs(inputs[c.name])) for c in checks]
        for attempt in range(MAX_SKIPPED + 1):
            left = self.time_left(run, again or attempt > 0)
            if left < MIN_ATTEMPT_TIME:
                return attempt > 0
            limits = Limits(min(run.limits.cpu, left), min(run.limits.wall, left),
                            run.limits.statement)
            statements = [st.to_json() for st in run.slice.statements
                          if st.index not in run.skipped]
            started = time.monotonic()
            run.report, probed, slice_report = sandbox.run(
                run.unit.id, statements, requests, limits, self.lab.references_for(run.unit.id),
                **({"alone": True} if alone else {}))
            fault = grader_fault(run.unit.id, run.report, slice_report)
            if fault is not None:
                raise fault
            self.setup_time += slice_report.setup
            self.note_time(run.unit.id, time.monotonic() - started, slice_report, probed)
            if not alone and sandbox.device == "gpu" and _out_of_gpu_memory(slice_report,
                                                                          probed):
                alone = True
                self.logs.setdefault("gpu_oom_reruns", []).append(run.unit.id)
                continue
            run.probed.update(probed)
            run.errors = slice_report.errors
            if slice_report.sandbox_note:
                self.result.staff["sandbox"] = slice_report.sandbox_note
            died = _died_in(run.report, {s["index"] for s in statements})
            if died is None:
                return True
            run.skipped[died] = say(N_("%(fate)s when run, so it was skipped"),
                                    fate=_fate(run.report, limits.statement))
        return True

    def note_time(self, question, worker, slice_report, probed):
        """Add one worker run to the profile (a rerun counts for its question)."""
        profile = self.profile["questions"].setdefault(
            question, {"worker": 0.0, "setup": 0.0, "statements": 0.0, "probes": {}})
        profile["worker"] += worker
        profile["setup"] += slice_report.setup
        profile["statements"] += slice_report.statements
        for name, got in probed.items():
            profile["probes"][name] = profile["probes"].get(name, 0.0) + got.seconds

    def rerun_if_near(self, sandbox, run, check, verdict):
        """A check that failed close to its threshold (an accuracy run, say) is
        run again with the other inputs of ``check.rerun``; it passes if one
        run passes (the rule and its false-fail rate: autograder/reference/accuracy.py)."""
        def again(inputs):
            ran = self.run_worker(sandbox, run, [check], {check.name: inputs}, again=True)
            return self.verdict(check, inputs, run) if ran else None

        first = verdict
        verdict, runs = check.rerun_if_near(verdict, self.cfg.seeds.checks, again)
        if not runs:
            return verdict
        if verdict.passed:
            verdict.message += say(N_(" (run %(run)s with other seeds; run 1 was close to the "
                                      "threshold: %(first)s)"), run=str(runs + 1),
                                   first=first.message)
            return verdict
        first.message += nsay(" (and in %(n)s more run with other seeds)",
                              " (and in %(n)s more runs with other seeds)", runs)
        return first

    def note_failures(self, run):
        """Remember the statements that failed, for the notebook's problems."""
        for index in set(run.skipped) | set(run.errors):
            why, questions = self.failures.setdefault(index, (run.failed_statement(index), []))
            questions.append(run.unit.id)

    def class_failure(self, run):
        """Why the graded class does not exist in the worker, or None: every
        statement of the slice that binds it failed."""
        cls = run.unit.graded_class
        binders = [st for st in run.slice.statements if cls in st.binds]
        whys = [run.failed_statement(st.index) for st in binders]
        if binders and all(whys):
            last = binders[-1]
            return say(N_("class %(cls)s could not be graded: its definition (%(statement)s) "
                          "%(why)s"), cls=cls, statement=last.describe(), why=whys[-1])
        return None

    def verdict(self, check, inputs, run):
        got = run.probed.get(check.name)
        if got is None:
            key = N_("the results of this question could not be read back")
            return Verdict(False, say(key), key=key)
        if got.error is not None:
            return Verdict(False, self.explain(got.error, run), plain=True,
                           key=got.key or "error")
        try:
            return judged(check, inputs, got.outputs)
        except Exception as e:  # noqa: BLE001 - odd arrays must not stop grading
            self.logs.setdefault("judge_errors", []).append(traceback.format_exc())
            key = N_("the returned values could not be judged (%(error)s)")
            return Verdict(False, say(key, error=f"{type(e).__name__}: {e}"), key=key)

    def explain(self, error, run):
        """``error`` with, for a missing name, why it is missing."""
        match = _NAME_ERROR.search(error)
        if not match:
            return error
        name = match.group(1)
        binders = self.program.binders(name)
        failed = [(st, why) for st in run.slice.statements
                  if name in st.binds and (why := run.failed_statement(st.index))]
        if failed:
            st, why = failed[-1]
            note = say(N_("`%(name)s` would have been made by %(statement)s, which %(why)s. A "
                          "graded class should use only its inputs, imports, helper functions "
                          "and constants, not what the notebook's experiments make"),
                       name=name, statement=st.describe(), why=why)
        elif name in self.lab.graded_classes:
            note = say(N_("%(name)s is another graded class: it is graded on its own and is not "
                          "defined while %(cls)s is graded"), name=name,
                       cls=run.unit.graded_class)
        elif not binders:
            note = say(N_("no code cell defines `%(name)s` at the top level of the notebook"),
                       name=name)
        else:
            return error
        return say(N_("%(error)s - note: %(note)s"), error=error, note=note)

    def record(self, check, verdict):
        self.result.tests.append(self.specs[check.name].result(
            verdict.passed, verdict.describe(), verdict.measured, verdict.threshold,
            verdict.plain, key=verdict.key))

    def fail(self, unit, key, **params):
        """Every check of ``unit`` failed, saying the message ``key``."""
        for check in unit.checks:
            self.record(check, Verdict(False, say(key, **params), key=key))

    def finish(self):
        for index, (why, questions) in sorted(self.failures.items()):
            st = self.program.statements[index]
            defines = say(N_(" (it defines %(names)s)"),
                          names=", ".join(sorted(st.binds))) if st.binds else ""
            self.result.problems.append(say(N_("%(statement)s: %(why)s%(defines)s; graded "
                                               "without it: %(questions)s"),
                                            statement=st.describe(), why=why, defines=defines,
                                            questions=", ".join(questions)))
        self.result.staff["questions"] = self.logs
        self.result.staff["profile"] = self.profile
        self.result.execution_time = time.monotonic() - self.start
        return self.result


def _out_of_gpu_memory(slice_report, probed):
    """Whether a statement or a probe of this run failed for lack of GPU memory."""
    errors = [message for _, message in slice_report.errors.values()]
    errors += [got.error for got in probed.values() if got.error]
    return any(_GPU_OOM.search(str(e)) for e in errors)


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
