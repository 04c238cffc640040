"""Every check of the lab (public ones from :mod:`nndl.checks`, hidden ones
from here), with points and visibility from the config."""

from nndl.checks import QUESTIONS, public_checks

from . import accuracy, hidden


def all_checks(config):
    """Checks in question order; every check named in the config, and no other."""
    checks = public_checks() + hidden.checks() + accuracy.checks(config.accuracy)
    by_name = {c.name: c for c in checks}
    missing = set(config.checks) - set(by_name)
    if missing:
        raise KeyError(f"the config names unknown checks: {sorted(missing)}")
    order = {q: i for i, q in enumerate(QUESTIONS)}
    selected = [c for c in checks if c.name in config.checks]
    return sorted(selected, key=lambda c: order[c.question])
