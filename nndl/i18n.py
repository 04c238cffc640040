"""The language of the messages students read: the self-checks' titles and
diagnoses (gettext domain ``nndl``, catalogs in ``nndl/locale/``).

Standard library only: students install nothing for it. The language is
fixed when ``grade.py build`` writes the student's copy of this package (it
adds ``_language.py`` there for a language other than English); the official
grader sets it from ``grading.toml``'s ``[lab] language`` with
:func:`set_language`. Messages are marked ``_("...")`` (translated now) or
``N_("...")`` (a message key, translated later with ``_(key)``); numbers are
formatted in code and passed as ``%(name)s`` placeholders, so that both
languages show them identically.
"""

import gettext
from pathlib import Path

DOMAIN = "nndl"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT = "en"
LANGUAGES = ("en", "zh-CN")       # the source language, then those with a catalog


def catalog_name(language):
    """gettext's folder name of ``language``: ``zh-CN`` -> ``zh_CN``."""
    return language.replace("-", "_")


def translations(language, domain=DOMAIN, localedir=LOCALE_DIR):
    """The compiled catalog of ``language`` for ``domain`` (English: none)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    if language == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(domain, str(localedir), languages=[catalog_name(language)])


def _built_language():
    try:
        from ._language import LANGUAGE     # written by ``grade.py build``
    except ImportError:
        return DEFAULT
    return LANGUAGE


_current = {"language": DEFAULT, "catalog": gettext.NullTranslations()}


def set_language(language):
    """Show every later message in ``language`` (one of :data:`LANGUAGES`)."""
    _current.update(language=language, catalog=translations(language))


def language():
    return _current["language"]


def _(message):
    """``message`` in the current language."""
    return _current["catalog"].gettext(message)


def ngettext(singular, plural, n):
    """The form of ``singular``/``plural`` for the number ``n``, translated."""
    return _current["catalog"].ngettext(singular, plural, n)


def say(key, /, **params):
    """The message ``key`` (an English msgid) in the current language, its
    ``%(name)s`` placeholders filled with ``params`` (numbers already formatted)."""
    text = _(key)
    return text % params if params else text


def N_(message):
    """Mark ``message`` for translation without translating it (a message key)."""
    return message


set_language(_built_language())
