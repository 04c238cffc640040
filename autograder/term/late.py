"""Late penalties from ``[late]`` of grading.toml (``config.LateSettings``).

A submission is late by the time between its submission and the student's due
time (the deadline, or the student's extension when there is one) minus
``grace_minutes``. Every day or part of a day late costs ``penalty_per_day`` of
the maximum points; later than ``max_days`` days it costs everything. With
``tiers`` instead, ``[[days, fraction], ...]``: up to ``days`` days late costs
``fraction``, later than the last tier everything. A submission whose time is
not known is never penalised.
"""

import math
from dataclasses import dataclass
from ..config import parse_iso_time
from ..i18n import N_, messages
from . import TermError

DAY = 86400.0


def parse_time(text, what="the time"):
    """An aware datetime from ISO 8601 text with its offset; TermError otherwise."""
    try:
        parsed = parse_iso_time(str(text))
    except ValueError:
        raise TermError(f"{what} {text!r} is not an ISO 8601 time such as "
                        "2026-12-01T23:59:00+08:00") from None
    if parsed.tzinfo is None:
        raise TermError(f"{what} {text!r} has no time zone: add its offset, e.g. +08:00 or Z")
    return parsed


@dataclass
class Late:
    fraction: float = 0.0      # of the maximum points
    days: int = 0              # days or parts of a day late, after the grace
    note: str = ""             # for the gradebook and the student


def days_late(submitted, due, grace_minutes):
    """Days or parts of a day from ``due`` + the grace to ``submitted`` (0: on time)."""
    seconds = (submitted - due).total_seconds() - 60 * grace_minutes
    return math.ceil(seconds / DAY) if seconds > 0 else 0


def fraction_lost(policy, days):
    if days <= 0:
        return 0.0
    if policy.tiers:
        return next((f for d, f in policy.tiers if days <= d), 1.0)
    if policy.max_days and days > policy.max_days:
        return 1.0
    return min(1.0, days * policy.penalty_per_day)


def assess(policy, submitted_at, extension=None, language=None):
    """The :class:`Late` of a submission made at ``submitted_at`` (ISO text or None)
    under ``policy`` (``config.LateSettings``), the student's due time moved to
    ``extension`` (ISO text) when given; its note in ``language`` (the students'
    ``[lab] language``; default: the one in use)."""
    say = messages(language)
    if not policy.deadline:
        return Late()
    if not submitted_at:
        return Late(note=say.say(N_("No submission time is known, so no late penalty was "
                                    "applied.")))
    due = parse_time(extension) if extension else parse_time(policy.deadline)
    days = days_late(parse_time(submitted_at), due, policy.grace_minutes)
    fraction = fraction_lost(policy, days)
    if not days:
        return Late(note=say.say(N_("Submitted on time, within the extension.") if extension
                                 else N_("Submitted on time.")))
    percent = f"{100 * fraction:g}"
    return Late(fraction, days, say.nsay(
        "Submitted %(n)s day late (counting each part of a day): %(percent)s%% of the maximum "
        "points deducted.",
        "Submitted %(n)s days late (counting each part of a day): %(percent)s%% of the "
        "maximum points deducted.", days, percent=percent))
