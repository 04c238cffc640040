"""``grade.py config``: list every setting of the grading config, its value,
default and meaning, and the points per check."""

import dataclasses

from ..config import SECTIONS, load_config
from ..lab import load_lab


def describe(config):
    """Every setting of ``config``: its value, its default and its description,
    then the points per check."""
    lines = [f"# {config.source}"]
    for key, cls in SECTIONS.items():
        lines.append(f"[{key}]")
        for f in dataclasses.fields(cls):
            value = getattr(getattr(config, key), f.name)
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            note = "" if value == default else f" (default {default!r})"
            lines.append(f"  {f.name} = {value!r}{note}: {f.metadata.get('help', '')}")
    for qid, table in config.questions.items():
        lines.append(f"[questions.{qid}]   points per check")
        lines.extend(f"  {name} = {points:g}" for name, points in table.items())
    lines.append(f"# {config.max_score:g} points in all")
    return "\n".join(lines)


def main(config=None):
    """``grade.py config``: print every setting of ``config`` (see :func:`describe`)."""
    cfg = load_config(config)
    load_lab(cfg)                      # the questions match their points
    print(describe(cfg))
    return 0
