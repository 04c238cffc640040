"""The lab being graded, assembled from its description (``[lab]`` of the
config) and its question units, which are discovered, never listed:

- the public side: every module of ``lab.public_checks`` defining
  ``QUESTION`` (its id and graded class) and ``CHECKS``;
- the instructor side: the package ``<lab.questions>.<id>`` of each, whose
  ``grading.py`` gives ``SLOT``, ``REFERENCE`` and ``hidden_checks(config)``,
  with the reference class in ``reference.py`` (and hidden probes, if any,
  in ``probes.py``);
- the points: ``[questions.<id>]`` of the config.

A question missing one of its sides, a check without points or points for a
check that does not exist is a :class:`LabError` naming it. Everything the
engine needs about the lab (graded classes, checks in order, which reference
classes a question's worker may load, what the sandbox may import) is derived
here.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError


class LabError(ConfigError):
    """The lab's question units and its config do not match."""


@dataclass
class QuestionUnit:
    question: object               # nndl.checks.core.Question
    public: object                 # the public module
    grading: object                # the instructor module (grading.py)
    checks: list = field(default_factory=list)   # public then hidden, in order
    hidden: frozenset = frozenset()              # names of the hidden checks

    @property
    def id(self):
        return self.question.id

    @property
    def graded_class(self):
        return self.question.graded_class

    @property
    def slot(self):
        return getattr(self.grading, "SLOT", None)

    @property
    def reference(self):
        """``"module:Class"`` of its reference implementation."""
        package = self.grading.__name__.rpartition(".")[0]
        return f"{package}.reference:{self.grading.REFERENCE}"


@dataclass
class Lab:
    settings: object               # config.LabSettings
    units: list                    # QuestionUnit, in question order

    @property
    def ids(self):
        return [u.id for u in self.units]

    @property
    def graded_classes(self):
        return [u.graded_class for u in self.units]

    def unit(self, question_id):
        for u in self.units:
            if u.id == question_id:
                return u
        raise KeyError(question_id)

    def checks(self):
        """Every check, in question order (each question: public, then hidden)."""
        return [c for u in self.units for c in u.checks]

    def is_hidden(self, check):
        return check.name in self.unit(check.question).hidden

    def references_for(self, question_id):
        """{slot: "module:Class"} a question's worker may load: the reference of
        every slot but its own (the first question filling a slot provides it)."""
        own = self.unit(question_id).slot
        refs = {}
        for u in self.units:
            if u.slot and u.slot != own and u.slot not in refs:
                refs[u.slot] = u.reference
        return refs

    def reference_classes(self):
        """{graded class name: its reference class} (imports every reference:
        for the grader's own tests and calibration, never in a worker)."""
        return {u.graded_class: pkgutil.resolve_name(u.reference) for u in self.units}

    def plug_references(self, question_id):
        """Fill the reference model's parts as a worker of ``question_id`` has
        them (for running its checks in this process: tests, calibration)."""
        registry = pkgutil.resolve_name(self.sandbox_spec("")["parts"])
        registry.clear()
        registry.update({slot: pkgutil.resolve_name(name)
                         for slot, name in self.references_for(question_id).items()})
        return registry

    def grader_modules(self):
        """Module prefixes notebook code may not import."""
        return (__name__.split(".")[0], self.settings.public_checks)

    def sandbox_spec(self, grader_root):
        """What the sandbox child needs to know of the lab (see sandbox/child.py)."""
        probes = {c.probe_name.partition(":")[0] for c in self.checks()}
        return {
            "preload": list(self.settings.sandbox_preload)
            + [m.public.__name__ for m in self.units],
            "hidden_modules": list(self.grader_modules()),
            "probe_modules": sorted(probes),
            "reference_modules": sorted(u.reference.partition(":")[0] for u in self.units),
            "parts": f"{self.settings.reference}:PARTS",
            "grader_root": str(grader_root),
            # the language of the probes' messages to students (StudentError)
            "language": [f"{self.settings.library}.i18n:set_language", self.settings.language],
        }

    def child_modules(self):
        """The modules the sandbox child imports (for copying its files)."""
        spec = self.sandbox_spec("")
        return sorted(set(spec["probe_modules"]) | set(spec["reference_modules"])
                      | {spec["parts"].partition(":")[0]}
                      | {m for m in spec["preload"] if m.split(".")[0] in self.local_packages()})

    def local_packages(self):
        return {__name__.split(".")[0], self.settings.library.split(".")[0],
                self.settings.public_checks.split(".")[0]}

    def parent_only_files(self):
        """Files of the lab the sandbox must never read: the questions' grader
        sides (relative to the folder holding the packages)."""
        base = self.settings.questions.replace(".", "/")
        return sorted(f"{base}/{u.id}/grading.py" for u in self.units)


def _package(settings, key):
    """The package named by ``[lab] key``."""
    name = getattr(settings, key)
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise LabError(f"[lab] {key}: cannot import {name} ({e})") from None


def _public_modules(settings):
    return {m.QUESTION.id: m for m in _package(settings, "public_checks").question_modules()}


def _instructor_ids(settings):
    base = Path(_package(settings, "questions").__file__).parent
    return sorted(p.name for p in base.iterdir()
                  if (p / "grading.py").is_file() and not p.name.startswith(("_", ".")))


def _unit(public, settings, config):
    qid = public.QUESTION.id
    grading = importlib.import_module(f"{settings.questions}.{qid}.grading")
    for needed in ("REFERENCE", "hidden_checks"):
        if not hasattr(grading, needed):
            raise LabError(f"{grading.__file__}: no {needed}")
    hidden = list(grading.hidden_checks(config))
    checks = list(public.CHECKS) + hidden
    for c in checks:
        if c.question != qid:
            raise LabError(f"check {c.name} is declared in question {qid}")
    return QuestionUnit(public.QUESTION, public, grading, checks,
                        frozenset(c.name for c in hidden))


def _match_points(units, config):
    """Every check has points and every entry of ``[questions]`` is a check; all
    mismatches are named at once, so a misspelled entry shows next to the check
    it leaves without points."""
    names = {c.name for u in units for c in u.checks}
    missing = sorted(names - set(config.checks))
    extra = sorted(set(config.checks) - names)
    problems = [f"check {name} has no points (add it under [questions.{name.split('.')[0]}])"
                for name in missing]
    for name in extra:
        qid = name.split(".")[0]
        known = sorted(n.split(".", 1)[1] for n in names if n.startswith(qid + "."))
        problems.append(f"[questions] gives points to {name}, which is no check of the lab"
                        + (f" (checks of {qid}: {', '.join(known)})" if known else ""))
    if problems:
        raise LabError(f"{config.source or 'the config'}: " + "; ".join(problems))


def load_lab(config):
    """The :class:`Lab` of ``config``; raises :class:`LabError` on a mismatch."""
    settings = config.lab
    for key in ("notebook", "library", "public_checks", "questions", "reference"):
        if not getattr(settings, key):
            raise LabError(f"{config.source or 'the config'}: [lab] {key} is not set")
    public = _public_modules(settings)
    private = _instructor_ids(settings)
    for qid in sorted(set(private) - set(public)):
        raise LabError(f"question {qid} has an instructor side ({settings.questions}.{qid}) "
                       f"but no public module {settings.public_checks}.{qid}")
    for qid in sorted(set(public) - set(private)):
        raise LabError(f"question {qid} has a public module but no instructor side "
                       f"({settings.questions}.{qid}.grading)")
    units = [_unit(public[qid], settings, config) for qid in public]
    _match_points(units, config)
    return Lab(settings, units)
