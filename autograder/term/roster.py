"""A class roster from the LMS's own export, or a plain CSV:

- Canvas gradebook export: ``Student, ID, SIS User ID, SIS Login ID, Section``
  (its ``Points Possible`` row, and any other row without an ``ID``, is skipped);
  the columns after ``Section`` are assignments (``Title (assignment id)``).
- Moodle grading worksheet: ``Identifier`` ("Participant N": N is the id in
  Moodle's download), ``Full name``, ``Email address``, ``ID number``.
- Gradescope roster: ``Name`` or ``First Name``/``Last Name``, ``Email``, ``SID``
  (``Role`` other than Student is skipped).
- Plain: ``student_id, name, email``.

Each student has several ids (LMS id, SIS id, login, email, participant); any of
them names the student in commands and files. A roster without an id column, or
an id held by two students, is a :class:`TermError`.
"""

import csv
import re
from dataclasses import asdict, dataclass

from . import TermError

ID_FIELDS = ("login", "sis_id", "email", "lms_id", "participant")   # the key: the first set
MOODLE_PARTICIPANT = re.compile(r"^\s*Participant\s+(\d+)\s*$", re.IGNORECASE)


@dataclass
class Student:
    key: str                 # how the gradebook and OUT/<key>/ name the student
    name: str = ""
    lms_id: str = ""         # Canvas ID / Gradescope id
    sis_id: str = ""
    login: str = ""
    email: str = ""
    participant: str = ""    # Moodle participant id
    section: str = ""

    def ids(self):
        return {getattr(self, f) for f in ID_FIELDS if getattr(self, f)} | {self.key}

    def as_row(self):
        return asdict(self)


def _student(row, **ids):
    ids = {k: (v or "").strip() for k, v in ids.items()}
    key = next((ids[f] for f in ID_FIELDS if ids.get(f)), "")
    return Student(key=key, **ids) if key else None


def _canvas(rows):
    for row in rows:
        if not (row.get("ID") or "").strip():      # "    Points Possible", "Muted"...
            continue
        yield _student(row, name=row.get("Student"), lms_id=row.get("ID"),
                       sis_id=row.get("SIS User ID"), login=row.get("SIS Login ID"),
                       section=row.get("Section"))


def _moodle(rows):
    for row in rows:
        m = MOODLE_PARTICIPANT.match(row.get("Identifier") or "")
        if m:
            yield _student(row, name=row.get("Full name"), participant=m[1],
                           email=row.get("Email address"), sis_id=row.get("ID number"))


def _gradescope(rows):
    for row in rows:
        if (row.get("Role") or "Student").strip().lower() != "student":
            continue
        name = row.get("Name") or " ".join(filter(None, (row.get("First Name"),
                                                        row.get("Last Name"))))
        yield _student(row, name=name, sis_id=row.get("SID"), email=row.get("Email"))


def _plain(rows):
    for row in rows:
        yield _student(row, name=row.get("name"), login=row.get("student_id"),
                       email=row.get("email"))


FORMATS = (   # (name, the columns that identify it, reader)
    ("canvas", {"Student", "ID", "SIS Login ID"}, _canvas),
    ("moodle", {"Identifier"}, _moodle),
    ("gradescope", {"Email", "SID"}, _gradescope),
    ("plain", {"student_id"}, _plain),
)


def read_roster(path):
    """``(format, [Student], extra columns)`` of the roster CSV at ``path``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TermError(f"cannot read the roster {path}: {e}") from None
    for name, columns, read in FORMATS:
        if columns <= set(header):
            students = [s for s in read(rows) if s is not None]
            break
    else:
        raise TermError(f"the roster {path} has no id column: expected a Canvas gradebook "
                        "export (Student, ID, SIS User ID, SIS Login ID), a Moodle grading "
                        "worksheet (Identifier), a Gradescope roster (Email, SID) or "
                        "student_id,name,email")
    check_unique(students, path)
    extra = header[header.index("Section") + 1:] if name == "canvas" and "Section" in header \
        else []
    return name, students, extra


def check_unique(students, where):
    """No id names two students."""
    owner = {}
    for s in students:
        for i in s.ids():
            other = owner.setdefault(i.casefold(), s)
            if other is not s:
                raise TermError(f"the roster {where} has the id {i!r} twice "
                                f"({other.name or other.key} and {s.name or s.key})")


def resolve(students, name):
    """The one student any of whose ids is ``name``; TermError when none or several."""
    wanted = name.strip().casefold()
    found = [s for s in students if wanted in {i.casefold() for i in s.ids()}]
    if not found:
        raise TermError(f"unknown student {name!r}: no roster id (LMS id, SIS id, login, "
                        "email) is that")
    if len(found) > 1:
        raise TermError(f"the id {name!r} names {len(found)} students: "
                        + ", ".join(s.key for s in found))
    return found[0]
