"""The HTML pages (``feedback.html``, ``report.html``), rendered from the Jinja2
templates in ``templates/`` with autoescaping: every text is escaped; only
:func:`code` output and the report's base64 images are inserted as HTML."""

import re
from functools import cache

import jinja2
from markupsafe import Markup, escape

from ..results import clip

CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code(text):
    """``text`` escaped, its Markdown code spans (`x`, as the diagnoses write
    formulas and code) shown as <code>."""
    return Markup(CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", escape(str(text))))


@cache
def _environment():
    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(code=code, clip=clip, g=lambda x: f"{x:g}")
    return env


def render(template, **context):
    """The page ``template`` (a file of ``templates/``) filled with ``context``."""
    return _environment().get_template(template).render(**context)
