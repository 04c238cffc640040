"""Submissions as an LMS downloads them, a zip or the folder it unzips to:

- **Canvas** "Download Submissions": flat files ``lastfirst_[LATE_]<user id>_<attachment
  id>_<file>``; a file uploaded again under the same name is ``<file>-1.ipynb``;
  anonymous grading names the student ``anon_<anonymous id>``.
- **Moodle** "Download all submissions": ``Full Name_<participant id>_assignsubmission_file/``
  folders (``..._file_/`` in older versions), or the flat form
  ``Full Name_<participant id>_assignsubmission_file_<file>``.
- **Gradescope** "Export Submissions": ``submission_<id>/`` folders and
  ``submission_metadata.yml`` (``:submitters:`` with ``:sid:``/``:email:``/``:name:``,
  ``:created_at:``, ``:history:``); each member of a group submission gets the
  submission as their own (graded for each, so each has their own late penalty,
  adjustments and feedback).

:func:`recognise` says which layout a download has (None: today's layouts of
``discover``); :func:`submissions` turns it into one :class:`LmsSubmission`
per student, named by the LMS's id (``batch`` matches it to a roster student).
Nothing is extracted to disk: a zip's members, and a notebook inside a student's
zip inside the download, are read in memory with the notebook size cap.
"""

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..notebook import choose_notebook, ignored
from ..sandbox.protocol import Status
from .discover import Submission, SubmissionError, _read_capped

CANVAS = re.compile(r"^(?P<who>[^_/]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<attachment>\d+)_"
                    r"(?P<file>[^/]+)$")
CANVAS_ANONYMOUS = re.compile(r"^anon_(?P<id>[A-Za-z0-9]+)_(?:(?P<late>LATE)_)?"
                              r"(?P<attachment>\d+)_(?P<file>[^/]+)$")
REUPLOAD = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)$")   # Canvas: file-1.ipynb
MOODLE = re.compile(r"^(?P<who>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
                    r"(?:_(?P<file>.*))?$")
GRADESCOPE = re.compile(r"^submission_(?P<id>\d+)$")
GRADESCOPE_METADATA = "submission_metadata.yml"
GRADESCOPE_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?\s*"
                             r"(?:([+-]\d\d):?(\d\d)|(Z|UTC))?$")
SAFE_ID = re.compile(r"^[A-Za-z0-9@+_-][A-Za-z0-9@+._-]{0,127}$")   # a folder name in OUT/
NAMES = {"canvas": "a Canvas \"Download Submissions\" download",
         "moodle": "a Moodle \"Download all submissions\" download",
         "gradescope": "a Gradescope \"Export Submissions\" download"}


class DownloadError(Exception):
    """The download cannot be read at all (an instructor's mistake: exit 2)."""


@dataclass
class LmsSubmission(Submission):
    lms_id: str = ""            # the id the LMS names the student by
    id_kind: str = ""           # "canvas", "canvas_anonymous", "moodle", "gradescope"
    who: str = ""               # the name as the LMS wrote it
    layout: str = ""
    flagged_late: bool = False  # Canvas's LATE_ mark
    submitted_at: str = None    # ISO 8601, from the LMS metadata
    history: str = ""           # earlier uploads, as far as the LMS tells
    submitters: list = field(default_factory=list)   # Gradescope: [{sid, email, name}]
    inner: str = None           # the notebook inside a zip that is itself a member of ``path``
    matched_by: str = ""        # set when matched to a roster student

    def read(self):
        if self.inner is None:
            return super().read()
        try:
            with zipfile.ZipFile(self.path) as outer:
                info = outer.getinfo(self.member)
                data = _read_capped(outer.open(info), info.file_size)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                info = z.getinfo(self.inner)
                return _read_capped(z.open(info), info.file_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
                zlib.error, EOFError, OSError, ValueError, KeyError) as e:
            raise SubmissionError(Status.BAD_ZIP, f"cannot read {self.source}: {e}") from None


class _Download:
    """The files of a download (a folder or a zip) by relative POSIX path, with a
    single wrapping folder (``assignment_1_export/``) left out."""

    def __init__(self, root, exclude=()):
        self.root = Path(root)
        self.is_zip = not self.root.is_dir()
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.root) as z:
                    names = [i.filename for i in z.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise DownloadError(f"{root} is not a folder or a readable zip: {e}") from None
        else:
            skip = {Path(p).resolve() for p in exclude}
            names = [p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                     if p.is_file() and not any(p.resolve().is_relative_to(s) for s in skip)]
        names = [n for n in names if not ignored(PurePosixPath(n).parts)
                 and ".." not in PurePosixPath(n).parts]
        tops = {PurePosixPath(n).parts[0] for n in names}
        self.prefix = ""
        if len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names):
            self.prefix = next(iter(tops)) + "/"
        self.names = sorted(n[len(self.prefix):] for n in names)

    def top(self):
        """{top-level entry: [its files' paths]}."""
        entries = {}
        for name in self.names:
            entries.setdefault(PurePosixPath(name).parts[0], []).append(name)
        return entries

    def read_text(self, name):
        if self.is_zip:
            with zipfile.ZipFile(self.root) as z:
                return z.read(self.prefix + name).decode("utf-8", "replace")
        return (self.root / self.prefix / name).read_text("utf-8", "replace")

    def submission(self, sid, name, inner=None, **fields):
        """A submission reading ``name`` (with ``inner``: the notebook in that zip)."""
        full = self.prefix + name
        source = f"{self.root.name}:{full}" if self.is_zip else full
        if inner:
            source += f":{inner}"
        if self.is_zip:
            return LmsSubmission(sid, source, path=self.root, member=full, inner=inner, **fields)
        if inner:
            return LmsSubmission(sid, source, path=self.root / full, member=inner, **fields)
        return LmsSubmission(sid, source, path=self.root / full, **fields)

    def zip_members(self, name):
        """The notebooks inside the student's zip ``name``."""
        if self.is_zip:
            with zipfile.ZipFile(self.root) as outer:
                info = outer.getinfo(self.prefix + name)
                data = _read_capped(outer.open(info), info.file_size)
            source = io.BytesIO(data)
        else:
            source = self.root / self.prefix / name
        with zipfile.ZipFile(source) as z:
            return [i.filename for i in z.infolist() if not i.is_dir()
                    and i.filename.lower().endswith(".ipynb")
                    and not ignored(PurePosixPath(i.filename).parts)]


def recognise(root, exclude=()):
    """``(layout, download)``: the LMS layout of the folder or zip ``root``
    ("canvas", "moodle", "gradescope"), or ``(None, None)`` for today's layouts."""
    download = _Download(root, exclude)
    top = download.top()
    if GRADESCOPE_METADATA in top or any(GRADESCOPE.match(t) for t in top):
        return "gradescope", download
    if top and sum(bool(MOODLE.match(t)) for t in top) * 2 >= len(top):
        return "moodle", download
    flat = [t for t in top if len(top[t]) == 1 and top[t][0] == t]
    if flat and sum(bool(CANVAS.match(t) or CANVAS_ANONYMOUS.match(t)) for t in flat) * 2 \
            >= len(flat):
        return "canvas", download
    if download.is_zip:
        raise DownloadError(f"{root}: not a Canvas, Moodle or Gradescope download; unzip it "
                            "into a folder to grade one notebook, zip or folder per student")
    return None, None


def _uploaded_name(file):
    """Canvas's name for a re-upload, ``lab-1.ipynb``, as the student named it,
    and how many uploads the suffix says there were before."""
    m = REUPLOAD.match(file)
    return (m["stem"] + m["ext"], int(m["n"])) if m else (file, 0)


def _pick(download, sub_fields, sid, files, expected, label=lambda n: n):
    """The submission of one student among ``files`` (paths in the download): its
    notebook (:func:`choose_notebook` on the names as the student gave them), or
    the notebook inside its only zip; a status when there is none or several."""
    notebooks = [f for f in files if f.lower().endswith(".ipynb")]
    zips = [f for f in files if f.lower().endswith(".zip")]
    if notebooks:
        shown = {label(f): f for f in notebooks}
        chosen = choose_notebook(sorted(shown), expected)
        if chosen is None:
            return LmsSubmission(sid, ", ".join(files), status=Status.MULTIPLE_NOTEBOOKS,
                                 message=f"several notebooks: {', '.join(sorted(shown))}",
                                 **sub_fields)
        sub = download.submission(sid, shown[chosen], **sub_fields)
        if len(shown) > 1:
            sub.message = f"several notebooks ({', '.join(sorted(shown))}); only {chosen} " \
                          "was graded"
        return sub
    if len(zips) == 1:
        try:
            inside = download.zip_members(zips[0])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, SubmissionError, OSError,
                ValueError, KeyError) as e:
            return LmsSubmission(sid, zips[0], status=Status.BAD_ZIP,
                                 message=f"not a valid zip file: {e}", **sub_fields)
        chosen = choose_notebook(inside, expected)
        if chosen is not None:
            return download.submission(sid, zips[0], inner=chosen, **sub_fields)
        status = Status.MULTIPLE_NOTEBOOKS if inside else Status.NO_NOTEBOOK
        return LmsSubmission(sid, zips[0], status=status,
                             message=f"{len(inside)} notebooks in {zips[0]}", **sub_fields)
    return LmsSubmission(sid, ", ".join(files), status=Status.NO_NOTEBOOK,
                         message=f"no .ipynb file among {', '.join(files)}", **sub_fields)


def _canvas(download, expected):
    by_student = {}
    for name in download.names:
        m = CANVAS_ANONYMOUS.match(name) or CANVAS.match(name)
        if m is None or "/" in name:
            continue
        anonymous = m.re is CANVAS_ANONYMOUS
        key = ("anon_" if anonymous else "") + m["id"]
        entry = by_student.setdefault(key, {"files": {}, "late": False, "anonymous": anonymous,
                                            "who": "" if anonymous else m["who"], "id": m["id"]})
        entry["files"][name] = m["file"]
        entry["late"] |= bool(m["late"])
    subs = []
    for key, entry in sorted(by_student.items()):
        files = entry["files"]
        reuploads = [_uploaded_name(f) for f in files.values()]
        history = "; ".join(f"{f} is upload {n + 1} of {original}"
                            for f, (original, n) in zip(files.values(), reuploads) if n)
        fields = dict(lms_id=entry["id"], who=entry["who"], layout="canvas", history=history,
                      id_kind="canvas_anonymous" if entry["anonymous"] else "canvas",
                      flagged_late=entry["late"])
        subs.append(_pick(download, fields, key, sorted(files), expected,
                          label=lambda f, files=files: _uploaded_name(files[f])[0]))
    return subs


def _moodle(download, expected):
    by_student = {}
    for top, files in download.top().items():
        m = MOODLE.match(top)
        if m is None or m["plugin"] != "file":
            continue
        entry = by_student.setdefault(m["id"], {"who": m["who"], "files": {}})
        for name in files:
            if name == top:                                  # the flat form
                entry["files"][name] = m["file"] or name
            else:
                entry["files"][name] = name[len(top) + 1:]
    return [_pick(download, dict(lms_id=pid, who=e["who"], layout="moodle", id_kind="moodle"),
                  pid, sorted(e["files"]), expected,
                  label=lambda f, files=e["files"]: files[f])
            for pid, e in sorted(by_student.items(), key=lambda kv: int(kv[0]))]


def _gradescope(download, expected):
    metadata = {}
    if GRADESCOPE_METADATA in download.top():
        metadata = parse_yaml(download.read_text(GRADESCOPE_METADATA)) or {}
    subs = []
    for top, files in sorted(download.top().items()):
        m = GRADESCOPE.match(top)
        if m is None:
            continue
        meta = metadata.get(top) or {}
        submitters = [{k: str(v) for k, v in s.items()} for s in meta.get("submitters") or []
                      if isinstance(s, dict)]
        history = meta.get("history") or []
        group = ", ".join(x.get("name") or x.get("email") or "?" for x in submitters)
        notes = ([f"{len(history)} earlier submissions"] if history else []) + \
            ([f"group submission of {group}"] if len(submitters) > 1 else [])
        for submitter in submitters or [{}]:        # a group's members: one entry each
            # students may edit their SID on Gradescope: one that is no safe folder
            # name ("../x") is not used as the id
            lms_id = next((i for i in (submitter.get("sid"), submitter.get("email"))
                           if i and SAFE_ID.match(i)), top)
            fields = dict(lms_id=lms_id, who=submitter.get("name", ""), layout="gradescope",
                          id_kind="gradescope", submitters=[submitter] if submitter else [],
                          submitted_at=_gradescope_time(meta.get("created_at")),
                          history="; ".join(notes))
            subs.append(_pick(download, fields, lms_id, files, expected,
                              label=lambda f, top=top: f[len(top) + 1:]))
    return subs


def _gradescope_time(text):
    """Gradescope's ``2026-12-01 23:59:58.123456 -0800`` as ISO 8601."""
    if not text:
        return None
    m = GRADESCOPE_TIME.match(str(text).strip())
    if m is None:
        return None
    zone = f"{m[3]}:{m[4]}" if m[3] else "+00:00" if m[5] else ""
    return f"{m[1]}T{m[2]}{zone}" if zone else None


def submissions(layout, download, expected):
    """One :class:`LmsSubmission` per student of a recognised download, named by
    the LMS's id; two entries for one id become a ``duplicate_id`` row."""
    found = {"canvas": _canvas, "moodle": _moodle, "gradescope": _gradescope}[layout](
        download, expected)
    by_id = {}
    for sub in found:
        by_id.setdefault(sub.sid, []).append(sub)
    subs = []
    for sid, same in sorted(by_id.items()):
        if len(same) > 1:
            sources = ", ".join(s.source for s in same)
            subs.append(LmsSubmission(sid, sources, status=Status.DUPLICATE_ID, layout=layout,
                                      lms_id=same[0].lms_id, id_kind=same[0].id_kind,
                                      message=f"several submissions for this id: {sources}"))
        else:
            subs.append(same[0])
    return subs


# -- the YAML of submission_metadata.yml, without a YAML library ---------------------

def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace("''", "'") if text[0] == "'" else text[1:-1]
    return None if text in ("", "~", "null") else text


KEY_LINE = re.compile(r"^:?(?P<key>[^:\s][^:]*?):(?:\s+(?P<value>.*))?$")


def parse_yaml(text):
    """The subset of YAML that Gradescope's ``submission_metadata.yml`` uses:
    nested mappings (keys may start with ``:``), lists of mappings or scalars
    (``- :name: Ann``), plain and quoted scalars. Other lines are ignored."""
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.strip() == "---":
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))
    value, _ = _block(lines, 0, lines[0][0] if lines else 0)
    return value


def _block(lines, i, indent):
    """The mapping or list starting at line ``i`` with this ``indent``; returns
    (value, next line)."""
    if i < len(lines) and (lines[i][1] == "-" or lines[i][1].startswith("- ")):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            rest = lines[i][1][1:].strip()
            if not rest:
                value, i = _block(lines, i + 1, lines[i + 1][0]) if i + 1 < len(lines) \
                    else (None, i + 1)
            elif KEY_LINE.match(rest):       # "- key: value" opens a mapping
                more = i + 1 < len(lines) and lines[i + 1][0] > indent
                inner = lines[i + 1][0] if more else indent + 2
                sub = [(inner, rest)]
                j = i + 1
                while j < len(lines) and lines[j][0] > indent:
                    sub.append(lines[j])
                    j += 1
                value, _ = _block(sub, 0, inner)
                i = j
            else:
                value, i = _scalar(rest), i + 1
            items.append(value)
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent:
        m = KEY_LINE.match(lines[i][1])
        i += 1
        if m is None:
            continue
        key = m["key"].strip()
        if m["value"]:
            mapping[key] = _scalar(m["value"])
        elif i < len(lines) and lines[i][0] > indent:
            mapping[key], i = _block(lines, i, lines[i][0])
        elif i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            mapping[key], i = _block(lines, i, indent)      # a list at the key's indent
        else:
            mapping[key] = None
    while i < len(lines) and lines[i][0] > indent:                 # malformed: skip
        i += 1
    return mapping, i
