"""The messages and words the sandbox's two sides exchange, defined once: the
runner's :class:`Request` for one worker and the zygote's :class:`Report` of
how it went (JSON lines on the zygote's stdin and stdout), how a worker ended
(:class:`Outcome`), the GPU preflight's report (:class:`Preflight`) and the
worker's set-up steps (:data:`SETUP_STEPS`), the progress mark a worker writes while it runs
(``"s N"`` for slice statement N, then :data:`MARK_PROBES`, then
:data:`MARK_DONE`) and the set-up step it reached (:data:`SETUP_READY` once the
student's code may start). Used by the zygote (``child.py``), the runner, the
engine and the gradebook; the messages themselves are JSON, so a report read
back holds plain strings, which compare equal to these values. Also the
status of each student in the class's gradebook (:class:`Status`), which the
batch, its gradebook and the term's database record.

Imported by the sandbox's child: standard library only.
"""

import re
from dataclasses import asdict, dataclass, field, fields
from enum import Enum


class Outcome(str, Enum):
    """How a worker ended (the report's ``outcome``)."""
    EXITED = "exited"                        # by itself, with an exit status (``code``)
    TIMEOUT = "timeout"                      # the question's CPU or wall time ran out
    STATEMENT_TIMEOUT = "statement_timeout"  # one statement ran past its limit
    SIGNAL = "signal"                        # killed by a signal (``code``)
    DISK_LIMIT = "disk_limit"                # wrote more to its scratch than allowed
    LOST = "lost"                            # the zygote stopped answering

    @classmethod
    def of(cls, value):
        """The outcome a (untrusted) report names, or None."""
        try:
            return cls(value)
        except ValueError:
            return None

    @property
    def out_of_time(self):
        return self in (Outcome.TIMEOUT, Outcome.STATEMENT_TIMEOUT)


SETUP_READY = "ready"        # the worker's set-up is done: the student's code may run
# A worker's set-up steps, in order (each reported on its set-up pipe before it
# starts; SETUP_READY after the last), with what each does, for the instructor.
SETUP_STEPS = {"limits": "setting the worker's limits", "output": "redirecting its output",
               "paddle": "importing paddle", "device": "making the GPU paddle's device",
               "context": "running a first op on the GPU (CUDA context)",
               "inputs": "reading the checks' inputs",
               "references": "loading the reference classes", "jail": "entering the jail",
               "op in the jail": "running an op on the GPU in the jail",
               "bench": "the CPU benchmark"}
MARK_PROBES = "p"            # the slice ran; the probes are running
MARK_DONE = "d"              # the probes are done
_STATEMENT = re.compile(r"s [0-9]{1,9}")


def statement_mark(index):
    """The mark a worker writes before running slice statement ``index``."""
    return f"s {int(index)}"


def marked_statement(mark):
    """The statement index of a well-formed statement mark, else None."""
    mark = str(mark)
    return int(mark[2:]) if _STATEMENT.fullmatch(mark) else None


def _known(cls, data):
    """The fields of dataclass ``cls`` that ``data`` (a dict, else nothing) holds."""
    data = data if isinstance(data, dict) else {}
    return {f.name: data[f.name] for f in fields(cls) if f.name in data}


@dataclass
class ProbeRequest:
    """One check a worker runs after the slice: its probe and its files."""
    name: str
    probe: str            # "module:function"
    inputs: str           # the inputs' .npz
    output: str           # where the worker writes the outputs' .npz
    status: str           # where the worker writes the check's status (JSON)


@dataclass
class Request:
    """The runner's request to the zygote: run one question's worker."""
    question: str
    cpu_limit: float
    wall_limit: float
    statement_limit: float
    device: str                         # "cpu", "gpu" or "gpu:N"
    scratch: str                        # the worker's own writable folder
    io_dir: str = ""                    # its inputs, outputs and statuses
    workdir: str = ""                   # the sandbox's folder (read-only to the worker)
    log: str = ""                       # the student's printed output
    progress: str = ""                  # the progress marks (statement_mark, MARK_*)
    slice_status: str = ""              # the slice's status (JSON), written by the worker
    gpu_index: int = None
    memory_bytes: int = None
    statements: list = field(default_factory=list)   # Statement.to_json() each
    references: dict = field(default_factory=dict)   # {slot: "module:Class"}
    checks: list = field(default_factory=list)       # ProbeRequest each
    preflight: bool = False             # the GPU preflight's worker

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        """From the runner's JSON (trusted: the grader wrote it)."""
        request = cls(**_known(cls, data))
        request.checks = [c if isinstance(c, ProbeRequest) else ProbeRequest(**c)
                          for c in request.checks]
        return request


@dataclass
class Report:
    """The zygote's report of one worker. Read defensively: the zygote runs next
    to the student's code, so anything may come back; a missing or malformed
    report is a lost worker."""
    outcome: str = Outcome.LOST.value   # an Outcome's value
    code: int = None                    # the exit status or the signal
    elapsed: float = None               # wall-clock seconds
    waited: float = None                # of elapsed, the seconds spent waiting for a CPU
    cpu: float = None                   # CPU seconds
    mark: str = ""                      # the last progress mark
    setup: str = None                   # SETUP_READY, the set-up step it died in, or ""
    question: str = ""

    def to_json(self):
        return asdict(self)

    @classmethod
    def lost(cls):
        """The report of a worker whose zygote stopped answering."""
        return cls()

    @classmethod
    def from_json(cls, data):
        """The report ``data`` holds, each field of the expected type (else its default)."""
        kept = _known(cls, data)
        report = cls()
        outcome = Outcome.of(kept.get("outcome"))
        report.outcome = outcome.value if outcome is not None else Outcome.LOST.value
        if isinstance(kept.get("code"), int) and not isinstance(kept.get("code"), bool):
            report.code = kept["code"]
        for name in ("elapsed", "waited", "cpu"):
            value = kept.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and 0 <= value < 1e9:
                setattr(report, name, float(value))
        for name in ("mark", "setup", "question"):
            if isinstance(kept.get(name), str):
                setattr(report, name, kept[name][:200])
        return report

    @property
    def ended(self):
        """The report's :class:`Outcome`."""
        return Outcome(self.outcome)


@dataclass
class Preflight:
    """What the GPU preflight worker found (see :mod:`.preflight`)."""
    ok: bool
    step: str = ""              # the step that failed (a key of SETUP_STEPS), "" when ok
    reason: str = ""            # why, in a sentence
    paddle: str = ""            # paddle's version
    cuda: str = ""              # the CUDA version the wheel was built for
    gpu: str = ""               # the GPU's name, when one was used
    setup_cpu: float = 0.0      # CPU seconds of a GPU worker's start-up (import, context)
    setup_wall: float = 0.0     # wall-clock seconds of the same
    bench_cpu: float = None     # the CPU benchmark of :mod:`autograder.limits`

    def message(self):
        """One paragraph for the instructor: what failed and why."""
        if self.ok:
            return (f"GPU preflight ok: {self.gpu or 'GPU'} (paddle {self.paddle}, CUDA "
                    f"{self.cuda}); a GPU worker starts in {self.setup_wall:.1f} s")
        step = SETUP_STEPS.get(self.step, self.step)
        return f"GPU preflight failed at {step}: {self.reason}"

    @classmethod
    def from_json(cls, data, **defaults):
        """From the worker's JSON (untrusted types are coerced)."""
        report = cls(**{**defaults, **_known(cls, data)})
        for name in ("setup_cpu", "setup_wall"):
            value = getattr(report, name)
            setattr(report, name, float(value) if isinstance(value, (int, float)) else 0.0)
        return report


class Status(str, Enum):
    """A student's status in the gradebook (``gradebook.csv``'s ``status``, the
    batch's markers, the term's database). A plain string wherever it is
    written: ``str()``/``format()`` give the value."""
    OK = "ok"                                  # found, not graded yet (discovery)
    GRADED = "graded"                          # graded: the score counts
    GRADER_ERROR = "grader_error"              # the grader failed on it
    NOT_GRADED = "not_graded"                  # found, but no grading recorded
    MISSING = "missing"                        # on the roster, nothing submitted
    NOT_ON_ROSTER = "not_on_roster"            # graded, but not on the roster
    NOT_A_NOTEBOOK = "not_a_notebook"          # a file that is not a notebook
    TOO_LARGE = "too_large"                    # the notebook is over the size limit
    BAD_ZIP = "bad_zip"                        # a zip that cannot be read
    UNREADABLE = "unreadable"                  # a file that cannot be read
    NO_NOTEBOOK = "no_notebook"                # a zip or folder without a notebook
    MULTIPLE_NOTEBOOKS = "multiple_notebooks"  # more than one candidate notebook
    DUPLICATE_ID = "duplicate_id"              # two submissions for one student
    BAD_ID = "bad_id"                          # an id that cannot name a student

    __str__ = str.__str__          # the value, as the JSON, CSV and database hold it
    __format__ = str.__format__
    __hash__ = str.__hash__        # a dict keyed by the plain word finds it
