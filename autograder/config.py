"""The grading configuration (``grading.toml``): points, visibility, limits,
seeds and accuracy settings, read into plain dataclasses."""

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Gradescope's image has Python 3.10
    import tomli as tomllib

DEFAULT_CONFIG = Path(__file__).with_name("grading.toml")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class ConfigError(Exception):
    pass


@dataclass
class CheckConfig:
    points: float
    hidden: bool


@dataclass
class Config:
    device: str = "auto"
    question_time_limit: float = 60
    total_time_limit: float = 420
    memory_limit_mb: int = 2048
    log_limit_kb: int = 64
    public_visibility: str = "visible"
    hidden_visibility: str = "after_published"
    check_seed: int = 2026
    accuracy: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)     # name -> CheckConfig
    source: str = ""

    @property
    def max_score(self):
        return sum(c.points for c in self.checks.values())


def load_config(path=None):
    path = Path(path or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read the grading config {path}: {e}") from None
    run, seeds = raw.get("run", {}), raw.get("seeds", {})
    cfg = Config(source=str(path))
    for key in ("device", "question_time_limit", "total_time_limit", "memory_limit_mb",
                "log_limit_kb", "public_visibility", "hidden_visibility"):
        if key in run:
            setattr(cfg, key, run[key])
    cfg.check_seed = int(seeds.get("checks", cfg.check_seed))
    cfg.accuracy = dict(raw.get("accuracy", {}))
    for name, c in raw.get("checks", {}).items():
        cfg.checks[name] = CheckConfig(points=float(c.get("points", 0)),
                                       hidden=bool(c.get("hidden", False)))
    for vis in (cfg.public_visibility, cfg.hidden_visibility):
        if vis not in VISIBILITIES:
            raise ConfigError(f"{path}: visibility {vis!r} is not one of {VISIBILITIES}")
    if cfg.device not in ("auto", "cpu", "gpu"):
        raise ConfigError(f"{path}: device must be auto, cpu or gpu")
    return cfg
