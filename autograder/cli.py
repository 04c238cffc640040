"""Command line of the grader (``python grade.py ...``).

    grade.py NOTEBOOK.ipynb [--results results.json]    grade one submission
    grade.py SUBMISSIONS_DIR --out OUT_DIR               grade a class (batch)
    grade.py gradescope --out autograder.zip             build the Gradescope zip

Exit status: 0 when grading happened (whatever the score), 2 when the grader
itself failed (a results file saying so is still written), 1 for bad usage.
"""

import argparse
import io
import sys
import traceback
from pathlib import Path

from .config import ConfigError, load_config
from .engine import GraderError, failed_result, grade_notebook
from .results import clean_text, write_results


def _print_result(result, stream=None):
    """The result as text on ``stream`` (default: stdout), lone surrogates
    escaped: stdout may be strict UTF-8, and messages come from student code."""
    text = io.StringIO()
    _format_result(result, text)
    (stream or sys.stdout).write(clean_text(text.getvalue()))


def _format_result(result, stream):
    print(f"== {result.submission}", file=stream)
    current = None
    for t in result.tests:
        if t.question != current:
            current = t.question
            got, out_of = result.question_scores()[current]
            print(f"{current}: {got:g} / {out_of:g}", file=stream)
        mark = "PASS" if t.passed else "FAIL"
        hidden = " [hidden]" if t.hidden else ""
        print(f"  [{mark}] {t.name}{hidden} ({t.score:g}/{t.max_score:g}): {t.message}",
              file=stream)
    for p in result.problems:
        print(f"note: {p}", file=stream)
    print(f"Total: {result.score:g} / {result.max_score:g}   "
          f"({result.execution_time:.1f} s)", file=stream)


def grade_one(args):
    cfg = load_config(args.config)
    results_path = Path(args.results)
    try:
        result = grade_notebook(args.submission, cfg, device=args.device)
        code = 0
    except GraderError as e:
        print(f"grader error: {e}", file=sys.stderr)
        result, code = failed_result(args.submission, cfg, str(e)), 2
    except Exception:  # noqa: BLE001 - always leave a results file behind
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        result, code = failed_result(args.submission, cfg, tb), 2
    try:
        write_results(result, results_path)
    except Exception:  # noqa: BLE001 - never leave without a results file
        tb = traceback.format_exc()
        print(f"could not write the results:\n{tb}", file=sys.stderr)
        result = failed_result(clean_text(args.submission), cfg,
                               clean_text(f"writing the results failed:\n{tb}"))
        code = 2
        try:
            write_results(result, results_path)
        except Exception as e:  # noqa: BLE001 - e.g. the folder is not writable
            print(f"could not write {results_path} either: {e!r}", file=sys.stderr)
            return 2
    if not args.quiet:
        _print_result(result)
        print(clean_text(f"results written to {results_path}"))
    return code


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "gradescope":
        from .gradescope.build import main as gradescope_main

        return gradescope_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="grade.py", description="Grade NNDL regularization lab notebooks.")
    parser.add_argument("submission", help="a notebook, or a folder of submissions")
    parser.add_argument("--results", default="results.json",
                        help="where to write results.json (single notebook)")
    parser.add_argument("--out", help="output folder (batch grading of a folder)")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"],
                        help="where paddle runs (default: the config's, auto)")
    parser.add_argument("--config", help="grading config (default: autograder/grading.toml)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel gradings (batch)")
    parser.add_argument("--force", action="store_true", help="regrade everything (batch)")
    parser.add_argument("--scale", type=float, default=None,
                        help="rescale totals to this maximum in the gradebook (batch)")
    parser.add_argument("--scheduler", help="Dask scheduler address (batch)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        if Path(args.submission).is_dir():
            from .batch import main as batch_main

            if not args.out:
                parser.error("grading a folder needs --out OUT_DIR")
            return batch_main(args)
        return grade_one(args)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
