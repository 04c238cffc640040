"""Build the Gradescope autograder zip::

    python grade.py gradescope [--out FOLDER | --out FILE.zip] [--config other.toml]

``--out`` is a folder, as in every command (the zip is ``FOLDER/autograder.zip``;
default ``dist/``), or the name of the ``.zip`` to write. The zip is written to
a temporary file next to it and renamed, so a failure leaves nothing behind.

The zip holds, at its top level (Gradescope unzips it into
``/autograder/source``)::

    setup.sh            installs requirements.txt with pip, self-checks, makes the sandbox user
    run_autograder      grades submission/*.ipynb into results/results.json
    requirements.txt    the engine's runtime dependencies only
    grade.py            the command line (also usable on Gradescope for debugging)
    autograder/**.py    the engine, the questions' instructor sides, this package
    autograder/grading.toml    the grading config (or --config's file)
    autograder/calibration/*.json   the calibration (the questions' time limits)
    <library>/**.py     the lab's course library (public checks, probes), [lab] library
    **/locale/**.mo     the compiled message catalogs ([lab] language: what students read)
    BUILD_INFO.json     the commit it was built from and each file's sha256

Entries are sorted with fixed timestamps, so the same tree gives the same zip.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..config import load_config
from ..errors import ExitCode
from ..lab import load_lab
from ..paths import PACKAGE, REPOSITORY

REPO = REPOSITORY
TEMPLATES = PACKAGE / "gradescope" / "templates"
TOP_LEVEL = {"setup.sh": 0o755, "run_autograder": 0o755, "requirements.txt": 0o644}
ENGINE = __name__.split(".")[0]
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


PACKAGE_SUFFIXES = {".py", ".json", ".toml", ".mo"}   # code, calibration data (time limits),
                                                       # config, compiled message catalogs


def package_files(packages, repo=REPO):
    """Relative paths of the code and data files of ``packages`` (``*.py``, the
    calibration's ``*.json``, the config), grade.py and the example class
    (examples/submissions, graded by setup.sh's selftest)."""
    files = {"grade.py"}
    examples = repo / "examples" / "submissions"     # what setup.sh's selftest grades
    files |= {p.relative_to(repo).as_posix() for p in examples.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    for pkg in packages:
        for p in (repo / pkg).rglob("*"):
            rel = p.relative_to(repo)
            if p.suffix in PACKAGE_SUFFIXES and p.is_file() and not any(
                    part == "__pycache__" or part.startswith(".") for part in rel.parts):
                files.add(rel.as_posix())
    return sorted(files)


def _git_commit(repo, packages):
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], text=True, capture_output=True,
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit or None, bool(git("status", "--porcelain", "--", *packages, "grade.py"))
    except (OSError, subprocess.SubprocessError):
        return None, None


def build(out, config=None, repo=REPO):
    """Write the zip to ``out``; return the list of its entries."""
    lab = load_lab(load_config(config))   # refuse a broken config or lab now, not per submission
    packages = sorted({ENGINE, *lab.local_packages()})
    out = Path(out)
    contents = {name: ((TEMPLATES / name).read_bytes(), mode) for name, mode in TOP_LEVEL.items()}
    contents.update({rel: ((repo / rel).read_bytes(), 0o644)
                     for rel in package_files(packages, repo)})
    if config is not None:
        contents["autograder/grading.toml"] = (Path(config).read_bytes(), 0o644)
    commit, dirty = _git_commit(repo, packages)
    info = {"commit": commit, "dirty": dirty,
            "config": str(config) if config else "autograder/grading.toml",
            "files": {name: hashlib.sha256(data).hexdigest()
                      for name, (data, _) in sorted(contents.items())}}
    contents["BUILD_INFO.json"] = (json.dumps(info, indent=1, sort_keys=True).encode(), 0o644)
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder: name the .zip file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as z:
            for name in sorted(contents):
                data, mode = contents[name]
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100000 | mode) << 16
                info.create_system = 3   # unix, so that the modes are honoured by unzip
                z.writestr(info, data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sorted(contents)


def total_points(config=None):
    """The points of every check of the lab, as the config gives them."""
    cfg = load_config(config)
    return sum(cfg.checks[c.name].points for c in load_lab(cfg).checks())


DEFAULT_OUT = Path("dist") / "autograder.zip"


def main(out=DEFAULT_OUT, config=None):
    """``grade.py gradescope``: write the zip to ``out`` (a .zip path: the command
    line turns a folder into FOLDER/autograder.zip), bundling ``config``."""
    try:
        names = build(out, config)
        total = total_points(config)
    except Exception as e:  # noqa: BLE001 - a short message for the instructor
        print(f"cannot build {out}: {type(e).__name__}: {e}", file=sys.stderr)
        return ExitCode.USAGE
    size = Path(out).stat().st_size
    print(f"wrote {out} ({len(names)} files, {size / 1024:.0f} KiB)")
    print("upload it as the autograder of a Gradescope Programming Assignment "
          "(base image Ubuntu 22.04); see docs/gradescope.md")
    print(f"{total:g} points in all: set the assignment's total to {total:g} on Gradescope")
    if total != 100:
        print(f"note: the config's points add up to {total:g}, not 100", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
