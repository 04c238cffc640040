"""The settings an output folder was graded with (``OUT/batch-settings.json``).

A rerun into the same folder (``--only mia``, new submissions, after an
interruption) keeps the settings of the first run unless the command line
gives them again: without this, ``--only mia`` without ``--scale 10`` would
silently drop the gradebook's ``scaled_total`` column, and a forgotten
``--config`` would regrade everyone with another config. Each setting kept is
said on stderr. Delete the file to start from the defaults.

Only settings that change what the gradebook holds are kept (``SAVED``); how
the grading runs (``--jobs``, ``--scheduler``) is not.
"""

import json
from pathlib import Path

from ..results import write_json_atomic
from .store import SETTINGS as FILE

SAVED = ("config", "scale")          # keys of the batch's arguments that are kept
VALID = {"config": lambda v: isinstance(v, str) and bool(v),      # a hand-edited file's
         "scale": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)   # nonsense
         and v > 0}                                                # is ignored


def _absolute(key, value):
    return str(Path(value).resolve()) if key == "config" and value is not None else value


def load(out):
    """The saved settings of ``out`` ({} when none, or unreadable)."""
    try:
        saved = json.loads((Path(out) / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {k: v for k, v in saved.items() if k in VALID and VALID[k](v)}


def resolve(out, given):
    """``(settings, notes)``: ``given`` (the command line's values, None when not
    given) completed with the saved ones of ``out``; ``notes`` says which were
    kept. :func:`save` keeps the result for the next run."""
    saved, settings, notes = load(out), {}, []
    for key in SAVED:
        value = _absolute(key, given.get(key))
        if value is None and saved.get(key) is not None:
            value = saved[key]
            shown = f"{value:g}" if isinstance(value, float) else value
            notes.append(f"--{key} {shown} (saved in {Path(out) / FILE} by an earlier run; "
                         f"give --{key} to change it, or delete that file)")
        settings[key] = value
    return settings, notes


def save(out, settings):
    write_json_atomic(Path(out) / FILE, settings)
