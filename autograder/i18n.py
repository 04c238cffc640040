"""The language of what the grader tells students: results.json's summary and
test outputs, feedback.html, the engine's and the sandbox's messages, the
hidden checks' titles (gettext domain ``autograder``, catalogs in
``autograder/locale/``, falling back to the course library's domain ``nndl``
for the public checks' titles and diagnoses).

One switch, ``grading.toml``'s ``[lab] language``: :func:`use` sets it for a
grading, for this domain and for the course library's (``nndl``: the checks'
titles and diagnoses). Staff-facing text (report.html, logs, the CLI) stays
English. Messages are marked as in :mod:`nndl.i18n`: ``_("...")``,
``N_("...")`` for a message key, ``ngettext`` where a number varies, numbers
formatted in code and passed as ``%(name)s`` placeholders.
"""

from functools import cache
from pathlib import Path

from nndl import i18n as library

DOMAIN = "autograder"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = library.LANGUAGES
DEFAULT = library.DEFAULT
N_ = library.N_

class Messages:
    """The grader's messages in one language."""

    def __init__(self, language):
        self.language = language
        self.catalog = library.translations(language, DOMAIN, LOCALE_DIR)
        self.catalog.add_fallback(library.translations(language))   # the checks' own messages

    def say(self, key, /, **params):
        """The message ``key`` translated, its placeholders filled with ``params``."""
        text = self.catalog.gettext(key)
        return text % params if params else text

    def nsay(self, singular, plural, n, /, **params):
        """The form of ``singular``/``plural`` for the number ``n`` (also ``%(n)s``)."""
        return self.catalog.ngettext(singular, plural, n) % {"n": str(n), **params}


@cache
def _loaded(language):
    """The :class:`Messages` of ``language``, its catalogs read once per process."""
    return Messages(language)


_current = [_loaded(DEFAULT)]


def messages(language=None):
    """The grader's messages in ``language`` (default: the one in use)."""
    return _current[0] if language is None else _loaded(language)


def use(language):
    """Grade in ``language``: the grader's messages and the course library's."""
    library.set_language(language)
    _current[0] = _loaded(language)


def language():
    return _current[0].language


def say(key, /, **params):
    """The message ``key`` in the language in use, placeholders filled."""
    return _current[0].say(key, **params)


def nsay(singular, plural, n, /, **params):
    """The form of ``singular``/``plural`` for ``n``, in the language in use."""
    return _current[0].nsay(singular, plural, n, **params)
