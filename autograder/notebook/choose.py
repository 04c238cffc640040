"""Which of a submission's files are notebooks, and which one is graded: the
same rules for a batch and for Gradescope."""

import zipfile
from pathlib import PurePosixPath


def ignored(parts):
    """Whether a path (its ``parts``) is not the student's work: hidden files and
    folders (``.ipynb_checkpoints``, macOS ``._name`` forks) and ``__MACOSX``."""
    return any(p.startswith(".") and p not in (".", "..") or p == "__MACOSX" for p in parts)


def zip_notebooks(path):
    """The ``.ipynb`` members of the zip at ``path`` (otter's ``grader.export()``),
    not ignored ones; raises ``zipfile.BadZipFile`` (or OSError, ValueError, ...)."""
    with zipfile.ZipFile(path) as z:
        return [i.filename for i in z.infolist() if not i.is_dir()
                and i.filename.lower().endswith(".ipynb") and not ignored(PurePosixPath(i.filename).parts)]


def choose_notebook(names, expected):
    """The one of ``names`` (paths inside a submission) to grade: the only one,
    or, among several, the only one named ``expected``; None when there is none
    or the choice is ambiguous."""
    if len(names) == 1:
        return names[0]
    named = [n for n in names if PurePosixPath(n).name == expected]
    return named[0] if len(named) == 1 else None
