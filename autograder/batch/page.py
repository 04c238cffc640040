"""Minimal self-contained HTML pages. Every text goes through ``escape``;
only ``Raw`` strings (built here from escaped parts) are inserted as HTML."""

import re
from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.msg { white-space: pre-wrap; font-size: 0.9rem; max-width: 48rem; }
code { font-family: ui-monospace, monospace; font-size: 0.85rem; background: #f3f3f3;
       padding: 0 0.2rem; }
.passed { color: #176117; font-weight: 600; }
.failed { color: #a11; font-weight: 600; }
.total { font-size: 1.3rem; font-weight: 600; }
.notice { background: #fff4e5; border-left: 4px solid #e69500; padding: 0.5rem 1rem; }
img { max-width: 100%; }
"""


class Raw(str):
    """HTML that is already safe."""


def html(value):
    return value if isinstance(value, Raw) else escape(str(value))


CODE_SPAN = re.compile(r"`([^`\n]+)`")


def with_code(text):
    """``text`` escaped, its Markdown code spans (`x`, as the diagnoses write
    formulas and code) shown as <code>."""
    return Raw(CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", escape(str(text))))


def tag(name, content, cls=None):
    attr = f' class="{escape(cls)}"' if cls else ""
    return Raw(f"<{name}{attr}>{html(content)}</{name}>")


def table(header, rows, msg_columns=()):
    """A table; cells are escaped unless Raw. ``msg_columns``: indexes of
    columns shown as preformatted text."""
    head = "".join(tag("th", h) for h in header)
    body = "".join(tag("tr", Raw("".join(tag("td", c, "msg" if i in msg_columns else None)
                                         for i, c in enumerate(row)))) for row in rows)
    return Raw(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def page(title, parts):
    body = "\n".join(html(p) for p in parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")
