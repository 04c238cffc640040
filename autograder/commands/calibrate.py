"""``grade.py calibrate``: measure what the accuracy tests and the time limits
are set from, and write ``autograder/calibration/``.

- **Separation** (``accuracy.md``/``.json``): every correct implementation (the
  reference, the book's code ``book.py`` and each correct variant
  of ``correct/``, in the variants' folder) of every question, trained over data seeds x
  initial-weight seeds, with its accuracy at several iteration counts; and each
  wrong variant of ``wrong/`` at the grading seeds. The
  thresholds are the lowest correct accuracy at the chosen count minus a
  margin (the config's comment says which).
- **False fails**: every correct implementation at the config's iterations and
  thresholds over ``--false-fail-seeds`` seeds (initial weights and training
  seed k = 0, 1, ...; the grading data), judged by the grader's own check,
  including its rule of running again with other seeds when a run fails close
  to a threshold. Target: no false fail.
- **Timing** (``--timing``, ``timing.json``): the worker CPU time of each
  question on the solution notebook, graded in the sandbox, and the sandbox's
  speed benchmark, from which ``autograder.limits`` sets every question's time
  limit on any machine.

Runs in-process (these are the grader's own implementations), on ``--jobs``
processes. The variants' folder is ``--variants`` (default: the packaged
``autograder/variants/``: the book's code and the corpus of correct and wrong
implementations the tests use too).
"""

import dataclasses
import importlib
import json
import math
import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

from nndl.checks import run_in_process

from ..config import load_config
from ..engine import grade_notebook, open_sandbox
from ..lab import load_lab
from ..paths import PACKAGE, REPOSITORY

ROOT = REPOSITORY
VARIANTS = PACKAGE / "variants"     # book.py, correct/*.py, wrong/*.py
OUT = ROOT / "autograder" / "calibration"
MARGIN = 0.05                       # thresholds: lowest correct accuracy - MARGIN, floored to 0.05


def _implementations(variants):
    """(name, source or None) of the reference, the book and the correct variants
    of the folder ``variants``."""
    yield "reference", None
    yield "book", ""
    for path in sorted((variants / "correct").glob("*.py")):
        yield path.stem, path.read_text()


def _code(variants, source):
    """What a task runs: None (the reference), or (the book's code, a variant's)."""
    return None if source is None else ((variants / "book.py").read_text(), source)


def _namespace(lab, code):
    """The classes of an implementation: the reference's, or the book's with a
    variant's classes over them."""
    if code is None:
        return lab.reference_classes()
    ns = {"__name__": "__calibration__"}
    for source in code:
        exec(source, ns)  # noqa: S102 - the package's own fixtures
    return ns


def _defines(source, cls):
    return not source or f"class {cls}" in source


def _accuracy_run(cfg, question, **accuracy):
    """The lab with some ``[accuracy]`` settings changed, and ``question``'s
    accuracy check, with the reference parts plugged as its worker has them."""
    accuracy = dataclasses.replace(cfg.accuracy, **accuracy)
    lab = load_lab(dataclasses.replace(cfg, accuracy=accuracy))
    lab.plug_references(question)
    return lab, next(c for c in lab.unit(question).checks if c.short_name == "accuracy")


def _accuracies(cfg, code, question, data_seed, init_seed, checkpoints):
    """{iterations: (train, test)} of one training run."""
    lab, check = _accuracy_run(cfg, question, data_seed=data_seed, init_seed=init_seed,
                               iterations=max(checkpoints))
    measure = importlib.import_module(f"{lab.settings.reference}.accuracy").accuracy
    inputs = check.make_inputs(0)
    out = check.probe_function()(_namespace(lab, code),
                                 check.probe_inputs(inputs),
                                 checkpoints=checkpoints)
    return {it: (measure(out[f"train_logits_{it}"], inputs["y_train"]),
                 measure(out[f"test_logits_{it}"], inputs["_y_test"])) for it in checkpoints}


def _verdict(cfg, code, question, seed):
    """(first run passed, passed after the grader's rule, runs) at seed ``seed``."""
    lab, check = _accuracy_run(cfg, question, init_seed=seed, train_seed=seed)
    ns = _namespace(lab, code)
    first = run_in_process(check, ns, cfg.seeds.checks)
    verdict, again = check.rerun_if_near(
        first, cfg.seeds.checks, lambda inputs: run_in_process(check, ns, cfg.seeds.checks, inputs))
    return first.passed, verdict.passed, 1 + again


def _task(args):
    warnings.filterwarnings("ignore")
    kind, cfg, _, code, question, *rest = args
    run = _accuracies if kind == "accuracy" else _verdict
    try:
        return args, run(cfg, code, question, *rest)
    except Exception as e:  # noqa: BLE001 - a wrong variant may fail to train
        return args, {"error": f"{type(e).__name__}: {e}"}


def _run_all(tasks, jobs, say):
    results, start = [], time.time()
    with mp.get_context("fork").Pool(jobs) as pool:     # terminated on leaving
        for i, result in enumerate(pool.imap_unordered(_task, tasks), 1):
            results.append(result)
            if i % 20 == 0 or i == len(tasks):
                say(f"[{time.time() - start:6.0f}s] {i}/{len(tasks)} runs")
    return results


def _separation_tasks(cfg, lab, variants, data_seeds, init_seeds, checkpoints):
    """Correct implementations over data x initial-weight seeds, wrong variants at
    the grading seeds."""
    seeds = [(d, i) for d in range(data_seeds) for i in range(init_seeds)]
    runs = [(name, source, seeds) for name, source in _implementations(variants)]
    runs += [(f"wrong:{path.stem}", path.read_text(),
              [(cfg.accuracy.data_seed, cfg.accuracy.init_seed)])
             for path in sorted((variants / "wrong").glob("*.py"))]
    return [("accuracy", cfg, name, _code(variants, source), unit.id, d, i, checkpoints)
            for name, source, pairs in runs for unit in lab.units
            if _defines(source, unit.graded_class) for d, i in pairs]


def _false_fail_tasks(cfg, lab, variants, seeds):
    return [("verdict", cfg, name, _code(variants, source), unit.id, k)
            for name, source in _implementations(variants) for unit in lab.units
            if _defines(source, unit.graded_class) for k in range(seeds)]


def _summaries(results, checkpoints):
    correct, wrong = {}, []
    for (kind, _, name, _, question, *rest), value in results:
        if kind != "accuracy":
            continue
        if name.startswith("wrong:"):
            wrong.append({"variant": name[6:], "question": question,
                          "acc": {str(k): v for k, v in value.items()}})
        elif "error" not in value:
            correct.setdefault(question, []).append(value)
    summary = {}
    for question, runs in sorted(correct.items()):
        summary[question] = {str(it): {"train_min": min(r[it][0] for r in runs),
                                       "train_mean": sum(r[it][0] for r in runs) / len(runs),
                                       "test_min": min(r[it][1] for r in runs),
                                       "test_mean": sum(r[it][1] for r in runs) / len(runs),
                                       "runs": len(runs)} for it in checkpoints}
    return summary, sorted(wrong, key=lambda w: (w["question"], w["variant"]))


def _false_fails(results):
    table = {}
    for (kind, _, name, _, question, *_), value in results:
        if kind != "verdict" or isinstance(value, dict):
            continue
        first, final, runs = value
        keys = ("seeds", "first_run_fails", "fails", "reruns")
        row = table.setdefault(f"{question} {name}", dict.fromkeys(keys, 0))
        for key, count in zip(keys, (1, not first, not final, runs - 1)):
            row[key] += count
    return dict(sorted(table.items()))


def _markdown(command, cfg, checkpoints, summary, wrong, false_fails, elapsed):
    acc = cfg.accuracy
    lines = ["# Accuracy-test calibration", "", f"Generated by `{command}` in {elapsed:.0f} s.",
             "", "## Separation", "",
             "Correct implementations (the reference, the book's code, the correct variants) "
             "over data seeds x initial-weight seeds: lowest (mean) accuracy.", "",
             "| question | iterations | runs | train min (mean) | test min (mean) |",
             "|---|---|---|---|---|"]
    for question, per in summary.items():
        for it, s in per.items():
            lines.append(f"| {question} | {it} | {s['runs']} | {s['train_min']:.3f} "
                         f"({s['train_mean']:.3f}) | {s['test_min']:.3f} ({s['test_mean']:.3f}) |")
    for it in checkpoints:
        low = [min(per[str(it)][f"{part}_min"] for per in summary.values())
               for part in ("train", "test")]
        rule = [math.floor((x - MARGIN) * 20) / 20 for x in low]
        lines.append(f"\nAt {it} iterations: lowest train {low[0]:.3f}, test {low[1]:.3f}; "
                     f"thresholds by the rule (min - {MARGIN}, floored to 0.05): train "
                     f"{rule[0]:.2f}, test {rule[1]:.2f}.")
    lines += ["", "Wrong variants at the grading seeds: train / test accuracy.", "",
              "| variant | question | " + " | ".join(map(str, checkpoints)) + " |",
              "|---|---|" + "---|" * len(checkpoints)]
    for w in wrong:
        cells = ([w["acc"]["error"][:60]] + [""] * (len(checkpoints) - 1) if "error" in w["acc"]
                 else [f"{w['acc'][str(c)][0]:.2f} / {w['acc'][str(c)][1]:.2f}"
                       for c in checkpoints])
        lines.append(f"| {w['variant']} | {w['question']} | " + " | ".join(cells) + " |")
    if false_fails:
        seeds = max(r["seeds"] for r in false_fails.values())
        lines += ["", "## False fails", "",
                  f"Every correct implementation at the grading settings ({acc.iterations} "
                  f"iterations, thresholds train {acc.train_threshold:.2f} / test "
                  f"{acc.test_threshold:.2f}) over {seeds} seeds (initial weights and training "
                  "seed k = 0..; the grading data), judged by the grader's accuracy check with "
                  "its rule of running again with other seeds when a run fails close to a "
                  "threshold.", "",
                  "| question, implementation | seeds | first run failed | failed after the "
                  "rule | extra runs |", "|---|---|---|---|---|"]
        for key, r in false_fails.items():
            lines.append(f"| {key} | {r['seeds']} | {r['first_run_fails']} | {r['fails']} | "
                         f"{r['reruns']} |")
        total = sum(r["fails"] for r in false_fails.values())
        runs = sum(r["seeds"] for r in false_fails.values())
        lines.append(f"\nFalse fails after the rule: {total} of {runs} gradings.")
    return "\n".join(lines) + "\n"


def calibrate_timing(cfg, repeat, say):
    """The solution notebook graded ``repeat`` times in the sandbox: the lowest
    worker CPU time of each question, and the sandbox's speed benchmark."""
    best, bench = {}, []
    solution = ROOT / "solutions" / cfg.lab.notebook
    for _ in range(repeat):
        with open_sandbox(cfg) as sandbox:          # a new sandbox: a new benchmark
            result = grade_notebook(solution, cfg, sandbox=sandbox)
            bench.append(sandbox.info["bench_cpu"])
        if result.score != result.max_score:
            raise RuntimeError(f"the solution scored {result.score}: {result.to_text()}")
        for question, log in result.staff["questions"].items():
            cpu = log["report"]["cpu"]
            best[question] = min(best.get(question, cpu), cpu)
        say(f"timing: {({q: round(c, 2) for q, c in best.items()})}, bench {min(bench):.4f}")
    return {"bench_cpu": min(bench), "iterations": cfg.accuracy.iterations,
            "questions": {q: round(c, 3) for q, c in best.items()},
            "measured": time.strftime("%Y-%m-%d"), "repeat": repeat}


def main(accuracy=True, timing=False, data_seeds=3, init_seeds=3, checkpoints="500,1000,2000",
         false_fail_seeds=20, jobs=2, config=None, out=None, repeat=3, quiet=False,
         variants=None):
    """Run the calibrations asked for and write their files into ``out``; the
    implementations are those of the folder ``variants`` (default: the packaged set)."""

    def say(text):
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    cfg = load_config(config)
    lab = load_lab(cfg)
    out = Path(out or OUT)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    if accuracy:
        points = sorted({int(c) for c in str(checkpoints).split(",")})
        variants = Path(variants) if variants else VARIANTS
        tasks = _separation_tasks(cfg, lab, variants, data_seeds, init_seeds, points)
        tasks += _false_fail_tasks(cfg, lab, variants, false_fail_seeds)
        say(f"{len(tasks)} training runs on {jobs} processes")
        results = _run_all(tasks, jobs, say)
        summary, wrong = _summaries(results, points)
        false_fails = _false_fails(results)
        command = (f"grade.py calibrate --data-seeds {data_seeds} --init-seeds {init_seeds} "
                   f"--checkpoints {','.join(map(str, points))} --false-fail-seeds "
                   f"{false_fail_seeds}")
        (out / "accuracy.json").write_text(json.dumps(
            {"command": command, "checkpoints": points, "margin": MARGIN, "summary": summary,
             "wrong_runs": wrong, "false_fails": false_fails,
             "settings": dataclasses.asdict(cfg.accuracy)}, indent=1))
        text = _markdown(command, cfg, points, summary, wrong, false_fails, time.time() - start)
        (out / "accuracy.md").write_text(text)
        say(text)
    if timing:
        data = calibrate_timing(cfg, repeat, say)
        (out / "timing.json").write_text(json.dumps(data, indent=1) + "\n")
        say(json.dumps(data))
    return 0
