"""Driving the sandbox for the engine: one question's worker run (and run
again, per :mod:`.budget`'s policy, when it dies in a statement of its slice
or runs out of GPU memory), its report, arrays and timings kept in a
:class:`QuestionRun`."""

import re
import time
from dataclasses import dataclass, field

from . import diagnoses
from .limits import Limits
from .sandbox.protocol import Report

# What paddle and CUDA say when GPU memory runs out (a shared GPU: another
# grading's worker may hold it): such a question is run again, alone on the GPU
_GPU_OOM = re.compile(r"ResourceExhausted|out of memory|cudaErrorMemoryAllocation|"
                      r"CUDA_ERROR_OUT_OF_MEMORY", re.I)


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
            return diagnoses.statement_error(kind, message, self.limits.statement)
        return None


class WorkerRuns:
    """Runs questions' workers in ``sandbox`` within ``budget``; notes their time
    in ``profile`` and what the staff should know in ``built`` (a ResultBuilder)."""

    def __init__(self, sandbox, lab, budget, profile, built):
        self.sandbox, self.lab, self.budget = sandbox, lab, budget
        self.profile, self.built = profile, built

    def run(self, run, checks, inputs, again=False):
        """Run the question's worker on ``checks``; when it dies in a statement of
        the slice, skip that statement and run again (at most MAX_SKIPPED times);
        when it ran out of GPU memory, run it again once, alone on the GPU.
        ``again``: a re-run of the question. False when the submission's time is
        up before the first run. A worker that dies in its set-up (before the
        student's code) raises GraderError."""
        alone, ran = False, False
        requests = [(c.name, c.probe_name, c.probe_inputs(inputs[c.name])) for c in checks]
        for left in self.budget.attempts(run.unit.id, again):
            ran = True
            limits = Limits(min(run.limits.cpu, left), min(run.limits.wall, left),
                            run.limits.statement)
            statements = [st.to_json() for st in run.slice.statements
                          if st.index not in run.skipped]
            started = time.monotonic()
            run.report, probed, slice_report = self.sandbox.run(
                run.unit.id, statements, requests, limits, self.lab.references_for(run.unit.id),
                **({"alone": True} if alone else {}))
            fault = diagnoses.grader_fault(run.unit.id, run.report, slice_report)
            if fault is not None:
                raise fault
            self.budget.add_setup(slice_report.setup)
            self.note_time(run.unit.id, time.monotonic() - started, slice_report, probed)
            if not alone and self.sandbox.device == "gpu" and _out_of_gpu_memory(slice_report,
                                                                               probed):
                alone = True
                self.built.logs.setdefault("gpu_oom_reruns", []).append(run.unit.id)
                continue
            run.probed.update(probed)
            run.errors = slice_report.errors
            if slice_report.sandbox_note:
                self.built.result.staff["sandbox"] = slice_report.sandbox_note
            died = diagnoses.died_in(run.report, {s["index"] for s in statements})
            if died is None:
                return True
            run.skipped[died] = diagnoses.skipped(run.report, limits.statement)
        return ran

    def note_time(self, question, worker, slice_report, probed):
        """Add one worker run to the profile (a rerun counts for its question)."""
        profile = self.profile["questions"].setdefault(
            question, {"worker": 0.0, "setup": 0.0, "statements": 0.0, "probes": {}})
        profile["worker"] += worker
        profile["setup"] += slice_report.setup
        profile["statements"] += slice_report.statements
        for name, got in probed.items():
            profile["probes"][name] = profile["probes"].get(name, 0.0) + got.seconds


def _out_of_gpu_memory(slice_report, probed):
    """Whether a statement or a probe of this run failed for lack of GPU memory."""
    errors = [message for _, message in slice_report.errors.values()]
    errors += [got.error for got in probed.values() if got.error]
    return any(_GPU_OOM.search(str(e)) for e in errors)
