"""The instructor's term (docs/term.md): an LMS download in, a roster, the late
policy, manual adjustments across regrades, what changed, the LMS import file
out, and OUT/gradebook.db across a SIGKILL.

The example class (examples/submissions/) is graded once per module as a
Canvas "Download Submissions" zip (scripts/make_lms_examples.py); the LMS
layouts, rosters, late arithmetic, exports and the log are tested as functions.
"""

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from types import SimpleNamespace

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import make_lms_examples as lms_examples  # noqa: E402

ROSTER_IDS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
EXPECTED_TOTALS = {"alice": "100", "bob": "63", "carol": "0", "dave": "0", "erin": "81",
                   "frank": "100"}


def grade_py(*args, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def rows_of(text):
    return list(csv.reader(io.StringIO(text)))


def gradebook(out):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def term_class(tmp_path_factory, short_config):
    """The example class graded from a Canvas zip with a Canvas roster, a times file
    and a late policy (10 % per day); the gradebook and Canvas export right after."""
    tmp = tmp_path_factory.mktemp("term")
    files = SimpleNamespace(
        zip=lms_examples.canvas_download(tmp / "canvas_submissions.zip"),
        roster=lms_examples.canvas_roster(tmp / "canvas_roster.csv"),
        times=lms_examples.times(tmp / "times.csv"),
        config=lms_examples.late_config(tmp / "late.toml", base=short_config),
        out=tmp / "out", tmp=tmp)
    files.command = [files.zip, "--out", files.out, "--roster", files.roster, "--times",
                     files.times, "--config", files.config, "--jobs", "2"]
    files.first = grade_py(*files.command)
    assert files.first.returncode == 0, files.first.stderr[-3000:]
    files.gradebook_text = (files.out / "gradebook.csv").read_text()
    export = grade_py("export", files.out, "--to", "canvas", "-o", tmp / "canvas.csv")
    assert export.returncode == 0, export.stderr
    files.canvas_export = (tmp / "canvas.csv").read_text()
    return files


def db_rows(out, sql, *params):
    conn = sqlite3.connect(out / "gradebook.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- must show: a Canvas download with a Canvas roster, exported for Canvas ---------------

def test_canvas_download_and_roster_give_one_row_per_student(term_class):
    out = term_class.out
    assert 'recognised a Canvas "Download Submissions" download' in term_class.first.stderr
    rows = gradebook(out)
    assert sorted(rows) == sorted(ROSTER_IDS + ["9999"])
    for sid, total in EXPECTED_TOTALS.items():
        assert (rows[sid]["status"], rows[sid]["total"]) == ("graded", total), rows[sid]
    assert rows["grace"]["status"] == "missing" and rows["grace"]["total"] == ""
    assert rows["9999"]["status"] == "not_on_roster"
    # each student graded once; the stranger graded too, never dropped
    graded = db_rows(out, "SELECT student, count(*) FROM gradings GROUP BY student")
    assert dict(graded) == {sid: 1 for sid in [*EXPECTED_TOTALS, "9999"]}
    totals = dict(db_rows(out, "SELECT student, total FROM gradings"))
    assert {sid: f"{totals[sid]:g}" for sid in EXPECTED_TOTALS} == EXPECTED_TOTALS
    logged = [json.loads(line)["student_id"] for line in
              (out / "batch.log").read_text().splitlines()]
    assert sorted(logged) == sorted([*EXPECTED_TOTALS, "9999"])
    # how each was found: bob's re-upload, carol's LATE mark, frank's zip inside the zip
    subs = {r[0]: r[1:] for r in db_rows(
        out, "SELECT student, source, matched_by, flagged_late, history, layout "
             "FROM submissions WHERE current")}
    assert subs["bob"][0].endswith("jonesbob_1002_5002_regularization-1.ipynb")
    assert "upload 2" in subs["bob"][3]
    assert subs["carol"][2] == 1 and subs["alice"][2] == 0
    assert subs["frank"][0].endswith("frankfrank_1006_5006_submission.zip:regularization.ipynb")
    assert subs["alice"][1] == "Canvas user id 1001" and subs["alice"][4] == "canvas"
    assert "time is not known" in rows["carol"]["message"]
    items = list(csv.DictReader(io.StringIO((out / "items.csv").read_text())))
    assert len(items) == 18 and {r["students"] for r in items} == {"7"}
    assert "<h2>Items</h2>" in (out / "report.html").read_text()


def test_canvas_export_has_its_columns_points_possible_and_every_roster_student(term_class):
    rows = rows_of(term_class.canvas_export)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Regularization lab (4242)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "100"]
    by_login = {r[3]: r for r in rows[2:]}
    assert list(by_login) == ROSTER_IDS                  # the roster's order, no stranger
    assert by_login["alice"][:3] == ["Smith, Alice", "1001", "S1001"]
    assert by_login["alice"][5] == "80"                  # 100, 1.5 days late: -20 %
    assert by_login["bob"][5] == "63" and by_login["grace"][5] == ""


# -- must show: late penalty, and an extension -------------------------------------------

def test_a_submission_a_day_and_a_half_late_loses_20_percent_until_extended(term_class):
    out = term_class.out
    alice = gradebook(out)["alice"]
    assert (alice["total"], alice["late_penalty"], alice["final"]) == ("100", "20", "80")
    assert "2 days late" in alice["message"]
    data = json.loads((out / "alice" / "results.json").read_text())
    assert data["score"] == 80 and "20% of the maximum points deducted" in data["output"]
    assert "Late penalty: -20 points" in (out / "alice" / "feedback.html").read_text()

    # editing the late policy regrades nothing; the penalty follows the config
    milder = term_class.tmp / "milder.toml"
    milder.write_text(term_class.config.read_text().replace("penalty_per_day = 0.10",
                                                            "penalty_per_day = 0.05"))
    command = list(term_class.command)
    command[command.index("--config") + 1] = milder
    for config, final in ((milder, "90"), (term_class.config, "80")):
        command[command.index("--config") + 1] = config
        rerun = grade_py(*command)
        assert rerun.returncode == 0 and "0 to grade" in rerun.stderr, rerun.stderr[-3000:]
        assert gradebook(out)["alice"]["final"] == final

    proc = grade_py("extend", out, "S1001", "--until", "2026-12-04T00:00:00+08:00",
                    "--reason", "medical certificate")
    assert proc.returncode == 0, proc.stderr
    export = grade_py("export", out, "--to", "csv", "-o", term_class.tmp / "after.csv")
    assert export.returncode == 0, export.stderr
    after = {r[0]: r for r in rows_of((term_class.tmp / "after.csv").read_text())}
    assert after["alice"][6:10] == ["100", "0", "0", "100"]   # automatic, late, adj, final
    data = json.loads((out / "alice" / "results.json").read_text())
    assert data["score"] == 100 and "within the extension" in data["output"]


# -- must show: an adjustment survives a regrade; what changed ----------------------------

def test_an_adjustment_survives_a_forced_regrade_and_changes_lists_it(term_class):
    out = term_class.out
    proc = grade_py("adjust", out, "bob", "--points", "3", "--reason",
                    "the l2 answer was right but for a typo")
    assert proc.returncode == 0, proc.stderr
    assert "final 66" in proc.stderr
    feedback = (out / "bob" / "feedback.html").read_text()
    assert "+3 points" in feedback and "right but for a typo" in feedback

    regrade = grade_py(*term_class.command, "--force")
    assert regrade.returncode == 0, regrade.stderr[-3000:]
    assert "7 to grade" in regrade.stderr
    export = grade_py("export", out, "--to", "canvas", "-o", term_class.tmp / "regraded.csv")
    assert export.returncode == 0, export.stderr
    bob = next(r for r in rows_of((term_class.tmp / "regraded.csv").read_text()) if r[3] == "bob")
    assert bob[5] == "66"
    assert gradebook(out)["bob"]["final"] == "66"
    assert json.loads((out / "bob" / "results.json").read_text())["score"] == 66

    log = grade_py("changes", out, "--all")
    assert log.returncode == 0, log.stderr
    assert "bob  adjustment: - -> total: +3 points  (the l2 answer was right" in log.stdout
    assert "bob  regrade: 63 (graded) -> 63 (graded)" in log.stdout
    changes = grade_py("changes", out)
    assert changes.returncode == 0, changes.stderr
    assert changes.stdout.startswith("no automatic score changed in the last grading")
    assert not any(line.startswith(f"{sid}:") for line in changes.stdout.splitlines()
                   for sid in ROSTER_IDS)


def test_changes_lists_a_student_whose_automatic_score_changed(tmp_path):
    """At the function level: two gradings of bob that differ in q1 only."""
    from autograder.changes import changed
    from autograder.term import db

    conn = db.connect(tmp_path)
    run1 = db.start_run(conn, "batch", "t")
    db.record_grading(conn, "bob", "d1", "c", "graded", fake_result({"q1.a": 4, "q2.b": 5}),
                      "t", run1)
    db.record_grading(conn, "amy", "d2", "c", "graded", fake_result({"q1.a": 4}), "t", run1)
    run2 = db.start_run(conn, "batch", "t")
    db.record_grading(conn, "bob", "d1", "c", "graded", fake_result({"q1.a": 10, "q2.b": 5}),
                      "t", run2)
    db.record_grading(conn, "amy", "d2", "c", "graded", fake_result({"q1.a": 4}), "t", run2)
    conn.execute("INSERT INTO students (key, on_roster) VALUES ('bob', 1), ('amy', 1)")
    assert changed(conn) == (run2, [("bob", {"q1": (4.0, 10.0), "total": (9.0, 15.0)})])


# -- must show: instructor mistakes -----------------------------------------------------

def one_line_error(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, \
        proc.stderr
    return proc.stderr


def test_instructor_mistakes_exit_2_with_one_line_and_change_nothing(term_class, tmp_path):
    out = term_class.out
    before = (out / "gradebook.db").read_bytes()
    assert "unknown student 'zed'" in one_line_error(
        grade_py("adjust", out, "zed", "--points", "3", "--reason", "x"))
    assert "unknown export format 'excel'" in one_line_error(
        grade_py("export", out, "--to", "excel"))
    assert "no time zone" in one_line_error(
        grade_py("extend", out, "bob", "--until", "2026-12-04T00:00:00", "--reason", "x"))
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,section\nAnn,1\n")
    twice = tmp_path / "twice.csv"
    twice.write_text("student_id,name,email\nann,Ann,a@x.edu\nbob,Bob,a@x.edu\n")
    naive = tmp_path / "naive.toml"
    naive.write_text(term_class.config.read_text().replace("+08:00", ""))
    config = ["--config", term_class.config]
    for args, says in (([term_class.zip, "--out", out, "--roster", no_id, *config],
                        "no id column"),
                       ([term_class.zip, "--out", out, "--roster", twice, *config],
                        "'a@x.edu' twice"),
                       ([term_class.zip, "--out", out, "--config", naive], "no time zone")):
        assert says in one_line_error(grade_py(*args))
    assert (out / "gradebook.db").read_bytes() == before


# -- must show: SIGKILL mid-batch ---------------------------------------------------------

def test_sigkill_mid_batch_then_rerun_leaves_a_sound_database_and_the_same_gradebook(
        term_class, tmp_path):
    out = tmp_path / "out"
    command = [a if a != term_class.out else out for a in term_class.command]
    command[command.index("--jobs") + 1] = "1"
    proc = subprocess.Popen([sys.executable, str(ROOT / "grade.py"), *map(str, command)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("*/batch.json")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not (out / "gradebook.csv").exists()             # killed before the end
    assert db_rows(out, "PRAGMA integrity_check") == [("ok",)]
    rerun = grade_py(*command)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert db_rows(out, "PRAGMA integrity_check") == [("ok",)]
    assert (out / "gradebook.csv").read_text() == term_class.gradebook_text
    graded = dict(db_rows(out, "SELECT student, count(*) FROM gradings GROUP BY student"))
    assert graded == {sid: 1 for sid in [*EXPECTED_TOTALS, "9999"]}


# -- the pieces: LMS layouts --------------------------------------------------------------

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def found(root, expected="regularization.ipynb"):
    from autograder.batch.lms import recognise, submissions

    layout, download = recognise(root)
    return layout, {s.sid: s for s in submissions(layout, download, expected)}


def test_canvas_layout_in_a_folder_reuploads_late_and_anonymous(tmp_path):
    root = tmp_path / "dl"
    root.mkdir()
    (root / "smithann_11_501_regularization.ipynb").write_bytes(NB)
    (root / "smithann_11_502_notes.pdf").write_bytes(b"%PDF")
    (root / "leebo_LATE_12_503_regularization-2.ipynb").write_bytes(b"{2}")
    (root / "leebo_LATE_12_504_scratch.ipynb").write_bytes(b"{}")
    (root / "anon_x8Hj2_505_lab.ipynb").write_bytes(b"{3}")
    make_zip(root / "kimcy_13_506_export.zip", {"sub/regularization.ipynb": b"{4}"})
    layout, subs = found(root)
    assert layout == "canvas" and sorted(subs) == ["11", "12", "13", "anon_x8Hj2"]
    assert subs["11"].read() == NB and subs["11"].lms_id == "11" and not subs["11"].flagged_late
    assert subs["12"].flagged_late and subs["12"].read() == b"{2}"   # the lab's name wins
    assert "upload 3" in subs["12"].history and "only regularization.ipynb" in subs["12"].message
    assert subs["anon_x8Hj2"].id_kind == "canvas_anonymous"
    assert subs["13"].read() == b"{4}"


def test_moodle_layouts_folders_old_folders_and_flat(tmp_path):
    root = tmp_path / "dl"
    (root / "Ann Smith_301_assignsubmission_file").mkdir(parents=True)
    (root / "Ann Smith_301_assignsubmission_file" / "regularization.ipynb").write_bytes(b"{1}")
    (root / "Bo Lee_302_assignsubmission_file_").mkdir()
    (root / "Bo Lee_302_assignsubmission_file_" / "lab.ipynb").write_bytes(b"{2}")
    (root / "Cy Kim_303_assignsubmission_file_lab.ipynb").write_bytes(b"{3}")
    (root / "Cy Kim_303_assignsubmission_onlinetext_onlinetext.html").write_bytes(b"<p>")
    layout, subs = found(root)
    assert layout == "moodle" and sorted(subs) == ["301", "302", "303"]
    assert [subs[k].read() for k in ("301", "302", "303")] == [b"{1}", b"{2}", b"{3}"]
    assert subs["301"].who == "Ann Smith"


def test_gradescope_export_with_its_metadata_in_a_zip(tmp_path):
    metadata = """---
:submission_777:
  :submitters:
  - :name: Ann Smith
    :sid: '1001'
    :email: ann@x.edu
  :created_at: 2026-12-02 10:30:00.123456000 +0800
  :history:
  - :created_at: 2026-12-01 09:00:00 +0800
    :score: 3.0
:submission_778:
  :submitters:
  - :name: Bo Lee
    :sid: "1002"
    :email: bo@x.edu
  - :name: Cy Kim
    :sid: "1003"
    :email: cy@x.edu
  :created_at: 2026-12-01 09:00:00 -0800
:submission_779:
  :submitters:
  - :name: Mallory
    :sid: ../../escaped
    :email: ../m
"""
    path = make_zip(tmp_path / "export.zip", {
        "assignment_1_export/submission_metadata.yml": metadata,
        "assignment_1_export/submission_777/regularization.ipynb": b"{1}",
        "assignment_1_export/submission_778/work/lab.ipynb": b"{2}",
        "assignment_1_export/submission_779/lab.ipynb": b"{3}"})
    layout, subs = found(path)
    assert layout == "gradescope" and sorted(subs) == ["1001", "1002", "1003", "submission_779"]
    assert subs["1003"].read() == b"{2}" and "group submission of Bo Lee, Cy Kim" in \
        subs["1003"].history                        # each member of a group: their own entry
    assert subs["submission_779"].submitters[0]["sid"] == "../../escaped"   # kept, not a path
    assert subs["1001"].submitted_at == "2026-12-02T10:30:00+08:00"
    assert subs["1001"].history == "1 earlier submissions"
    assert subs["1001"].submitters[0]["email"] == "ann@x.edu"
    assert subs["1002"].read() == b"{2}" and subs["1001"].read() == b"{1}"


def test_plain_folders_are_not_taken_for_an_lms_and_unknown_zips_are_refused(tmp_path):
    from autograder.batch.lms import DownloadError, recognise

    root = tmp_path / "plain"
    root.mkdir()
    (root / "alice.ipynb").write_bytes(NB)
    (root / "bob_2.ipynb").write_bytes(NB)
    assert recognise(root) == (None, None)
    with pytest.raises(DownloadError):
        recognise(make_zip(tmp_path / "x.zip", {"alice.ipynb": NB}))


def test_submissions_are_matched_to_the_roster_by_the_lms_id(tmp_path):
    from autograder.batch.lms import LmsSubmission
    from autograder.term.roster import Student
    from autograder.term.session import match

    roster = [Student("ann", lms_id="11", login="ann", email="ann@x.edu"),
              Student("bo", sis_id="S2", participant="302", login="bo")]
    subs = [LmsSubmission("11", "a", lms_id="11", id_kind="canvas"),
            LmsSubmission("302", "b", lms_id="302", id_kind="moodle"),
            LmsSubmission("99", "c", lms_id="99", id_kind="canvas")]
    merged, listed = match(subs, roster)
    assert [(s.sid, s.matched_by) for s in merged] == [
        ("99", ""), ("ann", "Canvas user id 11"), ("bo", "Moodle participant id 302")]
    assert listed == {"ann": True, "bo": True, "99": False}
    gs = LmsSubmission("x", "d", lms_id="x", id_kind="gradescope",
                       submitters=[{"sid": "", "email": "ANN@x.edu"}])
    assert match([gs], roster)[0][0].sid == "ann"


# -- the pieces: rosters --------------------------------------------------------------------

def roster_file(tmp_path, text):
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_formats(tmp_path):
    from autograder.term.roster import read_roster, resolve

    fmt, students, extra = read_roster(roster_file(tmp_path, (
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab (42)\n"
        "    Points Possible,,,,,100\n\"Smith, Ann\",11,S1,ann,A,\n\"Lee, Bo\",12,,,A,\n")))
    assert fmt == "canvas" and extra == ["Lab (42)"]
    assert [(s.key, s.lms_id, s.sis_id) for s in students] == [("ann", "11", "S1"),
                                                               ("12", "12", "")]
    fmt, students, _ = read_roster(roster_file(tmp_path, (
        "Identifier,Full name,Email address,Status,Grade\n"
        "Participant 301,Ann Smith,ann@x.edu,Submitted,\n")))
    assert fmt == "moodle" and students[0].participant == "301" and students[0].key == "ann@x.edu"
    fmt, students, _ = read_roster(roster_file(tmp_path, (
        "First Name,Last Name,SID,Email,Role\nAnn,Smith,1001,ann@x.edu,Student\n"
        "Tia,Ta,,ta@x.edu,TA\n")))
    assert fmt == "gradescope" and [(s.name, s.sis_id) for s in students] == [("Ann Smith",
                                                                              "1001")]
    fmt, students, _ = read_roster(roster_file(tmp_path, "student_id,name,email\nann,Ann,a@x\n"))
    assert fmt == "plain" and resolve(students, "A@X").key == "ann"


def test_bad_rosters_and_ambiguous_ids_are_errors(tmp_path):
    from autograder.term import TermError
    from autograder.term.roster import Student, read_roster, resolve

    with pytest.raises(TermError, match="no id column"):
        read_roster(roster_file(tmp_path, "name,email\nAnn,a@x\n"))
    with pytest.raises(TermError, match="'ann' twice"):
        read_roster(roster_file(tmp_path, "student_id,name,email\nann,A,\nann,B,\n"))
    with pytest.raises(TermError, match="names 2 students"):
        resolve([Student("ann", sis_id="7"), Student("bo", lms_id="7")], "7")
    with pytest.raises(TermError, match="unknown student"):
        resolve([Student("ann")], "zed")


# -- the pieces: late policy -----------------------------------------------------------------

def policy(**kw):
    from autograder.config import LateSettings

    return LateSettings(**{"deadline": "2026-12-01T23:59:00+08:00", **kw})


def test_late_arithmetic():
    from autograder.term.late import assess

    per_day = policy(penalty_per_day=0.1)
    assert assess(per_day, "2026-12-01T23:59:00+08:00").fraction == 0
    assert assess(per_day, "2026-12-02T00:00:00+08:00").fraction == pytest.approx(0.1)
    assert assess(per_day, "2026-12-03T11:59:00+08:00").fraction == pytest.approx(0.2)   # 1.5 d
    assert assess(per_day, "2026-12-03T03:59:00Z").fraction == pytest.approx(0.2)   # same time
    assert assess(per_day, "2026-12-03T11:59:00+08:00",
                  "2026-12-04T00:00:00+08:00").fraction == 0
    grace = policy(penalty_per_day=0.1, grace_minutes=30)
    assert assess(grace, "2026-12-02T00:29:00+08:00").fraction == 0
    assert assess(grace, "2026-12-02T00:30:01+08:00").fraction == pytest.approx(0.1)
    capped = policy(penalty_per_day=0.1, max_days=2)
    assert assess(capped, "2026-12-03T23:00:00+08:00").fraction == pytest.approx(0.2)
    assert assess(capped, "2026-12-04T00:00:00+08:00").fraction == 1.0
    tiers = policy(tiers=[[1, 0.05], [3, 0.3]])
    assert [assess(tiers, f"2026-12-0{d}T12:00:00+08:00").fraction for d in (2, 3, 4, 5)] == \
        [0.05, 0.3, 0.3, 1.0]
    unknown = assess(per_day, None)
    assert unknown.fraction == 0 and "no late penalty" in unknown.note
    assert assess(policy(deadline=""), "2030-01-01T00:00:00Z").fraction == 0


def test_a_deadline_without_a_time_zone_is_a_config_error(tmp_path):
    from autograder.config import ConfigError, load_config

    text = (ROOT / "autograder" / "grading.toml").read_text()
    path = tmp_path / "g.toml"
    path.write_text(text.replace('deadline = ""', 'deadline = "2026-12-01T23:59:00"'))
    with pytest.raises(ConfigError, match="no time zone"):
        load_config(path)
    path.write_text(text.replace("tiers = []", "tiers = [[3, 0.3], [1, 0.1]]"))
    with pytest.raises(ConfigError, match="days increasing"):
        load_config(path)


# -- the pieces: final scores, exports, items, the log ----------------------------------------

def fake_result(points):
    """A GradingResult with one passed/failed test per {"question.test": points}."""
    from autograder.results import GradingResult, TestResult

    return GradingResult("x", tests=[
        TestResult(name=name, question=name.split(".")[0], title=name, max_score=10,
                   score=p, passed=p == 10, message="", hidden=False, visibility="visible")
        for name, p in points.items()])


def standing_of(tmp_path, adjustments=(), submitted=None, extra_credit=False, **late):
    from autograder.term import db
    from autograder.term.scores import standing

    tmp_path.mkdir()
    conn = db.connect(tmp_path)
    conn.execute("INSERT INTO students (key, on_roster) VALUES ('ann', 1)")
    sub = SimpleNamespace(source="ann.ipynb", file_sha256="f", digest="d", status="ok",
                          message="", submitted_at=submitted)
    db.record_submissions(conn, [("ann", sub, True)], "t", None)
    db.record_grading(conn, "ann", "d", "c", "graded", fake_result({"q1.a": 10, "q2.b": 4}),
                      "t", None)
    for question, kind, value, base in adjustments:
        db.add_adjustment(conn, "ann", question, kind, value, "why", False, base, "t")
    cfg = SimpleNamespace(late=policy(**late) if late else policy(deadline=""),
                          gradebook=SimpleNamespace(allow_extra_credit=extra_credit))
    return standing(conn, cfg, "ann", "graded", 20.0)


def test_final_is_automatic_minus_late_plus_adjustments_clamped(tmp_path):
    st = standing_of(tmp_path / "a", [("q2", "points", 3, 4.0), (None, "points", -1, 14.0)])
    assert (st.automatic, st.adjustment_points, st.final, st.review) == (14, 2, 16, "")
    st = standing_of(tmp_path / "b", [("q2", "set", 10, 4.0), (None, "points", 5, 14.0)])
    assert st.final == 20                                           # clamped to the maximum
    st = standing_of(tmp_path / "c", [(None, "points", 9, 14.0)], extra_credit=True)
    assert st.final == 23
    st = standing_of(tmp_path / "d", [(None, "points", 1, 14.0)], penalty_per_day=0.1,
                     submitted="2026-12-03T11:59:00+08:00")
    assert (st.late_points, st.final) == (4.0, 11.0)                # 14 - 20 % of 20 + 1
    st = standing_of(tmp_path / "e", [("q2", "points", 3, 7.0)])
    assert "review" in st.review and "changed from 7 to 4" in st.review


def test_a_student_without_a_grading_has_a_final_score_only_when_staff_set_one(tmp_path):
    from autograder.term import db
    from autograder.term.scores import standing

    conn = db.connect(tmp_path)
    cfg = SimpleNamespace(late=policy(deadline=""),
                          gradebook=SimpleNamespace(allow_extra_credit=False))
    assert standing(conn, cfg, "gus", "missing", 20.0).final is None
    db.add_adjustment(conn, "gus", None, "points", 5, "why", False, None, "t")
    assert standing(conn, cfg, "gus", "missing", 20.0).final is None      # 5 more than nothing
    db.add_adjustment(conn, "gus", None, "set", 0, "no submission: zero", False, None, "t")
    db.add_adjustment(conn, "gus", None, "points", 2, "handed in on paper", False, None, "t")
    st = standing(conn, cfg, "gus", "missing", 20.0)
    assert (st.automatic, st.final) == (None, 2)


def test_exports_of_each_lms():
    from autograder.term import TermError
    from autograder.term.exports import render
    from autograder.term.roster import Student

    students = [Student("ann", name="Ann", lms_id="11", sis_id="S1", login="ann",
                        participant="301", email="a@x", section="A"),
                Student("bo", name="Bo", lms_id="12", participant="302")]
    standings = {"ann": SimpleNamespace(final=17.5, automatic=20, late_points=2.5,
                                        adjustment_points=0, status="graded"),
                 "bo": SimpleNamespace(final=None, automatic=None, late_points=0,
                                       adjustment_points=0, status="missing")}
    canvas = rows_of(render("canvas", students, standings, 20, "Lab", ["Lab (42)"]))
    assert canvas == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab (42)"],
                      ["    Points Possible", "", "", "", "", "20"],
                      ["Ann", "11", "S1", "ann", "A", "17.5"], ["Bo", "12", "", "", "", ""]]
    moodle = rows_of(render("moodle", students, standings, 20))
    assert moodle[0][:4] == ["Identifier", "Full name", "Email address", "Grade"]
    assert moodle[0][5] == "Last modified (grade)"
    assert moodle[1][:5] == ["Participant 301", "Ann", "a@x", "17.5", "20"] and moodle[2][3] == ""
    assert rows_of(render("gradescope", students, standings, 20))[1] == ["Ann", "S1", "a@x",
                                                                          "17.5"]
    assert rows_of(render("csv", students, standings, 20))[1][6:] == [
        "20", "2.5", "0", "17.5", "20", "graded", ""]
    with pytest.raises(TermError, match="unknown export format"):
        render("excel", students, standings, 20)
    with pytest.raises(TermError, match="Moodle grading worksheet"):
        render("moodle", [Student("cy")], {"cy": standings["bo"]}, 20)


def test_items_pass_rate_mean_and_discrimination():
    import statistics

    from autograder.term.items import item_rows

    def g(a, b):
        return {"q1.a": (a, 10, a == 10, False, "q1"), "q2.b": (b, 5, b == 5, True, "q2")}

    rows = item_rows([g(10, 5), g(10, 0), g(0, 0), g(10, 5)])
    a, b = rows
    assert a[:7] == ["q1.a", "q1", "public", 4, "0.750", "7.500", "10"]
    assert float(a[7]) == pytest.approx(statistics.correlation([10, 10, 0, 10], [5, 0, 0, 5]),
                                        abs=1e-3)
    assert b[2] == "hidden" and b[4] == "0.500"
    assert item_rows([g(10, 5), g(10, 0)])[0][7] == ""        # everyone passed: no correlation


def test_the_log_is_append_only(tmp_path):
    from autograder.term import db

    conn = db.connect(tmp_path)
    db.set_extension(conn, "ann", "2026-12-04T00:00:00+08:00", "medical", "t")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE log SET new = 'forged'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM log")
    assert [(e["what"], e["new"], e["reason"]) for e in db.log_entries(conn)] == [
        ("extension", "2026-12-04T00:00:00+08:00", "medical")]


def test_a_private_reason_stays_staff_only(tmp_path):
    from autograder.batch.feedback import render_feedback

    result = fake_result({"q1.a": 10})
    result.term = {"automatic": 10, "max": 10, "final": 8, "late": None,
                   "adjustments": [{"question": "q1", "change": "-2", "reason": ""}]}
    page = render_feedback("ann", result)
    assert "Final score: 8 / 10" in page and "adjusted q1: -2 points" in page
    st = standing_of(tmp_path / "s", [(None, "points", -1, 14.0)])
    st.adjustments = [dict(a, private=1, reason="plagiarism suspicion") for a in st.adjustments]
    assert st.student_view()["adjustments"] == [{"question": "", "change": "-1", "reason": ""}]


def test_the_metadata_yaml_subset_with_other_indents_and_quotes():
    from autograder.batch.lms import parse_yaml

    text = """---
# exported
submission_1:
  :submitters:
    -   :name: "Ann: the first"
        :sid: '0012'
    -   :name: Bo
  :created_at: 2026-12-01 10:00:00 +0000
  :score:
"""
    assert parse_yaml(text) == {"submission_1": {
        "submitters": [{"name": "Ann: the first", "sid": "0012"}, {"name": "Bo"}],
        "created_at": "2026-12-01 10:00:00 +0000", "score": None}}
