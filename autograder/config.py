"""The grading configuration (``grading.toml``), read into typed dataclasses
and validated on load: an unknown or misspelled key, a value of the wrong
type, outside its choices or outside its range is an error naming the key and
the file.

Each field's default and description are declared here, next to it; the
shipped ``grading.toml`` sets every one of them explicitly.
"""

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nndl.i18n import LANGUAGES

from .errors import InstructorError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Gradescope's image has Python 3.10
    import tomli as tomllib

DEFAULT_CONFIG = Path(__file__).with_name("grading.toml")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
DEVICES = ("auto", "cpu", "gpu")


class ConfigError(InstructorError):
    pass


SEED_RANGE = (0, 2**32 - 1)     # what numpy's and paddle's seeding accept


def setting(default, help, choices=None, bounds=None,  # noqa: A002 - the field's description
            check=None):
    """A config field: its default, its description and its allowed values
    (``choices``, or ``bounds = (lowest, highest)`` inclusive, None for open, or
    ``check(value, where)`` returning the value or raising ConfigError)."""
    meta = {"help": help, "choices": choices, "bounds": bounds, "check": check}
    if isinstance(default, (list, dict)):           # a fresh copy for every instance
        return field(default_factory=default.copy, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class LabSettings:
    """The lab being graded: described once, here; the engine holds no lab fact."""
    name: str = setting("", "the lab's title, for reports")
    notebook: str = setting("", "file name of the notebook students submit")
    library: str = setting("", "the course package the notebook imports (shipped to students)")
    public_checks: str = setting("", "package of public question modules (one per question)")
    questions: str = setting("", "package of instructor question packages (one per question)")
    reference: str = setting("", "package of the reference model the graded classes plug into")
    sandbox_preload: list = setting([], "modules the sandbox imports once, before forking")
    known_code: dict = setting({}, "{label: path}: code every student may have (the book's, the "
                               "solution, the template), marked in similarity clusters; paths "
                               "from the repository's root")
    language: str = setting("en", "the language of everything students read: the notebook "
                            "`grade.py build` writes, its self-checks, the diagnoses, results.json "
                            "and feedback.html (staff output stays English)", LANGUAGES)


@dataclass(frozen=True)
class RunSettings:
    device: str = setting("auto", "where paddle runs: auto (gpu when paddle has CUDA), cpu, gpu",
                          DEVICES)
    time_limit_factor: float = setting(15.0, "a question's worker may take this many times the "
                                             "reference's time for it (see autograder/limits.py)",
                                      bounds=(1, None))
    question_time_limit: float = setting(60.0, "seconds for a question the calibration does not "
                                               "know, and the most any question gets",
                                        bounds=(1, None))
    statement_time_limit: float = setting(5.0, "seconds for one notebook statement of a slice",
                                         bounds=(0.1, None))
    total_time_limit: float = setting(420.0, "seconds for a whole submission; later questions "
                                             "get 0", bounds=(1, None))
    memory_limit_mb: int = setting(2048, "address-space limit of a worker (paddle needs ~1 GiB)",
                                  bounds=(1024, None))
    log_limit_kb: int = setting(64, "student output kept per question (staff log only)",
                              bounds=(0, None))
    public_visibility: str = setting("visible", "Gradescope visibility of public tests",
                                     VISIBILITIES)
    hidden_visibility: str = setting("after_published", "Gradescope visibility of hidden tests "
                                     "(students see only pass/fail)", VISIBILITIES)


@dataclass(frozen=True)
class SeedSettings:
    checks: int = setting(2026, "seed of the grader-chosen inputs of the exact checks",
                                bounds=SEED_RANGE)


@dataclass(frozen=True)
class AccuracySettings:
    iterations: int = setting(1000, "full-batch training steps of an accuracy run",
                              bounds=(1, None))
    data_seed: int = setting(0, "make_moons random_state", bounds=SEED_RANGE)
    init_seed: int = setting(0, "seed of the initial weights", bounds=SEED_RANGE)
    train_seed: int = setting(0, "paddle seed of the run (dropout masks)", bounds=SEED_RANGE)
    train_threshold: float = setting(0.75, "minimum train accuracy", bounds=(0, 1))
    test_threshold: float = setting(0.65, "minimum test accuracy", bounds=(0, 1))


def parse_iso_time(text):
    """``datetime.fromisoformat``, also taking a final ``Z`` on Python 3.10
    (Gradescope's image); raises ValueError."""
    text = text.strip()
    return datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)


def _deadline(value, where):
    """An ISO 8601 time with its offset (``2026-12-01T23:59:00+08:00``), or ""."""
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string like \"2026-12-01T23:59:00+08:00\"")
    if value:
        try:
            parsed = parse_iso_time(value)
        except ValueError:
            raise ConfigError(f"{where} = {value!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise ConfigError(f"{where} = {value!r} has no time zone: add its offset, "
                              "e.g. +08:00 or Z")
    return value


def _tiers(value, where):
    """[[days, fraction], ...]: up to ``days`` days late, ``fraction`` of the maximum is lost."""
    ok = isinstance(value, list) and all(
        isinstance(t, list) and len(t) == 2 and all(isinstance(x, (int, float)) and
                                                    not isinstance(x, bool) for x in t)
        and t[0] > 0 and 0 <= t[1] <= 1 for t in value)
    if not ok or [t[0] for t in value] != sorted(t[0] for t in value):
        raise ConfigError(f"{where} must be a list of [days, fraction] pairs, days "
                          "increasing and fractions from 0 to 1, e.g. [[1, 0.1], [3, 0.3]]")
    return [[float(d), float(f)] for d, f in value]


@dataclass(frozen=True)
class LateSettings:
    """The late policy (docs/term.md); no deadline: no penalty."""
    deadline: str = setting("", "ISO 8601 time with its offset; empty: no late penalty",
                            check=_deadline)
    grace_minutes: float = setting(0.0, "minutes after the deadline (or an extension) that "
                                        "are not late", bounds=(0, None))
    penalty_per_day: float = setting(0.0, "fraction of the maximum lost per day or part of a "
                                          "day late (after the grace)", bounds=(0, 1))
    max_days: float = setting(0.0, "later than this many days: 0 points (0: no limit)",
                              bounds=(0, None))
    tiers: list = setting([], "instead of penalty_per_day: [[days, fraction], ...], the "
                              "fraction lost up to that many days late; later: all",
                          check=_tiers)


@dataclass(frozen=True)
class GradebookSettings:
    allow_extra_credit: bool = setting(False, "final scores may exceed the maximum (after "
                                              "adjustments); otherwise clamped to [0, max]")


@dataclass(frozen=True)
class CheckConfig:
    points: float


@dataclass(frozen=True)
class Config:
    lab: LabSettings = field(default_factory=LabSettings)
    run: RunSettings = field(default_factory=RunSettings)
    seeds: SeedSettings = field(default_factory=SeedSettings)
    accuracy: AccuracySettings = field(default_factory=AccuracySettings)
    late: LateSettings = field(default_factory=LateSettings)
    gradebook: GradebookSettings = field(default_factory=GradebookSettings)
    questions: dict = field(default_factory=dict)    # question id -> {check short name: points}
    source: str = ""

    @property
    def checks(self):
        """{full check name: CheckConfig} from ``[questions.<id>]``."""
        return {f"{q}.{name}": CheckConfig(points) for q, table in self.questions.items()
                for name, points in table.items()}

    @property
    def max_score(self):
        return sum(c.points for c in self.checks.values())

    def replace_run(self, **changes):
        """A copy with some ``[run]`` settings changed."""
        return dataclasses.replace(self, run=dataclasses.replace(self.run, **changes))


def _typed(value, kind, where):
    """``value`` checked against the type ``kind`` (lists and tables of strings)."""
    if isinstance(value, bool) and kind in (int, float):
        raise ConfigError(f"{where} must be a number, not {value!r}")
    if not isinstance(value, (int, float) if kind is float else kind):
        raise ConfigError(f"{where} must be of type {kind.__name__}, not {type(value).__name__}")
    if kind is list and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    if kind is dict and not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where} must be a table of strings")
    return kind(value)


def _section(cls, raw, where):
    """An instance of the settings dataclass ``cls`` from the table ``raw``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    values = {}
    for key, value in raw.items():
        f = known[key]
        check = f.metadata.get("check")
        if check is not None:
            values[key] = check(value, f"{where}.{key}")
            continue
        values[key] = _typed(value, f.type, f"{where}.{key}")
        choices = f.metadata.get("choices")
        if choices and values[key] not in choices:
            raise ConfigError(f"{where}.{key} = {value!r} is not one of {choices}")
        low, high = f.metadata.get("bounds") or (None, None)
        if (low is not None and values[key] < low) or (high is not None and values[key] > high):
            wanted = (f"from {low} to {high}" if low is not None and high is not None
                      else f"at least {low}" if low is not None else f"at most {high}")
            raise ConfigError(f"{where}.{key} = {value!r} is out of range: it must be {wanted}")
    return cls(**values)


def _questions(raw, where):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of questions")
    questions = {}
    for qid, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.{qid} must be a table of check points")
        points = {}
        for name, value in table.items():
            value = _typed(value, float, f"{where}.{qid}.{name}")
            if value < 0:
                raise ConfigError(f"{where}.{qid}.{name} must not be negative")
            points[name] = value
        questions[qid] = points
    return questions


SECTIONS = {"lab": LabSettings, "run": RunSettings, "seeds": SeedSettings,
            "accuracy": AccuracySettings, "late": LateSettings, "gradebook": GradebookSettings}


def load_config(path=None):
    """The :class:`Config` in ``path`` (default: the bundled grading.toml)."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read the grading config {path}: {e}") from None
    unknown = sorted(set(raw) - set(SECTIONS) - {"questions"})
    if unknown:
        raise ConfigError(f"{path}: unknown section [{unknown[0]}] "
                          f"(known: {', '.join([*SECTIONS, 'questions'])})")
    sections = {key: _section(cls, raw.get(key, {}), f"{path} [{key}]")
                for key, cls in SECTIONS.items()}
    return Config(**sections, questions=_questions(raw.get("questions", {}),
                                                   f"{path} [questions]"),
                  source=str(path))


TERM_SECTIONS = ("late", "gradebook")     # how grades are kept, not how notebooks are graded
_TABLE = re.compile(rb"^\s*\[\s*([A-Za-z0-9_-]+)")


def grading_bytes(data):
    """The config file's bytes without its ``[late]`` and ``[gradebook]`` tables: what
    a saved grading depends on (a batch's content hash), so that editing the late
    policy regrades nothing (penalties are recomputed from the database)."""
    kept, skipping = [], False
    for line in data.splitlines(keepends=True):
        table = _TABLE.match(line)
        if table:
            skipping = table.group(1).decode() in TERM_SECTIONS
        if not skipping:
            kept.append(line)
    return b"".join(kept)
