"""Find the submissions in a folder: one per student, named by student id.

Accepted layouts (entries directly inside the folder)::

    alice.ipynb               a notebook; the id is the file stem
    bob/lab.ipynb             a folder holding one notebook (searched recursively);
                              the id is the folder name
    carol.zip                 otter's ``grader.export()`` zip; the id is the zip stem,
                              the notebook is the zip's only ``.ipynb`` member

Anything wrong with one student's entry (no notebook, two notebooks, a corrupt
or oversized zip, two entries with the same id) becomes that student's status;
it never stops the batch. Hidden entries (``.name``), ``__MACOSX`` and
``.ipynb_checkpoints`` are ignored.

Zips are never extracted to disk: only the ``.ipynb`` member is read, in
memory, and at most ``MAX_NOTEBOOK_BYTES`` of it, so member names such as
``../../x`` and zip bombs do no harm.
"""

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..notebook import MAX_NOTEBOOK_BYTES, choose_notebook, ignored, zip_notebooks
from .store import CLASS_FILES

OK = "ok"
RESERVED = set(CLASS_FILES)   # names of the class's files in OUT_DIR


class SubmissionError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Submission:
    sid: str                 # student id
    source: str              # what was found, relative to the submissions folder
    path: Path = None        # the notebook, or the zip holding it
    member: str = None       # the notebook's name inside the zip
    status: str = OK         # OK, or why it cannot be graded
    message: str = ""
    digest: str = None       # content hash, set by the batch before grading

    @property
    def ok(self):
        return self.status == OK

    def read(self):
        """The notebook's bytes; raises SubmissionError."""
        try:
            if self.member is None:
                return _read_capped(self.path.open("rb"), self.path.stat().st_size)
            with zipfile.ZipFile(self.path) as z:
                info = z.getinfo(self.member)
                return _read_capped(z.open(info), info.file_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
                zlib.error, EOFError, OSError, ValueError, KeyError) as e:
            status = "unreadable" if self.member is None else "bad_zip"
            raise SubmissionError(status, f"cannot read {self.source}: {e}") from None


def _read_capped(stream, declared_size):
    with stream:
        if declared_size > MAX_NOTEBOOK_BYTES:
            raise SubmissionError("too_large", f"the notebook is {declared_size / 2**20:.0f} MB, "
                                               f"more than {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB")
        data = stream.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError("too_large", "the notebook is larger than "
                                           f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MB")
    return data


def _choose(sub, names, expected, where):
    """The notebook to grade among ``names`` (:func:`choose_notebook`), with a note for
    the gradebook in ``sub``; None, with ``sub``'s status saying why, if there is none."""
    if not names:
        sub.status, sub.message = "no_notebook", f"no .ipynb file in the {where}"
        return None
    chosen = choose_notebook(names, expected)
    if chosen is None:
        sub.status, sub.message = "multiple_notebooks", f"several notebooks: {', '.join(names)}"
    elif len(names) > 1:
        sub.message = f"several notebooks ({', '.join(names)}); only {chosen} was graded"
    return chosen


def _from_folder(root, folder, expected):
    found = sorted(p.relative_to(folder) for p in folder.rglob("*.ipynb")
                   if p.is_file() and not ignored(p.relative_to(folder).parts))
    sub = Submission(folder.name, folder.name + "/")
    chosen = _choose(sub, [p.as_posix() for p in found], expected, "folder")
    if chosen is not None:
        sub.path = folder / chosen
        sub.source = str(sub.path.relative_to(root))
    return sub


def _from_zip(root, path, expected):
    sub = Submission(path.stem, path.name, path=path)
    try:
        names = zip_notebooks(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        sub.status, sub.message = "bad_zip", f"not a valid zip file: {e}"
        return sub
    chosen = _choose(sub, names, expected, "zip")
    if chosen is not None:
        sub.member = chosen
        sub.source = f"{path.name}:{chosen}"
    return sub


def discover(root, exclude=(), expected=None):
    """Submissions found in ``root`` (one per student id, sorted by id) and the
    names of the entries that were skipped as not being submissions.
    ``expected``: the lab's notebook name, which wins among several."""
    root = Path(root)
    exclude = {Path(p).resolve() for p in exclude}
    found, skipped = [], []
    for entry in sorted(root.iterdir()):
        if ignored([entry.name]) or entry.resolve() in exclude:
            continue
        if entry.is_dir():
            found.append(_from_folder(root, entry, expected))
        elif entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry.name, path=entry))
        elif entry.suffix == ".zip":
            found.append(_from_zip(root, entry, expected))
        else:
            skipped.append(entry.name)
    by_id = {}
    for sub in found:
        by_id.setdefault(sub.sid, []).append(sub)
    subs = []
    for sid, same in sorted(by_id.items()):
        if len(same) > 1:
            sources = ", ".join(s.source for s in same)
            subs.append(Submission(sid, sources, status="duplicate_id",
                                   message=f"several submissions for this id: {sources}"))
        elif sid in RESERVED:
            subs.append(Submission(sid, same[0].source, status="bad_id",
                                   message=f"the id {sid!r} is a name the batch output uses"))
        else:
            subs.append(same[0])
    return subs, skipped
