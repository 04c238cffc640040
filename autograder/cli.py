"""Command line of the grader (``python grade.py ...``): a thin layer that
parses arguments and calls the ``main(**kwargs)`` of one subcommand package.

    grade.py grade SUBMISSION [--out OUT | --results FILE]   grade one submission
    grade.py batch SUBMISSIONS_DIR --out OUT_DIR        grade a class
    grade.py gradescope [--out FOLDER | --out FILE.zip]  build the Gradescope zip
    grade.py selftest [--device cpu|gpu]                check an installation (GPU graders)
    grade.py calibrate                                  calibrate the accuracy tests
    grade.py build                                      regenerate the notebooks
    grade.py config                                     list every setting
    grade.py adjust|extend|changes|export OUT ...       the term (docs/term.md); an
                                                        LMS's download ZIP --out OUT is a batch

Shorthands: ``grade.py NOTEBOOK`` (or ``ZIP``) is ``grade``, ``grade.py DIR --out
OUT`` is ``batch``. ``--out`` is a folder in every command (made if needed):
``grade`` writes ``OUT/<id>/results.json`` there as ``batch`` does (default
``results/``), ``gradescope`` writes ``OUT/autograder.zip`` (or the ``.zip``
file named; default ``dist/autograder.zip``). Exit status: 0 when grading happened (whatever the score), 2 for an
instructor's mistake (a usage error: no results file is written) or when the
grader itself failed (a results file saying so is written), 130 on Ctrl-C.

Stopping (``_stop_signals``): SIGTERM always stops a command as Ctrl-C does (exit
130, sandboxes and the processes of student code killed, no results file for an
unfinished grading). SIGINT (Ctrl-C) does too, unless the grader was started with
SIGINT ignored: a background job (``grade.py ... &``), ``nohup`` and some CI
runners start it so, by the POSIX convention that a Ctrl-C typed for the
foreground job must not reach them. The grader then keeps SIGINT ignored (as
Python itself does at start-up) and is stopped by SIGTERM (``kill PID``). A
signal the grader was started with blocked (the signal mask is inherited) is
unblocked: SIGTERM must arrive, and the sandbox's statement clock is SIGALRM.
"""

import argparse
import importlib
import signal
import sys
from pathlib import Path

from .config import ConfigError
from .term import TermError

USAGE_ERROR = 2
INTERRUPTED = 130


def _interrupt(signum, frame):
    raise KeyboardInterrupt


UNBLOCKED = {signal.SIGINT, signal.SIGTERM, signal.SIGALRM}   # see the module's doc


def _stop_signals():
    """SIGTERM and SIGINT raise KeyboardInterrupt (the commands clean up their
    sandboxes on it and ``main`` exits 130), except a SIGINT the grader was
    started with ignored, which stays ignored (see the module's doc)."""
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, UNBLOCKED)


def _common(parser):
    parser.add_argument("--config", help="grading config (default: autograder/grading.toml)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print less")


def _device(parser):
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"],
                        help="where paddle runs (default: the config's, auto)")


def _existing(kind):
    """An argparse type: a path that exists and is a file (``kind='file'``), a
    folder (``kind='folder'``) or either (``kind='any'``); anything else is a
    usage error."""
    def check(value):
        path = Path(value)
        if not path.exists():
            raise argparse.ArgumentTypeError(f"{value} does not exist")
        if kind == "folder" and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{value} is not a folder (to grade one submission: "
                                             f"grade.py grade {value})")
        if kind == "file" and path.is_dir():
            raise argparse.ArgumentTypeError(f"{value} is a folder (to grade a class: "
                                             f"grade.py batch {value} --out OUT_DIR)")
        return str(path)
    return check


def _output(kind):
    """An argparse type: where to write a file (``kind='file'``: not a folder) or a
    folder (``kind='folder'``: not a file); missing folders are made when writing,
    but none of the path's existing parts may be a file."""
    def check(value):
        path = Path(value)
        if kind == "file" and path.is_dir():
            raise argparse.ArgumentTypeError(f"{value} is a folder: name the file to write, "
                                             f"e.g. {path / 'results.json'}")
        if kind == "folder" and path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{value} is a file, not a folder")
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise argparse.ArgumentTypeError(f"{blocking} is a file, not a folder")
        return str(path)
    return check


def _zip_output(value):
    """``gradescope --out``: a folder (made if needed; the zip is
    ``FOLDER/autograder.zip``) or the name of a ``.zip`` file."""
    path = Path(value)
    if path.suffix.lower() == ".zip" and not path.is_dir():
        return _output("file")(value)
    _output("folder")(value)
    return str(path / "autograder.zip")


def _positive(kind):
    def check(value):
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError(f"{value} is not positive")
        return number
    return check


def build_parser():
    parser = argparse.ArgumentParser(
        prog="grade.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grade NNDL lab notebooks (see README.md).",
        epilog="Shorthands: 'grade.py NOTEBOOK' = grade, 'grade.py DIR --out OUT' = batch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("grade", help="grade one submission (a notebook, an otter export zip "
                                     "or a student's folder) into results.json")
    p.add_argument("notebook", metavar="SUBMISSION", type=_existing("any"),
                   help="a notebook, an otter export zip or a student's folder")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=_output("folder"),
                       help="write OUT/<id>/results.json, results.staff.json and feedback.html, "
                            "as a batch does (default: results/)")
    where.add_argument("--results", type=_output("file"),
                       help="write this results file (and its .staff.json) instead")
    _device(p)
    _common(p)

    p = sub.add_parser("batch", help="grade a folder of submissions (a class)")
    p.add_argument("submissions", type=_download,
                   help="folder of notebooks, zips or one folder per student, or an LMS's "
                        "submissions download (Canvas, Moodle, Gradescope: zip or folder)")
    p.add_argument("--out", required=True, type=_output("folder"),
                   help="output folder (gradebook, results, report)")
    p.add_argument("--jobs", type=_positive(int), help="parallel gradings (default: cores)")
    p.add_argument("--force", action="store_true", help="regrade everything")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="regrade only these students, keep the others' results")
    p.add_argument("--scale", type=_positive(float),
                   help="rescale totals to this maximum in the gradebook")
    p.add_argument("--scheduler", help="Dask scheduler address (run on a cluster)")
    _term_batch_options(p)
    _device(p)
    _common(p)

    p = sub.add_parser("gradescope", help="build the Gradescope autograder zip")
    p.add_argument("--out", default="dist", type=_zip_output,
                   help="a folder to write autograder.zip into (default: dist/), "
                        "or the .zip file to write")
    p.add_argument("--config", help="grading config to bundle (default: grading.toml)")

    p = sub.add_parser("selftest", help="grade the bundled examples on this installation "
                                        "(and device) and compare every verdict")
    _device(p)
    p.add_argument("--record", action="store_true",
                   help="record the verdicts as the expected ones (on the CPU)")
    _common(p)

    p = sub.add_parser("calibrate", help="measure the accuracy tests' separation and false "
                                         "fails, and the reference's time per question")
    p.add_argument("--no-accuracy", dest="accuracy", action="store_false",
                   help="skip the accuracy calibration")
    p.add_argument("--timing", action="store_true",
                   help="also time the solution notebook in the sandbox (timing.json)")
    p.add_argument("--data-seeds", type=_positive(int), default=3)
    p.add_argument("--init-seeds", type=_positive(int), default=3)
    p.add_argument("--checkpoints", default="500,1000,2000",
                   help="iteration counts at which accuracy is recorded")
    p.add_argument("--false-fail-seeds", type=_positive(int), default=20)
    p.add_argument("--jobs", type=_positive(int), default=2)
    p.add_argument("--repeat", type=_positive(int), default=3, help="timing runs")
    p.add_argument("--out", default=None, help="folder of the calibration files "
                                               "(default: autograder/calibration)")
    _common(p)

    p = sub.add_parser("build", help="regenerate student_template/ and solutions/ from the "
                                     "master notebook (needs otter-grader)")
    p.add_argument("--out", help="build into this folder instead of the repository")
    p.add_argument("--config", help="grading config (its [lab] names the notebook)")

    p = sub.add_parser("config", help="list every setting of grading.toml: its value, default "
                                      "and meaning, and the points per check")
    p.add_argument("--config", help="grading config (default: autograder/grading.toml)")
    _term_parsers(sub)
    return parser


# -- the term's commands (docs/term.md) -------------------------------------------------

def _download(value):
    """An argparse type: a folder, or a zip file (an LMS's submissions download)."""
    path = Path(value)
    if path.is_file() and path.suffix.lower() == ".zip":
        return str(path)
    return _existing("folder")(value)


def _lms_download(path):
    """Whether ``path`` is an LMS's submissions zip (``grade.py ZIP --out OUT`` is
    then a batch; another zip is one student's, for ``grade``)."""
    from .batch.lms import DownloadError, recognise

    try:
        return Path(path).is_file() and recognise(path)[0] is not None
    except (DownloadError, OSError):
        return False


def _term_batch_options(p):
    p.add_argument("--roster", type=_existing("file"),
                   help="the class roster: the LMS's export (Canvas gradebook CSV, Moodle "
                        "grading worksheet, Gradescope roster) or student_id,name,email")
    p.add_argument("--times", type=_existing("file"),
                   help="submission times, a CSV student_id,submitted_at (ISO 8601 with offset)")
    p.add_argument("--by", help="who runs this, for the log (default: the OS user)")


def _term_common(p):
    p.add_argument("out", type=_existing("folder"), help="the batch's output folder")
    p.add_argument("--config", help="grading config (default: the one the batch used)")
    p.add_argument("-q", "--quiet", action="store_true", help="print less")


def _term_parsers(sub):
    p = sub.add_parser("adjust", help="adjust a student's score by hand (kept across regrades)")
    _term_common(p)
    p.add_argument("student", help="any of the student's roster ids")
    p.add_argument("--question", help="the question to adjust (default: the total)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--points", type=float, help="add these points (negative: take away)")
    how.add_argument("--set", type=float, dest="set_to", metavar="N", help="set the score to N")
    how.add_argument("--undo", action="store_true", help="undo the student's latest adjustment")
    p.add_argument("--reason", help="why (shown to the student unless --private)")
    p.add_argument("--private", action="store_true", help="the reason is for staff only")
    p.add_argument("--by", help="who, for the log (default: the OS user)")

    p = sub.add_parser("extend", help="give a student a later deadline")
    _term_common(p)
    p.add_argument("student", help="any of the student's roster ids")
    p.add_argument("--until", required=True, help="the new due time, ISO 8601 with its offset")
    p.add_argument("--reason", required=True, help="why (for the log)")
    p.add_argument("--by", help="who, for the log (default: the OS user)")

    p = sub.add_parser("changes", help="who changed in the last grading (--all: the whole log)")
    _term_common(p)
    p.add_argument("--all", action="store_true", dest="everything",
                   help="list every entry of the log")

    p = sub.add_parser("export", help="write the gradebook file an LMS imports")
    _term_common(p)
    p.add_argument("--to", required=True, dest="fmt", metavar="FORMAT",
                   help="canvas, moodle, gradescope or csv")
    p.add_argument("--assignment", help="the assignment's name (default: the lab's)")
    p.add_argument("-o", "--output", type=_output("file"),
                   help="the file to write (default: OUT/<format>_import.csv)")


TERM_COMMANDS = {"adjust": "autograder.adjust", "extend": "autograder.extend",
                 "changes": "autograder.changes", "export": "autograder.export"}


COMMANDS = {"grade": "autograder.grade", "batch": "autograder.batch",
            "gradescope": "autograder.gradescope.build", "build": "autograder.build",
            "calibrate": "autograder.calibrate", "selftest": "autograder.selftest",
            "config": "autograder.config", **TERM_COMMANDS}


def _shorthand(argv):
    """``NOTEBOOK ...`` -> ``grade NOTEBOOK ...``; ``DIR ...`` -> ``batch DIR ...``; with
    options first (``-q NOTEBOOK``), the first ``.ipynb`` or folder named decides; an
    LMS's submissions zip (``lms``) -> ``batch ZIP ...``."""
    if not argv or argv[0] in COMMANDS:
        return argv
    if argv[0].lower().endswith(".zip") and _lms_download(argv[0]):
        return ["batch"] + argv
    if not argv[0].startswith("-"):
        return (["batch"] if Path(argv[0]).is_dir() else ["grade"]) + argv
    for arg in argv:
        if arg.lower().endswith((".ipynb", ".zip")) or Path(arg).is_dir():
            return (["batch"] if Path(arg).is_dir() else ["grade"]) + argv
    return argv


def main(argv=None):
    argv = _shorthand(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    kwargs = {k: v for k, v in vars(args).items() if k != "command"}
    _stop_signals()
    try:
        return importlib.import_module(COMMANDS[args.command]).main(**kwargs)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except TermError as e:
        print(e, file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"interrupted: {args.command} stopped (a grading in progress writes no results "
              "file)", file=sys.stderr)
        return INTERRUPTED
