#!/usr/bin/env python3
"""Regenerate ``student_template/`` and ``solutions/`` from the master notebook.

Source of truth: ``assignment/regularization.ipynb`` (otter-assign format) and
the static student files in ``assignment/student_files/``.

What ``build(out_root)`` writes (and ``main()`` writes into the repository)::

    student_template/regularization.ipynb   student notebook (stubs, no solutions)
    student_template/tests/*.py             otter's public test files
    student_template/nndl/**.py             copy of the course library (*.py only)
    student_template/README.md              from assignment/student_files/
    student_template/requirements.txt       from assignment/student_files/
    solutions/regularization.ipynb          otter's autograder notebook (with solutions)
    solutions/tests/*.py                    otter's autograder test files

``solutions/README.md`` (measured results) is written by hand and never
touched here.

Steps: copy the master into a temporary directory, run
``otter assign --no-run-tests`` there (so nothing is written next to the
master), copy the results and normalize every notebook (no cell ids, no
execution counts, no outputs, no volatile metadata, nbformat 4.4), so that
running the build twice gives byte-identical files. The result does not
depend on the current working directory.

Usage::

    python scripts/build_notebooks.py            # rebuild into the repository
    python scripts/build_notebooks.py OUT_DIR    # build into OUT_DIR instead
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tempfile

import nbformat

REPO = pathlib.Path(__file__).resolve().parent.parent
MASTER = REPO / "assignment" / "regularization.ipynb"
STUDENT_FILES = REPO / "assignment" / "student_files"
NNDL = REPO / "nndl"
NOTEBOOK_NAME = MASTER.name

# Cell metadata worth keeping: otter's locks and tags, and otter's own key.
KEEP_CELL_METADATA = ("deletable", "editable", "tags", "otter")
# Notebook metadata worth keeping; language_info is reduced to its name
# (Jupyter stores the local Python version there).
KEEP_NB_METADATA = ("kernelspec", "language_info", "otter")


def normalize_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip everything that changes between runs or machines, in place."""
    nb.nbformat, nb.nbformat_minor = 4, 4  # 4.4: cell ids are not allowed
    meta = {k: nb.metadata[k] for k in KEEP_NB_METADATA if k in nb.metadata}
    if "language_info" in meta:
        meta["language_info"] = {"name": meta["language_info"].get("name", "python")}
    nb.metadata = nbformat.from_dict(meta)
    for cell in nb.cells:
        cell.pop("id", None)
        cell.metadata = nbformat.from_dict(
            {k: cell.metadata[k] for k in KEEP_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def write_notebook(src: pathlib.Path, dst: pathlib.Path) -> None:
    nb = normalize_notebook(nbformat.read(str(src), as_version=4))
    nbformat.validate(nb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    dst.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def copy_tree_py(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copy the *.py files of ``src`` (recursively, no __pycache__) to ``dst``."""
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if "__pycache__" in rel.parts:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def copy_tests(src: pathlib.Path, dst: pathlib.Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.py")):
        shutil.copyfile(path, dst / path.name)


def run_otter_assign(work: pathlib.Path) -> pathlib.Path:
    """Run otter assign on a copy of the master in ``work``; return the dist dir."""
    master = work / "master" / NOTEBOOK_NAME
    master.parent.mkdir(parents=True)
    shutil.copyfile(MASTER, master)
    dist = work / "dist"
    cmd = [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(master), str(dist)]
    proc = subprocess.run(cmd, cwd=str(work), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"otter assign failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for needed in (dist / "student" / NOTEBOOK_NAME, dist / "autograder" / NOTEBOOK_NAME):
        if not needed.is_file():
            raise RuntimeError(f"otter assign did not produce {needed}")
    return dist


def build(out_root: pathlib.Path) -> list[pathlib.Path]:
    """Write ``out_root/student_template/...`` and ``out_root/solutions/...``.

    Generated directories (``tests/``, ``nndl/``) are replaced wholesale;
    other files in ``out_root`` (e.g. ``solutions/README.md``) are left alone.
    Returns the written files, sorted.
    """
    out_root = pathlib.Path(out_root).resolve()
    student = out_root / "student_template"
    solutions = out_root / "solutions"
    with tempfile.TemporaryDirectory(prefix="build_notebooks_") as tmp:
        dist = run_otter_assign(pathlib.Path(tmp))

        for stale in (student / "tests", student / "nndl", solutions / "tests"):
            shutil.rmtree(stale, ignore_errors=True)

        write_notebook(dist / "student" / NOTEBOOK_NAME, student / NOTEBOOK_NAME)
        copy_tests(dist / "student" / "tests", student / "tests")
        write_notebook(dist / "autograder" / NOTEBOOK_NAME, solutions / NOTEBOOK_NAME)
        copy_tests(dist / "autograder" / "tests", solutions / "tests")

    copy_tree_py(NNDL, student / "nndl")
    for name in ("README.md", "requirements.txt"):
        shutil.copyfile(STUDENT_FILES / name, student / name)

    written = [student / NOTEBOOK_NAME, solutions / NOTEBOOK_NAME,
               student / "README.md", student / "requirements.txt"]
    written += sorted((student / "tests").glob("*.py"))
    written += sorted((solutions / "tests").glob("*.py"))
    written += sorted((student / "nndl").rglob("*.py"))
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_root = pathlib.Path(argv[0]) if argv else REPO
    for path in build(out_root):
        print(path.relative_to(out_root.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
