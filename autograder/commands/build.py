"""``grade.py build``: regenerate ``student_template/`` and ``solutions/`` from
the master notebook.

Source of truth: ``assignment/<notebook>`` (otter-assign format) and the
static student files in ``assignment/student_files/``.

What ``build(out_root)`` writes (and ``main()`` writes into the repository)::

    student_template/<notebook>         student notebook (stubs, no solutions), otter's
    student_template/tests/*.py         otter's public test files (grader.check reads them)
    student_template/nndl/**.py, *.mo   a copy of the course library (with its compiled
                                        message catalogs), marked GENERATED; for a
                                        ``[lab] language`` other than English, also
                                        ``nndl/_language.py`` (the self-checks' language)
    student_template/README.md          from assignment/student_files/
    student_template/requirements.txt   from assignment/student_files/
    solutions/<notebook>                the solution notebook, clean: otter's markup
                                        (prompt strings, BEGIN/END comments) removed
    solutions/tests/*.py                otter's test files (``otter run`` reads them)

``solutions/README.md`` (measured results) is written by hand and never
touched here.

Steps: copy the master into a temporary directory, run
``otter assign --no-run-tests`` there (so nothing is written next to the
master), copy the results and normalize every notebook (no cell ids, no
execution counts, no outputs, no volatile metadata, nbformat 4.4), so that
running the build twice gives byte-identical files. Both notebooks get a cell
just before otter's export cell that runs ``nndl.notebook.check_saved()``
(what the grader will not see in the saved file). The result does not
depend on the current working directory.

Language (``grading.toml``'s ``[lab] language``): for ``zh-CN`` every markdown
cell of both notebooks (the master's and those otter adds) is replaced by its
translation from ``assignment/locale/zh_CN/LC_MESSAGES/notebook.mo``, keyed by
the English text (code cells are not translated); a cell without a
translation stops the build. The repository keeps the English build.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import nbformat

from nndl.i18n import DEFAULT as ENGLISH
from nndl.i18n import translations

from ..config import load_config
from ..errors import ExitCode
from ..paths import REPOSITORY

REPO = REPOSITORY
STUDENT_FILES = REPO / "assignment" / "student_files"
GENERATED = "GENERATED.md"
GENERATED_TEXT = """# Generated: do not edit

This folder is a copy of the course library `nndl/` at the repository's root,
made by `python grade.py build` (it is what students receive). Edit `nndl/`
there and rebuild; `test_notebooks.py` fails while the two differ.
"""
# otter's markup in the solution's code cells: a dead prompt string, and comment lines
PROMPT = re.compile(r"^[ \t]*\"\"\" # BEGIN PROMPT\n.*?^[ \t]*\"\"\" # END PROMPT\n", re.S | re.M)
MARKERS = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION( NO PROMPT)?[ \t]*(\n|\Z)", re.M)

# The cell put before otter's export cell: what the grader will not see in the saved file.
EXPORT_CALL = "grader.export("
CHECK_SAVED = (
    "# Save the notebook first (Ctrl+S), then run this cell: the grader grades the saved\n"
    "# file, and this says, per question, what this kernel has that the file does not.\n"
    "from nndl.notebook import check_saved\n"
    "check_saved()")

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


class BuildError(Exception):
    """The notebook cannot be built as configured (a missing translation)."""


NOTEBOOK_DOMAIN = "notebook"          # assignment/locale/<lang>/LC_MESSAGES/notebook.mo
LANGUAGE_MODULE = "_language.py"      # in the student's copy of the library


def translate_markdown(nb: nbformat.NotebookNode, language: str) -> nbformat.NotebookNode:
    """Every non-blank markdown cell of ``nb`` in ``language`` (in place)."""
    if language == ENGLISH:
        return nb
    catalog = translations(language, NOTEBOOK_DOMAIN, REPO / "assignment" / "locale")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            text = catalog.gettext(cell.source)
            if text == cell.source:
                raise BuildError(f"no {language} translation of the markdown cell "
                                 f"{cell.source.splitlines()[0][:60]!r}: run "
                                 "python scripts/i18n.py update, translate, compile")
            cell.source = text
    return nb


def write_notebook(src: pathlib.Path, dst: pathlib.Path, clean=False,
                   language=ENGLISH) -> None:
    nb = translate_markdown(normalize_notebook(nbformat.read(str(src), as_version=4)), language)
    if clean:
        clean_solution(nb)
    add_check_saved(nb)
    nbformat.validate(nb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    dst.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def library_files(src: pathlib.Path) -> list[pathlib.Path]:
    """The *.py files and compiled message catalogs (*.mo) of the library ``src``
    (recursively, no __pycache__), relative."""
    return sorted(p.relative_to(src) for pattern in ("*.py", "*.mo") for p in src.rglob(pattern)
                  if "__pycache__" not in p.parts)


def copy_library(src: pathlib.Path, dst: pathlib.Path, language=ENGLISH) -> None:
    """Copy the library ``src`` to ``dst``, with the GENERATED marker and, for
    a language other than English, the module that sets it."""
    for rel in library_files(src):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    (dst / GENERATED).write_text(GENERATED_TEXT, encoding="utf-8")
    if language != ENGLISH:
        (dst / LANGUAGE_MODULE).write_text(
            '"""Written by grade.py build: the language of the self-checks."""\n\n'
            f'LANGUAGE = "{language}"\n', encoding="utf-8")


def clean_solution(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution without otter's markup in its code (in place)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = MARKERS.sub("", PROMPT.sub("", cell.source)).rstrip()
    return nb


def add_check_saved(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Put the :data:`CHECK_SAVED` cell just before otter's export cell (in place);
    a master without an export cell is an instructor's mistake (RuntimeError)."""
    export = [i for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code" and EXPORT_CALL in cell.source]
    if len(export) != 1:
        raise RuntimeError(f"the notebook has {len(export)} cells calling {EXPORT_CALL}, "
                           "expected 1 (export_cell in the master's ASSIGNMENT CONFIG)")
    cell = nbformat.v4.new_code_cell(CHECK_SAVED)
    cell.pop("id", None)
    cell.metadata = nbformat.from_dict({"deletable": False, "editable": False})
    nb.cells.insert(export[0], cell)
    return nb


def copy_tests(src: pathlib.Path, dst: pathlib.Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.py")):
        shutil.copyfile(path, dst / path.name)


def run_otter_assign(work: pathlib.Path, master_src: pathlib.Path) -> pathlib.Path:
    """Run otter assign on a copy of the master in ``work``; return the dist dir."""
    name = master_src.name
    master = work / "master" / name
    master.parent.mkdir(parents=True)
    shutil.copyfile(master_src, master)
    dist = work / "dist"
    cmd = [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(master), str(dist)]
    (work / "tmp").mkdir()       # otter leaves a mkdtemp() folder: in ``work``, not in /tmp
    proc = subprocess.run(cmd, cwd=str(work), capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(work / "tmp")})
    if proc.returncode != 0:
        raise RuntimeError(
            f"otter assign failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for needed in (dist / "student" / name, dist / "autograder" / name):
        if not needed.is_file():
            raise RuntimeError(f"otter assign did not produce {needed}")
    return dist


def build(out_root: pathlib.Path, lab=None) -> list[pathlib.Path]:
    """Write ``out_root/student_template/...`` and ``out_root/solutions/...``.

    Generated directories (the otter test folders, the library) are replaced wholesale;
    other files in ``out_root`` (e.g. ``solutions/README.md``) are left alone.
    Returns the written files, sorted.
    """
    if lab is None:
        lab = load_config().lab
    name, library, language = lab.notebook, lab.library, lab.language
    out_root = pathlib.Path(out_root).resolve()
    student = out_root / "student_template"
    solutions = out_root / "solutions"
    with tempfile.TemporaryDirectory(prefix="build_notebooks_") as tmp:
        dist = run_otter_assign(pathlib.Path(tmp), REPO / "assignment" / name)

        for stale in (student / "tests", student / library, solutions / "tests"):
            shutil.rmtree(stale, ignore_errors=True)

        for kind, folder in (("student", student), ("autograder", solutions)):
            write_notebook(dist / kind / name, folder / name, clean=folder == solutions,
                           language=language)
            copy_tests(dist / kind / "tests", folder / "tests")

    copy_library(REPO / library, student / library, language)
    for static in ("README.md", "requirements.txt"):
        shutil.copyfile(STUDENT_FILES / static, student / static)

    return sorted([student / name, solutions / name, student / "README.md",
                   student / "requirements.txt", student / library / GENERATED,
                   *(student / "tests").glob("*.py"), *(solutions / "tests").glob("*.py"),
                   *(student / library / rel for rel in library_files(REPO / library)),
                   *([student / library / LANGUAGE_MODULE] if language != ENGLISH else [])])


def main(out=None, config=None):
    """``grade.py build [--out DIR]``: rebuild into the repository (or ``DIR``)."""
    out_root = pathlib.Path(out) if out else REPO
    try:
        written = build(out_root, load_config(config).lab)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return ExitCode.USAGE
    for path in written:
        print(path.relative_to(out_root.resolve()))
    return 0
