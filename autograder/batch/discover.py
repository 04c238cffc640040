"""Find the submissions in a folder: one per student, named by student id.

Accepted layouts (entries directly inside the folder)::

    alice.ipynb               a notebook; the id is the file stem
    bob/lab.ipynb             a folder holding one notebook (searched recursively;
                              without one, the notebook inside a zip in it, as on
                              Gradescope); the id is the folder name
    carol.zip                 otter's ``grader.export()`` zip; the id is the zip stem,
                              the notebook is the zip's only ``.ipynb`` member

Extensions are matched whatever their case (``oli.IPYNB``, ``pat.Zip``). Every
other entry is a student too: ``gina.pdf`` gets the status "not_a_notebook"
(id: its stem) and a gradebook row saying what was found, so no student
vanishes from the gradebook. Anything wrong with one student's entry (no
notebook, two notebooks, a corrupt or oversized zip, two entries with the same
id) likewise becomes that student's status; it never stops the batch. Hidden
entries (``.name``), ``__MACOSX`` and ``.ipynb_checkpoints`` are ignored.

:func:`submission` is the same rule for one entry: ``grade.py grade`` uses it
for the notebook, zip or folder it is given.

Zips are never extracted to disk: only the ``.ipynb`` member is read, in
memory, and at most ``MAX_NOTEBOOK_BYTES`` of it, so member names such as
``../../x`` and zip bombs do no harm.
"""

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..i18n import N_, say
from ..notebook import MAX_NOTEBOOK_BYTES, choose_notebook, ignored, zip_notebooks
from ..sandbox.protocol import Status
from .store import CLASS_FILES

OK = Status.OK
NOT_A_NOTEBOOK = Status.NOT_A_NOTEBOOK
NOTEBOOK, ZIP = ".ipynb", ".zip"
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
            status = Status.UNREADABLE if self.member is None else Status.BAD_ZIP
            raise SubmissionError(status, say(N_("cannot read %(source)s: %(error)s"),
                                              source=self.source, error=str(e))) from None


def _read_capped(stream, declared_size):
    with stream:
        if declared_size > MAX_NOTEBOOK_BYTES:
            raise SubmissionError(Status.TOO_LARGE, say(
                N_("the notebook is %(size)s MB, more than %(limit)s MB"),
                size=f"{declared_size / 2**20:.0f}", limit=f"{MAX_NOTEBOOK_BYTES / 2**20:.0f}"))
        data = stream.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(Status.TOO_LARGE, say(N_("the notebook is larger than %(limit)s MB"),
                                               limit=f"{MAX_NOTEBOOK_BYTES / 2**20:.0f}"))
    return data


def _choose(sub, names, expected, where):
    """The notebook to grade among ``names`` (:func:`choose_notebook`), with a note for
    the gradebook in ``sub``; None, with ``sub``'s status saying why, if there is none."""
    if not names:
        sub.status, sub.message = Status.NO_NOTEBOOK, say(
            N_("no .ipynb file in the folder") if where == "folder"
            else N_("no .ipynb file in the zip"))
        return None
    chosen = choose_notebook(names, expected)
    if chosen is None:
        sub.status, sub.message = Status.MULTIPLE_NOTEBOOKS, say(
            N_("several notebooks: %(names)s"), names=", ".join(names))
    elif len(names) > 1:
        sub.message = say(N_("several notebooks (%(names)s); only %(chosen)s was graded"),
                          names=", ".join(names), chosen=chosen)
    return chosen


def _from_folder(root, folder, expected):
    """A student's folder: its notebooks (searched recursively), or, when it has
    none, the notebooks inside its zips -- the rule Gradescope applies to its
    submission folder (``gradescope.run.find_notebook``)."""
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and not ignored(p.relative_to(folder).parts)]
    found = {p.relative_to(folder).as_posix(): (p, None) for p in files
             if p.suffix.lower() == NOTEBOOK}
    if not found:
        for z in (p for p in files if p.suffix.lower() == ZIP):
            try:
                members = zip_notebooks(z)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
                continue
            found.update({f"{z.relative_to(folder).as_posix()}/{m}": (z, m) for m in members})
    sub = Submission(folder.name, folder.name + "/")
    chosen = _choose(sub, list(found), expected, "folder")
    if chosen is not None:
        sub.path, sub.member = found[chosen]
        sub.source = str(sub.path.relative_to(root)) + (f":{sub.member}" if sub.member else "")
    return sub


def _from_zip(root, path, expected):
    sub = Submission(path.stem, path.name, path=path)
    try:
        names = zip_notebooks(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        sub.status, sub.message = Status.BAD_ZIP, say(N_("not a valid zip file: %(error)s"),
                                                 error=str(e))
        return sub
    chosen = _choose(sub, names, expected, "zip")
    if chosen is not None:
        sub.member = chosen
        sub.source = f"{path.name}:{chosen}"
    return sub


def submission(root, entry, expected=None):
    """The submission of one entry of ``root``: a folder, a notebook, a zip (any
    case of the extension), or anything else with the status "not_a_notebook"."""
    if entry.is_dir():
        return _from_folder(root, entry, expected)
    suffix = entry.suffix.lower()
    if suffix == NOTEBOOK:
        return Submission(entry.stem, entry.name, path=entry)
    if suffix == ZIP:
        return _from_zip(root, entry, expected)
    return Submission(entry.stem or entry.name, entry.name, path=entry, status=NOT_A_NOTEBOOK,
                      message=say(N_("%(name)s is not a notebook (.ipynb), a zip or a "
                                     "folder: nothing was graded"), name=entry.name))


def discover(root, exclude=(), expected=None):
    """Submissions found in ``root`` (one per student id, sorted by id) and the
    names of the entries that are not submissions (each of them is also in the
    list, with the status "not_a_notebook"). ``expected``: the lab's notebook
    name, which wins among several."""
    root = Path(root)
    exclude = {Path(p).resolve() for p in exclude}
    found = []
    for entry in sorted(root.iterdir()):
        if ignored([entry.name]) or entry.resolve() in exclude:
            continue
        found.append(submission(root, entry, expected))
    skipped = [s.source for s in found if s.status == NOT_A_NOTEBOOK]
    by_id = {}
    for sub in found:
        by_id.setdefault(sub.sid, []).append(sub)
    subs = []
    for sid, same in sorted(by_id.items()):
        same, others = _without_other_files(same)
        if len(same) > 1:
            sources = ", ".join(s.source for s in same)
            subs.append(Submission(sid, sources, status=Status.DUPLICATE_ID,
                                   message=f"several submissions for this id: {sources}"))
        elif sid in RESERVED:
            subs.append(Submission(sid, same[0].source, status=Status.BAD_ID,
                                   message=f"the id {sid!r} is a name the batch output uses"))
        else:
            subs.append(same[0])
        if others:
            note = say(N_("also found, not graded: %(sources)s"),
                       sources=", ".join(o.source for o in others))
            subs[-1].message = "; ".join(m for m in (subs[-1].message, note) if m)
    return subs, skipped


def _without_other_files(same):
    """A student's entries without the files that are no submission (``gina.pdf``
    next to ``gina.ipynb``: the notebook is graded), and those files."""
    gradable = [s for s in same if s.status != NOT_A_NOTEBOOK]
    if not gradable:
        return same[:1], same[1:]
    return gradable, [s for s in same if s.status == NOT_A_NOTEBOOK]
