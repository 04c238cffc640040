"""Time limits of a question's worker: a multiple of the reference's own
time for that question, scaled to the speed of the machine that grades.

    cpu(q)       = time_limit_factor * reference(q) * speed + STARTUP * speed
                   (at most question_time_limit * speed)
    wall(q)      = cpu(q) * wall_ratio * WALL_SLACK + 1 s
    statement    = statement_time_limit * speed * wall_ratio

- ``reference(q)``: the worker's CPU seconds for question q on the solution
  notebook, measured by ``grade.py calibrate --timing`` on the calibration
  machine (``autograder/calibration/timing.json``), scaled by the ratio of the
  accuracy iterations of the config to those of the calibration;
- ``speed``: the CPU time of a fixed paddle benchmark that the sandbox runs
  when it starts, divided by its time on the calibration machine: a slower
  machine gets proportionally more time; a faster one keeps the calibrated
  time (never below MIN_SPEED: the benchmark varies by tens of percent from
  one start to the next on a shared machine, and should only ever add time);
- ``wall_ratio``: 1 / the CPU share the grader may use (a cgroup CPU quota,
  e.g. 2 at half a CPU on Gradescope), at least 1.

A question the calibration does not know (a new one) gets
``question_time_limit`` seconds. An infinite loop is stopped at ``cpu(q)``
(RLIMIT_CPU); a worker that sleeps, at ``wall(q)``.
"""

import json
from dataclasses import dataclass
from pathlib import Path

TIMING = Path(__file__).with_name("calibration") / "timing.json"
STARTUP = 1.0         # seconds at calibration speed: fork, slice, reading inputs, judging
WALL_SLACK = 1.25     # wall-clock allowance over CPU time (a busy machine, I/O)
MIN_SPEED = 1.0       # a faster machine keeps the calibrated time (the benchmark is noisy)


@dataclass(frozen=True)
class Limits:
    """Time limits of one worker: CPU seconds (RLIMIT_CPU), wall-clock seconds,
    and seconds per notebook statement."""
    cpu: float
    wall: float
    statement: float


@dataclass(frozen=True)
class Speed:
    """How this machine compares with the calibration machine."""
    factor: float = 1.0        # CPU time here / CPU time there, for the same work
    wall_ratio: float = 1.0    # wall-clock seconds per CPU second available

    @classmethod
    def measure(cls, info, timing):
        """From the sandbox's hello (``bench_cpu``, ``cpu_share``) and the calibration."""
        bench, calibrated = info.get("bench_cpu"), timing.get("bench_cpu")
        factor = max(MIN_SPEED, bench / calibrated) if bench and calibrated else 1.0
        share = info.get("cpu_share") or 1.0
        return cls(factor, max(1.0, 1.0 / share))


def load_timing(path=TIMING):
    """The calibration's timing (``{}`` when there is none)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def question_limits(run, timing, speed, question, iterations):
    """The :class:`Limits` of ``question``'s worker, by the rule of the module doc."""
    reference = timing.get("questions", {}).get(question)
    cpu = run.question_time_limit * speed.factor                  # the ceiling
    if reference is not None:
        scale = iterations / timing.get("iterations", iterations)
        cpu = min(cpu, (run.time_limit_factor * reference * scale + STARTUP) * speed.factor)
    return Limits(cpu=cpu, wall=cpu * speed.wall_ratio * WALL_SLACK + 1.0,
                  statement=run.statement_time_limit * speed.factor * speed.wall_ratio)
