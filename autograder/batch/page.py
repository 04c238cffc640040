"""The HTML pages (``feedback.html``, ``report.html``), rendered from the Jinja2
templates in ``templates/`` with autoescaping: every text is escaped; only
:func:`code` output and the report's base64 images are inserted as HTML.

Every page says what made it (:class:`Context`, in the page's footer): the
lab's name (``[lab] name``), the date, the grader's version (and git commit,
when the grader runs from a git checkout) and the config's file name and
sha256, so a page can be matched with the grading that made it. A feedback
page names each question as the lab does ("Q4 · Gradient descent with weight
decay (BatchGD)"), from the ``Question`` declared in its public module.
"""

import hashlib
import re
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from .. import __version__
from ..i18n import DEFAULT as ENGLISH
from ..i18n import messages
from ..lab import load_lab
from ..paths import REPOSITORY
from ..results import clip

CODE_SPAN = re.compile(r"`([^`\n]+)`")
DIGEST_CHARS = 12          # of the config's sha256 shown: enough to tell two configs apart



def code(text):
    """``text`` escaped, its Markdown code spans (`x`, as the diagnoses write
    formulas and code) shown as <code>."""
    markupsafe = _jinja().markupsafe
    return markupsafe.Markup(CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>",
                                           markupsafe.escape(str(text))))


@cache
def _jinja():
    """Jinja2 (and its markupsafe), imported where a page is made: Gradescope's
    image has no Jinja2, and its grading path imports no page."""
    import jinja2, markupsafe  # noqa: E401 - only where pages are made (see above)

    return SimpleNamespace(jinja2=jinja2, markupsafe=markupsafe)


@dataclass(frozen=True)
class QuestionTitle:
    number: int                # 1, 2, ... in the lab's order
    title: str                 # the lab's title of the question
    graded_class: str

    @property
    def heading(self):
        """"Q4 · Gradient descent with weight decay (BatchGD)"."""
        return self.heading_in(messages(ENGLISH).say)

    def heading_in(self, say):
        """:attr:`heading` with the title said by ``say`` (a language's translator)."""
        if not self.title:
            return f"Q{self.number} · {self.graded_class}"
        return f"Q{self.number} · {say(self.title)} ({self.graded_class})"


@dataclass(frozen=True)
class Context:
    """What every page says about the grading that made it."""
    lab: str = ""
    version: str = __version__
    config: str = ""               # the config's file name
    config_sha256: str = ""        # its first DIGEST_CHARS hex digits
    questions: dict = field(default_factory=dict)   # question id -> QuestionTitle

    def heading(self, question, say=None):
        """The question's heading, its title in ``say``'s language (default English)."""
        known = self.questions.get(question)
        if not known:
            return question
        return known.heading_in(say) if say else known.heading

    @staticmethod
    def now():
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


@cache
def grader_version():
    """``"0.1.0"``, with the git commit when the grader runs from a checkout
    (``"0.1.0, commit 1a2b3c4"``), with ``+`` when its files are modified."""
    try:
        def git(*args):
            return subprocess.run(["git", "-C", str(REPOSITORY), *args], capture_output=True,
                                  text=True, timeout=5).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD")
        dirty = commit and git("status", "--porcelain", "--", "autograder", "nndl")
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    if not commit:
        return __version__
    return f"{__version__}, commit {commit}{'+' if dirty else ''}"


def context(cfg, lab, config_bytes=None):
    """The :class:`Context` of pages made with ``cfg`` and its ``lab``."""
    if config_bytes is None:
        try:
            config_bytes = Path(cfg.source).read_bytes()
        except (OSError, TypeError):
            config_bytes = b""
    questions = {u.id: QuestionTitle(k, u.question.title, u.graded_class)
                 for k, u in enumerate(lab.units, 1)}
    return Context(lab=cfg.lab.name, version=grader_version(),
                   config=Path(cfg.source).name if cfg.source else "",
                   config_sha256=hashlib.sha256(config_bytes).hexdigest()[:DIGEST_CHARS],
                   questions=questions)


_CONTEXTS = {}


def context_of(cfg):
    """:func:`context` of ``cfg``, made once per config file and content."""
    try:
        data = Path(cfg.source).read_bytes()
    except (OSError, TypeError):
        data = b""
    key = (cfg.source, data)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = context(cfg, load_lab(cfg), data)
    return _CONTEXTS[key]


@cache
def _environment():
    jinja2 = _jinja().jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(code=code, clip=clip, g=lambda x: f"{x:g}")
    return env


def render(template, context=None, **values):
    """The page ``template`` (a file of ``templates/``) filled with ``values``
    and the footer of ``context`` (a :class:`Context`; none: the version only).
    ``lang`` and ``_`` (its translator, ``_("msgid", name=value)``): the page's
    language, English unless given (the student's feedback gives its own)."""
    values.setdefault("lang", ENGLISH)
    values.setdefault("_", messages(values["lang"]).say)
    return _environment().get_template(template).render(
        page=context or Context(), made=Context.now(), **values)
