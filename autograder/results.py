"""Results of one grading: dataclasses, Gradescope's ``results.json`` format
(validated with jsonschema) and an atomic writer.

Gradescope's format: ``score``, ``execution_time``, ``output`` (in Markdown,
``output_format: "md"``), ``visibility`` and ``tests[]`` with ``name``,
``number`` ("1.1", "1.2", ... question by question), ``tags`` (the question),
``score``, ``max_score``, ``status``, ``output`` and ``visibility``. A test's
output is Markdown (formulas in code spans) unless its message holds text from
the student's code (an exception's message, a line of the notebook): that one
stays plain text, which Markdown could show wrongly. A hidden test shows only
whether it passed; its diagnosis goes to the staff sidecar (``*.staff.json``).
"""

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jsonschema

from .i18n import DEFAULT as DEFAULT_LANGUAGE
from .i18n import LANGUAGES, N_, messages

MAX_MESSAGE = 2000        # characters of one test's output
MAX_PROBLEMS = 20
MAX_RESULTS_BYTES = 1_000_000

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gradescope autograder results",
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "stdout_visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                    "number": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": {"enum": ["visible", "hidden", "after_due_date",
                                            "after_published"]},
                    "extra_data": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
    },
}


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def md_escape(text):
    """``text`` shown literally by a CommonMark renderer: the characters that
    could start emphasis, links, HTML, code or headings are escaped (an
    underscore inside a word, as in a question id like ``q9_name``, is left alone)."""
    out = []
    for i, c in enumerate(text):
        prev, nxt = text[i - 1] if i else " ", text[i + 1] if i + 1 < len(text) else " "
        if c in "*<[]`" or (c == "_" and not (prev.isalnum() and nxt.isalnum())) \
                or (c == "\\" and nxt in _PUNCTUATION) or (c in "#>" and prev == "\n"):
            out.append("\\")
        out.append(c)
    text = "".join(out)
    return ("\\" + text) if text[:1] and text[:1] in "#>" else text


def to_markdown(text, plain=False):
    """Our messages in Markdown: their `code spans` (formulas) kept, the rest
    escaped; with ``plain`` (text from student code) everything is escaped."""
    if plain:
        return md_escape(text)
    return "".join(part if _CODE_SPAN.fullmatch(part) else md_escape(part)
                   for part in _CODE_SPAN.split(text))


def clip(text, limit=MAX_MESSAGE):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 20] + " [... truncated]"


@dataclass(frozen=True)
class TestSpec:
    """What a results file says of a check before it runs: its name, question,
    title, points and visibility. :meth:`result` turns a verdict into its
    :class:`TestResult`."""
    name: str
    question: str
    title: str
    max_score: float
    hidden: bool
    visibility: str

    def result(self, passed, message, measured=None, threshold=None, plain=False, key=""):
        return TestResult(name=self.name, question=self.question, title=self.title,
                          max_score=self.max_score, score=self.max_score if passed else 0.0,
                          passed=passed, message=message, hidden=self.hidden,
                          visibility=self.visibility, measured=measured, threshold=threshold,
                          plain=plain, key=key)


# appended by nndl.checks.core.Verdict.describe, in the grading's language
MEASURED = N_("%(message)s (measured %(measured)s, threshold %(threshold)s)")


@dataclass
class TestResult:
    __test__ = False   # not a pytest test class
    name: str               # "<question id>.<check name>"
    question: str
    title: str
    max_score: float
    score: float
    passed: bool
    message: str            # the diagnosis (shown only for visible tests)
    hidden: bool
    visibility: str
    measured: float = None
    threshold: float = None
    plain: bool = False     # the message holds text from student code: no Markdown
    key: str = ""           # the diagnosis' message key (its English msgid): the same in every
                            # language, what "most common mistakes" groups by

    def student_output_md(self, language=DEFAULT_LANGUAGE):
        """The student's view in Markdown, or in plain text (see ``output_format``)."""
        if self.hidden:
            outcome = messages(language).say(N_("passed (hidden test)") if self.passed
                                             else N_("failed (hidden test)"))
            return f"**{to_markdown(self.title)}**\n\n{outcome}"
        numbers = self.numbers_sentence(language)
        if self.plain:
            return f"{self.title}\n{clip(self.headline)}" + (f"\n{numbers}" if numbers else "")
        return f"**{to_markdown(self.title)}**\n\n{to_markdown(clip(self.headline))}" + (
            f"\n\n{to_markdown(numbers)}" if numbers else "")

    def numbers_sentence(self, language=DEFAULT_LANGUAGE):
        """The detail line under a diagnosis ("Measured: 6.81e-08; the check's
        limit: 1e-05."), or "" when the check measures nothing."""
        if self.numbers is None:
            return ""
        return messages(language).say(N_("Measured: %(measured)s; the check's limit: "
                                         "%(threshold)s."), measured=f"{self.measured:.3g}",
                                      threshold=f"{self.threshold:.3g}")

    @property
    def headline(self):
        """The diagnosis as a sentence: the message without the measured value and
        threshold that the engine appends to it (:attr:`numbers` has them)."""
        if self.measured is None or self.threshold is None:
            return self.message
        for language in LANGUAGES:          # the suffix as Verdict.describe wrote it
            template = messages(language).say(MEASURED, message="\0",
                                              measured=f"{self.measured:.3g}",
                                              threshold=f"{self.threshold:.3g}")
            prefix, _, suffix = template.partition("\0")
            if not prefix and self.message.endswith(suffix):
                return self.message[:-len(suffix)]
        return self.message

    @property
    def numbers(self):
        """(measured, threshold) of the check, or None when it has none."""
        if self.measured is None or self.threshold is None:
            return None
        return self.measured, self.threshold

    @property
    def output_format(self):
        return "text" if self.plain and not self.hidden else "md"


@dataclass
class GradingResult:
    submission: str
    tests: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # notebook-level messages for the student
    execution_time: float = 0.0
    grader_error: str = None                       # set when the grader itself failed
    staff: dict = field(default_factory=dict)      # logs and details for staff only
    term: dict = None      # late penalty, adjustments, final score (autograder.term.scores)
    language: str = DEFAULT_LANGUAGE               # of what the student reads ([lab] language)

    @classmethod
    def not_graded(cls, submission, specs, message, language=DEFAULT_LANGUAGE):
        """Every test at zero because of the submission (no notebook, a broken
        file): the student's to fix, with ``message``."""
        result = cls(submission=str(submission), language=language)
        key = N_("not graded: %(message)s")
        result.tests = [s.result(False, messages(language).say(key, message=message), key=key)
                        for s in specs]
        result.problems.append(message)
        return result

    @classmethod
    def grader_failed(cls, submission, specs, error, language=DEFAULT_LANGUAGE):
        """Every test at zero because the grader itself failed (``error`` is for
        staff only); students read "Autograder failed, contact staff"."""
        say = messages(language).say
        result = cls(submission=str(submission), grader_error=str(error), language=language)
        key = N_("Autograder failed, contact staff")
        result.tests = [s.result(False, say(key), key=key) for s in specs]
        result.problems.append(say(N_("Autograder failed, contact staff.")))
        return result

    @property
    def score(self):
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self):
        return round(sum(t.max_score for t in self.tests), 4)

    def question_scores(self):
        scores = {}
        for t in self.tests:
            got, out_of = scores.get(t.question, (0.0, 0.0))
            scores[t.question] = (got + t.score, out_of + t.max_score)
        return scores

    def summary_md(self):
        """The top-level summary in Markdown: the total, one line per question with
        its first visible problem, then the notes about the notebook (escaped:
        they quote the notebook)."""
        say, nsay = messages(self.language).say, messages(self.language).nsay
        lines = [say(N_("**Total: %(score)s / %(max_score)s**"), score=f"{self.score:g}",
                     max_score=f"{self.max_score:g}"), ""]
        for q, (got, out_of) in self.question_scores().items():
            failed = [t for t in self.tests if t.question == q and not t.passed]
            visible = [t for t in failed if not t.hidden]
            hint = ""
            if visible:
                hint = f" - {to_markdown(clip(visible[0].message, 200), visible[0].plain)}"
            elif failed:
                hint = nsay(" - %(n)s hidden test failed", " - %(n)s hidden tests failed",
                            len(failed))
            lines.append(f"- {q}: {got:g} / {out_of:g}{hint}")
        if self.problems:
            lines += ["", say(N_("**Notes about your notebook**")), ""]
            lines += [f"- {md_escape(clip(p, 500))}" for p in self.problems[:MAX_PROBLEMS]]
        if self.grader_error:
            lines += ["", say(N_("Autograder failed, contact staff."))]
        return "\n".join(lines)

    def term_md(self):
        """The late penalty and the adjustments, and the final score, in Markdown
        ("" when none applies)."""
        if not self.term:
            return ""
        say = messages(self.language).say
        lines = ["", ""]
        late = self.term.get("late")
        if late:
            lines.append(f"- {md_escape(late['note'])}"
                         + (say(N_(" Late penalty: -%(points)s points."),
                                points=f"{late['points']:g}") if late["points"] else ""))
        for a in self.term.get("adjustments", []):
            reason = say(N_(" Reason: %(reason)s"), reason=md_escape(a["reason"])) \
                if a["reason"] else ""
            lines.append("- " + (say(N_("Adjustment by the course staff to %(question)s: "
                                        "%(change)s.%(reason)s"), question=a["question"],
                                     change=str(a["change"]), reason=reason) if a["question"]
                                 else say(N_("Adjustment by the course staff: "
                                             "%(change)s.%(reason)s"),
                                          change=str(a["change"]), reason=reason)))
        if self.term.get("final") is not None:
            lines += ["", say(N_("**Final score: %(score)s / %(max_score)s**"),
                              score=f"{self.term['final']:g}", max_score=f"{self.term['max']:g}")]
        return "\n".join(lines)

    def to_text(self):
        """The result as the command line prints it (lone surrogates escaped:
        stdout may be strict UTF-8, and messages come from student code)."""
        lines = [f"== {self.submission}"]
        scores, current = self.question_scores(), None
        for t in self.tests:
            if t.question != current:
                current = t.question
                got, out_of = scores[current]
                lines.append(f"{current}: {got:g} / {out_of:g}")
            mark = "PASS" if t.passed else "FAIL"
            hidden = " [hidden]" if t.hidden else ""
            lines.append(f"  [{mark}] {t.name}{hidden} ({t.score:g}/{t.max_score:g}): {t.message}")
        lines += [f"note: {p}" for p in self.problems]
        lines.append(f"Total: {self.score:g} / {self.max_score:g}   "
                     f"({self.execution_time:.1f} s)")
        return clean_text("\n".join(lines) + "\n")

    def numbers(self):
        """Gradescope's test numbers: "question.check", from 1, in order."""
        questions, numbers = [], []
        for t in self.tests:
            if t.question not in questions:
                questions.append(t.question)
            k = questions.index(t.question) + 1
            numbers.append(f"{k}.{sum(1 for n in numbers if n.startswith(f'{k}.')) + 1}")
        return numbers

    def to_gradescope(self):
        final = (self.term or {}).get("final")
        return {
            "score": self.score if final is None else final,   # Gradescope: overrides the sum
            "execution_time": round(self.execution_time, 2),
            "output": self.summary_md() + self.term_md(),
            "output_format": "md",
            "test_name_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {"name": t.name, "name_format": "text", "number": number, "tags": [t.question],
                 "score": round(t.score, 4), "max_score": t.max_score,
                 "status": "passed" if t.passed else "failed",
                 "output": t.student_output_md(self.language),
                 "output_format": t.output_format,
                 "visibility": t.visibility}
                for t, number in zip(self.tests, self.numbers())
            ],
        }

    def to_staff(self):
        return {"submission": self.submission, "score": self.score,
                "execution_time": round(self.execution_time, 2),
                "grader_error": self.grader_error, "problems": self.problems,
                "language": self.language,
                "tests": [asdict(t) for t in self.tests], **self.staff, "term": self.term}


def validate(data):
    """Raise jsonschema.ValidationError when ``data`` is not Gradescope's format."""
    jsonschema.validate(data, SCHEMA)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match):
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:          # a non-UTF-8 byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def clean_text(text):
    """``text`` made encodable as UTF-8: every lone surrogate (from student
    code, e.g. ``"\\ud800"``, or from a file name that is not UTF-8, e.g.
    ``"caf\\udce9"``) becomes a visible escape (``\\ud800``, ``\\xe9``)."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub(_escape_surrogate, text)


def clean(data):
    """``data`` (dicts, lists, tuples, strings, numbers) with every string,
    keys included, passed through :func:`clean_text`."""
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [clean(v) for v in data]
    return data


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file and rename, so a reader
    never sees half a file (and a killed writer leaves the old one). Text that
    UTF-8 cannot encode (lone surrogates) is escaped, never an error."""
    text = clean_text(text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path, data, limit=None):
    """``data`` as JSON, atomically; with ``limit``, fail rather than exceed it.
    Strings are cleaned first (:func:`clean`), so no text makes writing fail."""
    text = json.dumps(clean(data), indent=2, ensure_ascii=False,
                      default=clean_text)
    if limit is not None and len(text.encode()) > limit:
        raise ValueError(f"{Path(path).name} would be {len(text.encode())} bytes (> {limit})")
    write_text_atomic(path, text)


def staff_path(results_path):
    """The staff sidecar of ``results_path``: ``results.json`` -> ``results.staff.json``."""
    path = Path(results_path)
    return path.with_name(path.stem + ".staff.json")


def write_results(result, path):
    """Write ``results.json`` (Gradescope's format, validated, < 1 MB) and the
    staff sidecar next to it (``results.staff.json``)."""
    data = result.to_gradescope()
    validate(data)
    write_json_atomic(path, data, limit=MAX_RESULTS_BYTES)
    path = Path(path)
    write_json_atomic(staff_path(path), result.to_staff())
    return data
