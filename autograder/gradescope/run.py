"""Gradescope entry point, called by ``run_autograder``::

    python -m autograder.gradescope.run [--root /autograder]

Layout (root from ``--root``, else ``$AUTOGRADER_ROOT``, else ``/autograder``)::

    ROOT/source/        the unzipped autograder (this package, grading.toml)
    ROOT/submission/    the student's files
    ROOT/results/results.json   written here, always

Finds the notebook in ``submission/`` (the only ``.ipynb``, or the one named
as the config's ``[lab] notebook``; inside an uploaded ``.zip`` when there is no
``.ipynb`` file), grades it with the engine and writes
``results/results.json`` (plus ``results.staff.json`` beside it, which
Gradescope ignores). ``results.json`` is written in every case: no notebook or
several (a zero with a message saying so), a broken notebook (the engine's
zero with a message), and a failure of the grader itself (a zero with
"Autograder failed, contact staff"; the traceback goes only to the staff log
and to this process's stdout, which results.json marks as hidden from
students). A watchdog writes the failure result if grading has not finished
``--deadline`` seconds after the start (default 540 s, under Gradescope's
default 10 minute timeout); it runs on SIGALRM, so ``kill -ALRM PID`` fires it at
once (the tests do, while a question runs).

Run as root (Gradescope), the student's code runs as an unprivileged user
without network (see :mod:`.isolation`); the source folder is made ``0700`` and
``results/`` ``0755 root`` first.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from contextlib import suppress
from pathlib import Path, PurePosixPath

from .. import i18n
from ..config import load_config
from ..errors import ExitCode
from ..grading import grade_safely, specs_of, write_safely
from ..i18n import N_, say
from ..notebook import MAX_NOTEBOOK_BYTES, choose_notebook, ignored, zip_notebooks
from ..paths import REPOSITORY
from ..results import GradingResult, clean_text, write_results
from .isolation import LIVE_BASES, Isolation, kill_descendants

DEFAULT_DEADLINE = 540          # seconds; Gradescope's default timeout is 600
STAFF_LOG_CHARS = 2000          # per question, of the student's output, on stdout (staff only)


def _zip_members(path):
    """The ``.ipynb`` members of the zip at ``path`` (none if it is not a zip)."""
    try:
        return zip_notebooks(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, RuntimeError):
        return []


def _extract_member(path, member, dest_dir):
    """Copy one zip member to ``dest_dir`` (at most MAX_NOTEBOOK_BYTES + 1 bytes,
    so a zip bomb stays small and the engine reports the size)."""
    dest = Path(dest_dir) / PurePosixPath(member).name
    with zipfile.ZipFile(path) as z, z.open(member) as src, open(dest, "wb") as out:
        out.write(src.read(MAX_NOTEBOOK_BYTES + 1))
    return dest


def find_notebook(submission_dir, expected, extract_dir=None):
    """``(path, note)``: the notebook to grade and a note for the student, or
    ``(None, message)`` when there is none or it is ambiguous.

    Notebooks are the ``.ipynb`` files anywhere in ``submission_dir`` (not in
    checkpoints, not symlinks); when there are none, the ``.ipynb`` members of
    its ``.zip`` files (otter's ``grader.export()`` zip), the chosen one being
    copied into ``extract_dir``."""
    submission_dir = Path(submission_dir)
    if not submission_dir.is_dir():
        return None, say(N_("No submission folder was found: upload your notebook "
                            "%(expected)s again."), expected=expected)
    files, zips = [], []
    for p in sorted(submission_dir.rglob("*")):
        rel = p.relative_to(submission_dir)
        if ignored(rel.parts) or p.is_symlink() or not p.is_file():
            continue
        if p.suffix.lower() == ".ipynb":
            files.append((str(rel), p, None))
        elif p.suffix.lower() == ".zip":
            zips += [(f"{rel}/{m}", p, m) for m in _zip_members(p)]
    found = files or zips
    if not found:
        return None, say(N_("No notebook (.ipynb file) was found in your submission: upload "
                            "%(expected)s."), expected=expected)
    names = ", ".join(f[0] for f in found)
    chosen_name = choose_notebook([f[0] for f in found], expected)
    if chosen_name is None:
        return None, say(N_("Several notebooks were submitted (%(names)s) and it is not clear "
                            "which to grade: submit only %(expected)s."), names=names,
                         expected=expected)
    _, path, member = next(f for f in found if f[0] == chosen_name)
    note = (say(N_("Several notebooks were submitted (%(names)s); only %(chosen)s was graded."),
                names=names, chosen=chosen_name) if len(found) > 1 else None)
    if member is not None:
        if extract_dir is None:
            extract_dir = tempfile.mkdtemp(prefix="nndl-submission-")
        try:
            path = _extract_member(path, member, extract_dir)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as e:
            return None, say(N_("The notebook %(chosen)s could not be read from the zip "
                                "(%(error)s)."), chosen=chosen_name, error=str(e))
    return path, note


def _harden(root):
    """As root: nobody else may read the source (hidden checks, grading.toml)
    or write the results."""
    if os.geteuid() != 0:
        return
    source = root / "source"
    if source.is_dir():
        os.chown(source, 0, 0)
        os.chmod(source, 0o700)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    os.chown(results, 0, 0)
    os.chmod(results, 0o755)
    metadata = root / "submission_metadata.json"     # names, emails, earlier results
    if metadata.is_file() and not metadata.is_symlink():
        os.chmod(metadata, 0o600)


def _print_staff(result, isolation_info):
    """The staff's view on stdout (Gradescope shows it to instructors only:
    results.json sets stdout_visibility to hidden)."""
    sys.stdout.write(result.to_text())
    print(clean_text(f"isolation: {isolation_info}"))
    if result.grader_error:
        print(clean_text("grader error (staff only):\n" + str(result.grader_error)[-8000:]))
    for question, logs in (result.staff.get("questions") or {}).items():
        if not isinstance(logs, dict):
            continue
        out = str(logs.get("output") or "")
        if out:
            clipped = out[:STAFF_LOG_CHARS] + (" [...]" if len(out) > STAFF_LOG_CHARS else "")
            print(clean_text(f"--- student output during {question} (staff only, "
                             f"{len(out)} chars) ---\n{clipped}"))
        print(f"--- {question}: {logs.get('report')}")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope.run",
                                description="Grade the submission in Gradescope's layout.")
    p.add_argument("--root", help="layout root (default: $AUTOGRADER_ROOT or /autograder)")
    p.add_argument("--config", help="grading config (default: the bundled grading.toml)")
    p.add_argument("--expected", help="the notebook's expected name (default: the config's "
                                      "[lab] notebook)")
    p.add_argument("--deadline", type=float,
                   default=float(os.environ.get("NNDL_DEADLINE", DEFAULT_DEADLINE)),
                   help="seconds before the watchdog writes a failure result")
    return p.parse_args(argv)


def _failed(submission, cfg, error):
    return GradingResult.grader_failed(submission, specs_of(cfg) if cfg else [], error,
                                       cfg.lab.language if cfg else "en")


def _grade(submission, cfg, expected, scratch):
    """The result of the submission in ``submission`` (the student's fault when
    there is no notebook to grade), and the isolation's description."""
    i18n.use(cfg.lab.language)           # the notes about the submission, for the student
    notebook, note = find_notebook(submission, expected or cfg.lab.notebook, extract_dir=scratch)
    if notebook is None:
        return GradingResult.not_graded(submission, specs_of(cfg), note, cfg.lab.language), 0, None
    with Isolation(REPOSITORY, cfg) as iso:
        info = iso.describe()
        result, code = grade_safely(notebook, cfg, sandbox_factory=iso.factory,
                                    workdir=iso.workdir if iso.active else None)
    result.staff["isolation"] = info
    if note:
        result.problems.insert(0, note)
    return result, code, info


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    start = time.monotonic()
    root = Path(args.root or os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    results_path = root / "results" / "results.json"
    submission = root / "submission"
    state = {"cfg": None, "finishing": False, "cleanup": None}

    def watchdog(signum, frame):  # noqa: ARG001
        if state["finishing"]:
            return
        state["finishing"] = True
        with suppress(Exception):
            kill_descendants()        # the sandbox, whatever its user
            for folder in list(LIVE_BASES) + [state.get("cleanup")]:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
        try:
            result = _failed(submission, state["cfg"],
                             f"watchdog: grading did not finish within {args.deadline:g} s")
            result.execution_time = time.monotonic() - start
            write_results(result, results_path)
            print(f"watchdog: grading did not finish within {args.deadline:g} s", flush=True)
        finally:
            os._exit(ExitCode.GRADER)

    signal.signal(signal.SIGALRM, watchdog)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})   # were it blocked when started
    signal.alarm(max(1, int(args.deadline)))
    isolation_info = None
    try:
        _harden(root)
        state["cfg"] = cfg = load_config(args.config)
        state["cleanup"] = tempfile.mkdtemp(prefix="nndl-submission-")   # 0700, the grader's
        result, code, isolation_info = _grade(submission, cfg, args.expected, state["cleanup"])
    except Exception:  # noqa: BLE001 - always leave a results file behind
        code, result = ExitCode.GRADER, _failed(submission, state["cfg"], traceback.format_exc())
    if state["cleanup"]:
        shutil.rmtree(state["cleanup"], ignore_errors=True)
        state["cleanup"] = None
    state["finishing"] = True
    signal.alarm(0)
    result.execution_time = time.monotonic() - start
    code = max(code, write_safely(result, results_path, state["cfg"]))
    _print_staff(result, isolation_info)
    return code


if __name__ == "__main__":
    sys.exit(main())
