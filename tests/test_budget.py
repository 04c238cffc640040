"""The engine's time budget and skip policy (autograder/budget.py), on a fake clock."""

from autograder import budget as budget_module
from autograder.budget import MAX_SKIPPED, MIN_ATTEMPT_TIME, Budget
from autograder.limits import Limits


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _budget(monkeypatch, total=100.0):
    clock = Clock()
    monkeypatch.setattr(budget_module.time, "monotonic", clock)
    limits = {q: Limits(10.0, wall, 5.0) for q, wall in (("q1", 10.0), ("q2", 20.0),
                                                         ("q3", 30.0))}
    return Budget(total, limits), clock


def test_a_rerun_leaves_the_first_runs_of_later_questions_their_time(monkeypatch):
    budget, clock = _budget(monkeypatch)
    clock.now += 40.0
    assert budget.left("q1") == 60.0
    assert budget.left("q1", again=True) == 60.0 - 20.0 - 30.0
    assert budget.left("q3", again=True) == 60.0
    budget.add_setup(5.0)                  # the workers' set-up is never the student's time
    assert budget.left("q2", again=True) == 65.0 - 30.0


def test_a_question_gets_a_first_run_and_at_most_max_skipped_more(monkeypatch):
    budget, clock = _budget(monkeypatch)
    assert len(list(budget.attempts("q3"))) == MAX_SKIPPED + 1
    clock.now += 100.0 - MIN_ATTEMPT_TIME / 2        # less than MIN_ATTEMPT_TIME left
    assert list(budget.attempts("q3")) == []


def test_the_skips_stop_when_the_time_is_up(monkeypatch):
    budget, clock = _budget(monkeypatch, total=20.0)
    runs = []
    for left in budget.attempts("q3"):
        runs.append(left)
        clock.now += 12.0                  # each run takes 12 s of the 20
    assert runs == [20.0, 8.0]
