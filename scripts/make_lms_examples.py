#!/usr/bin/env python3
"""Write the example class (examples/submissions/) as an LMS hands it out, for
trying the term's commands (docs/term.md) and for tests/test_term.py:

- canvas_submissions.zip   Canvas's "Download Submissions" zip, file names as Canvas
                           writes them: bob's notebook re-uploaded (``-1``), carol's
                           marked ``LATE``, frank's a zip (otter's export), and one from
                           Canvas user 9999, who is not on the roster
- canvas_roster.csv        a Canvas gradebook export (its ``Points Possible`` row) with
                           the six students and grace, who never submitted
- times.csv                submission times (alice's 1.5 days after the deadline)
- late.toml                grading.toml with a late policy: 10 % of the maximum per day
                           or part of a day, deadline 2026-12-01T23:59:00+08:00

    python scripts/make_lms_examples.py DEST
"""

import argparse
import csv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submissions"
DEADLINE = "2026-12-01T23:59:00+08:00"
ALICE_SUBMITTED = "2026-12-03T11:59:00+08:00"        # 1.5 days late
STAMP = (2026, 12, 1, 12, 0, 0)                        # fixed: the same bytes every time

# (Canvas "Student", ID, SIS User ID, SIS Login ID, the file name in the download, source)
STUDENTS = [
    ("Smith, Alice", "1001", "S1001", "alice", "smithalice_1001_5001_regularization.ipynb",
     "alice.ipynb"),
    ("Jones, Bob", "1002", "S1002", "bob", "jonesbob_1002_5002_regularization-1.ipynb",
     "bob.ipynb"),
    ("Lee, Carol", "1003", "S1003", "carol", "leecarol_LATE_1003_5003_regularization.ipynb",
     "carol.ipynb"),
    ("Kim, Dave", "1004", "S1004", "dave", "kimdave_1004_5004_regularization.ipynb",
     "dave.ipynb"),
    ("Wu, Erin", "1005", "S1005", "erin", "wuerin_1005_5005_erin.ipynb", "erin/erin.ipynb"),
    ("Frank, Frank", "1006", "S1006", "frank", "frankfrank_1006_5006_submission.zip",
     "frank.zip"),
    ("Hopper, Grace", "1007", "S1007", "grace", None, None),      # never submitted
]
STRANGER = ("doejohn_9999_5099_regularization.ipynb", "carol.ipynb")
ASSIGNMENT = "Regularization lab (4242)"


def canvas_download(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for *_, name, source in STUDENTS + [(None, None, None, None, *STRANGER)]:
            if name is not None:
                z.writestr(zipfile.ZipInfo(name, date_time=STAMP),
                           (EXAMPLES / source).read_bytes(), zipfile.ZIP_DEFLATED)
    return path


def canvas_roster(path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT,
                         "Current Score"])
        writer.writerow(["    Points Possible", "", "", "", "", "100", "(read only)"])
        for student, uid, sis, login, *_ in STUDENTS:
            writer.writerow([student, uid, sis, login, "NNDL 2026", "", ""])
    return path


def times(path):
    path.write_text(f"student_id,submitted_at\nalice,{ALICE_SUBMITTED}\n"
                    "S1002,2026-12-01T20:00:00+08:00\n")
    return path


def late_config(path, base=ROOT / "autograder" / "grading.toml"):
    text = Path(base).read_text()
    for old, new in ((('deadline = ""', f'deadline = "{DEADLINE}"')),
                     ("penalty_per_day = 0.0", "penalty_per_day = 0.10")):
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def main(dest):
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    made = [canvas_download(dest / "canvas_submissions.zip"),
            canvas_roster(dest / "canvas_roster.csv"), times(dest / "times.csv"),
            late_config(dest / "late.toml")]
    print("wrote " + ", ".join(str(p) for p in made))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", help="folder to write the files into")
    main(parser.parse_args().dest)
