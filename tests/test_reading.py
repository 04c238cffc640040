"""What people read (issue 28): the staff report hides no distinct mistake,
feedback speaks to the student, pages say what made them, plots draw any
student id, one command line (``grade`` takes what a batch takes, ``--out`` is
a folder everywhere), no student vanishes from the gradebook, and a rerun keeps
its folder's settings.

Pages are rendered from made-up results (fast); only the command-line checks
grade real notebooks (frank's export zip, and one small notebook).
"""

import csv
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

from conftest import BOOK, ROOT, class_sources, notebook_from, write_notebook

XSS = "<script>alert(1)</script>"
DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def test(name, passed, message, hidden=False, points=5, measured=None, threshold=None):
    from autograder.results import TestResult

    title = f"`{name.split('.')[1]}` of {name.split('.')[0]}"
    return TestResult(name=name, question=name.split(".")[0], title=title, max_score=points,
                      score=points if passed else 0, passed=passed, message=message,
                      hidden=hidden, visibility="after_published" if hidden else "visible",
                      measured=measured, threshold=threshold)


test.__test__ = False      # a helper, not a pytest test


def result(*tests, problems=()):
    from autograder.results import GradingResult

    return GradingResult(submission="x.ipynb", tests=list(tests), problems=list(problems))


def entry(sid, res, status="graded"):
    from autograder.batch.gradebook import Entry

    return Entry(sid, f"{sid}.ipynb", status, "", res)


@pytest.fixture(scope="module")
def context(config, lab):
    from autograder.batch.page import context

    return context(config, lab)


# -- the report ---------------------------------------------------------------------------

def stub_class(n):
    """n students who left every stub: 4 failed tests each, all "not implemented"."""
    return [entry(f"stub{k:02d}", result(
        *[test(f"q{q}_x.t{i}", False, f"Class{q}.forward is not implemented yet")
          for q in (1, 4) for i in range(2)])) for k in range(n)]


WEIGHT_DECAY = ("lr = 0.3, beta = 0.05: decay is scaled by the learning rate: "
                "`(1 - lr*beta) x - lr g`; the lab's rule is `(1 - beta) x - lr g`")


def test_the_report_lists_every_distinct_diagnosis_and_counts_stubs_apart(context):
    """25 untouched templates used to fill the 20 "most common" rows: the one real
    q4 mistake of the class was not in the report."""
    from autograder.batch.report import render_report

    erin = entry("erin", result(test("q4_x.t0", False, WEIGHT_DECAY, measured=0.0335,
                                     threshold=1e-6),
                                test("q4_x.t1", True, "fine")))
    dave = entry("dave", result(test("q4_x.t0", False, "not graded: the file is not a "
                                                      "Jupyter notebook")))
    page = render_report(stub_class(25) + [erin, dave], {"q1_x": 10, "q4_x": 10},
                         context=context)
    assert "decay is scaled by the learning rate" in page
    assert "threshold" not in page.split("decay is scaled")[1].split("</td>")[0]
    assert "Not implemented (the template's stub), 25 of 27 graded" in page
    assert "Not run (unreadable notebook or grader failure, see below), 1 of 27 graded: " \
           "dave" in page
    assert "stub00, stub01" in page and "and 13 more" in page       # 12 names, then a count
    assert "is not implemented yet" not in page                      # stubs are not rows


def test_a_cut_list_of_diagnoses_says_how_many_are_not_shown(context, monkeypatch):
    from autograder.batch import report

    monkeypatch.setattr(report, "MAX_DIAGNOSES", 2)
    entries = [entry(f"s{k}", result(test("q1_x.t0", False, f"mistake number {'I' * (k + 1)}")))
               for k in range(5)]
    page = report.render_report(entries, {"q1_x": 5}, context=context)
    assert page.count("mistake number") == 2
    assert "3 more distinct diagnoses of this question (in 3 students' tests) are not " \
           "listed here" in page


def test_every_page_says_the_lab_date_version_and_config(context, config):
    import hashlib

    import autograder
    from autograder.batch.feedback import render_feedback
    from autograder.batch.report import render_report

    sha = hashlib.sha256(open(config.source, "rb").read()).hexdigest()[:12]
    res = result(test("q1_relu.forward", True, "ok"))
    for page in (render_feedback("ann", res, context),
                 render_report([entry("ann", res)], {"q1_relu": 5}, context=context)):
        footer = page.split("<footer>")[1]
        assert config.lab.name == "NNDL lab 7.6: regularization" and config.lab.name in page
        assert DATE.search(footer) and f"the autograder {autograder.__version__}" in footer
        assert f"grading.toml (sha256 {sha})" in footer


# -- feedback ---------------------------------------------------------------------------

def test_feedback_renders_titles_as_details_and_keeps_numbers_out_of_headlines(context):
    from autograder.batch.feedback import render_feedback

    passed = test("q4_weight_decay.gradient_descent", True,
                  "`gradient_descent` returns `(1 - beta) x - lr g` (measured 6.81e-08, "
                  "threshold 1e-05)", measured=6.81e-08, threshold=1e-05)
    failed = test("q4_weight_decay.step", False, f"step(): {XSS} `x`")
    failed = type(failed)(**{**failed.__dict__, "title": f"`step()` {XSS}"})
    hidden = test("q4_weight_decay.hidden", False, "secret diagnosis", hidden=True)
    page = render_feedback("<b>ann</b>", result(passed, failed, hidden,
                                                problems=[f"cell 3: `{XSS}`"]), context)
    assert "`" not in page                                          # every code span rendered
    assert "<code>step()</code> &lt;script&gt;" in page and XSS not in page
    assert "<b>ann</b>" not in page and "secret diagnosis" not in page
    row = next(r for r in page.split("<tr>") if "<code>gradient_descent</code> of" in r)
    headline, detail = row.split('<td class="msg">')[1].split('<span class="detail">')
    assert "threshold" not in headline and "6.81e-08" not in headline
    assert "Measured: 6.81e-08; the check&#39;s limit: 1e-05." in detail
    assert "Q4 · Gradient descent with weight decay (BatchGD): 5 / 15 " \
           '<span class="small">q4_weight_decay</span>' in page
    assert "(hidden test)" in page and "only whether it passed is shown" in page


def test_hidden_tests_are_named_without_their_inputs(lab):
    """Titles of hidden checks are shown to students: no p = 0.6, no shapes."""
    hidden = [c for c in lab.checks() if lab.is_hidden(c)]
    assert len(hidden) >= 8
    for check in hidden:
        assert not re.search(r"\d\.|\d+\b(?<!l2)|=|float32|shape", check.title), check.title
    titles = {c.name: c.title for c in hidden}
    assert titles["q2_dropout.forward_stats_hidden"] == "`Dropout.forward` on other inputs"


def test_cjk_student_ids_are_drawn_without_glyph_warnings(context):
    """A font fallback (a CJK font when one is installed, else escapes): no box,
    no "Glyph missing" warning; the page's CSS names CJK fonts too."""
    from autograder.batch.fonts import drawable, families
    from autograder.batch.report import render_report
    from autograder.batch.similarity import heatmap_png

    ids = ["王小明", "bob", "李雷"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = heatmap_png(np.eye(3), ids, "ReLU")
        page = render_report([entry(sid, result(test("q1_x.t0", sid == "bob", "m")))
                              for sid in ids], {"q1_x": 5}, context=context)
    assert png.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    label = drawable("王小明")
    assert label == "王小明" if len(families()) > 1 else label == "\\u738b\\u5c0f\\u660e"
    assert "Noto Sans CJK SC" in page and "WenQuanYi Zen Hei" in page     # CSS fallbacks


# -- no student vanishes; saved settings ---------------------------------------------------

def run(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "grade.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def gradebook(out):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_every_entry_is_a_student_whatever_the_case_of_its_extension(tmp_path):
    from autograder.batch.discover import discover

    for name in ("gina.pdf", "oli.IPYNB", "pat.ipynb", "pat.pdf", "quinn.ZIP"):
        (tmp_path / name).write_text("{}")
    subs, skipped = discover(tmp_path)
    by_id = {s.sid: s for s in subs}
    assert sorted(by_id) == ["gina", "oli", "pat", "quinn"]
    assert by_id["gina"].status == "not_a_notebook" and "gina.pdf" in by_id["gina"].message
    assert by_id["oli"].ok and by_id["pat"].ok and "pat.pdf" in by_id["pat"].message
    assert by_id["quinn"].status == "bad_zip"                    # a .ZIP is read as a zip
    assert skipped == ["gina.pdf", "pat.pdf"]


def test_a_student_folder_holding_an_export_zip_is_read_as_on_gradescope(tmp_path):
    """One rule for a student's folder: its notebooks, else those in its zips."""
    from autograder.batch.discover import discover
    from autograder.gradescope.run import find_notebook

    (tmp_path / "rae" / "upload").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "rae" / "upload" / "export.zip", "w") as z:
        z.writestr("regularization.ipynb", "{1}")
        z.writestr("regularization.pdf", "%PDF")
    (sub,), _ = discover(tmp_path, expected="regularization.ipynb")
    assert sub.ok and sub.read() == b"{1}"
    assert sub.source == "rae/upload/export.zip:regularization.ipynb"
    path, _ = find_notebook(tmp_path / "rae", "regularization.ipynb", extract_dir=tmp_path)
    assert path.read_bytes() == sub.read()


def test_a_class_folder_with_a_pdf_and_an_upper_case_extension(tmp_path, short_config):
    """gina.pdf and oli.IPYNB used to be only "skipped" on stderr. A rerun with
    --only keeps the folder's --scale (and config) and says so."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "gina.pdf").write_bytes(b"%PDF-1.4")
    write_notebook(notebook_from({"ReLU": class_sources(BOOK)["ReLU"]}), subs / "oli.IPYNB")
    proc = run(subs, "--out", out, "--config", short_config, "--scale", "10")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = gradebook(out)
    assert rows["gina"]["status"] == "not_a_notebook" and "gina.pdf" in rows["gina"]["message"]
    assert rows["oli"]["status"] == "graded" and rows["oli"]["total"] == "25"
    assert rows["oli"]["scaled_total"] == "2.5"
    assert "gina" in (out / "report.html").read_text()

    again = run(subs, "--out", out, "--only", "oli")                 # no --scale, no --config
    assert again.returncode == 0, again.stderr[-3000:]
    assert "keeping --scale 10" in again.stderr and "keeping --config" in again.stderr
    assert gradebook(out)["oli"]["scaled_total"] == "2.5"
    assert json.loads((out / "batch-settings.json").read_text())["scale"] == 10


# -- one command line -----------------------------------------------------------------------

def test_grade_takes_an_export_zip_and_scores_as_the_batch(tmp_path):
    """frank.zip (otter's export) used to grade 0/100 "not a Jupyter notebook"."""
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(ROOT / "examples" / "submissions" / "frank.zip", subs / "frank.zip")
    batch = run(subs, "--out", tmp_path / "out", "-q")
    assert batch.returncode == 0, batch.stderr[-3000:]
    row = gradebook(tmp_path / "out")["frank"]

    results = tmp_path / "new" / "folder" / "R.json"                   # folders are made
    proc = run("grade", subs / "frank.zip", "--results", results)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(results.read_text())
    assert f"{data['score']:g}" == row["total"] == "100"
    staff = json.loads(results.with_name("R.staff.json").read_text())
    assert staff["submission"] == "frank.zip:regularization.ipynb"


def test_grade_writes_a_documented_place_and_quiet_prints_the_total(tmp_path):
    """No --results: results/<id>/ in the current folder, as a batch's OUT/<id>/."""
    zipped = tmp_path / "nia.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("lab/regularization.ipynb", "{ not json")
    proc = run("-q", zipped, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = tmp_path / "results" / "nia"
    assert sorted(p.name for p in folder.iterdir()) == ["feedback.html", "results.json",
                                                        "results.staff.json"]
    assert proc.stdout.splitlines() == [f"nia: 0 / 100 (results in {folder.relative_to(tmp_path)}"
                                        "/results.json)"]


def test_grade_given_a_class_folder_says_to_use_batch(tmp_path):
    for sid in ("ann", "ben"):
        (tmp_path / "class" / f"{sid}.ipynb").parent.mkdir(exist_ok=True)
        (tmp_path / "class" / f"{sid}.ipynb").write_text("{}")
    proc = run("grade", "class", cwd=tmp_path)
    assert proc.returncode == 2 and "grade.py batch class --out OUT_DIR" in proc.stderr
    assert "Traceback" not in proc.stderr and sorted(p.name for p in tmp_path.iterdir()) == [
        "class"]


def test_gradescope_out_is_a_folder_and_leaves_nothing_behind(tmp_path):
    existing = tmp_path / "EXISTING"
    existing.mkdir()
    proc = run("gradescope", "--out", existing, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in existing.iterdir()) == ["autograder.zip"]
    assert "100 points in all: set the assignment's total to 100 on Gradescope" in proc.stdout

    proc = run("gradescope", cwd=tmp_path)                      # the documented default
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EXISTING", "dist"]
    assert [p.name for p in (tmp_path / "dist").iterdir()] == ["autograder.zip"]


def test_gradescope_prints_a_total_that_is_not_100(tmp_path):
    text = (ROOT / "autograder" / "grading.toml").read_text()
    config = tmp_path / "101.toml"
    config.write_text(text.replace("gradient_descent = 8", "gradient_descent = 9"))
    proc = run("gradescope", "--out", tmp_path / "gs.zip", "--config", config)
    assert proc.returncode == 0, proc.stderr
    assert "101 points in all: set the assignment's total to 101 on Gradescope" in proc.stdout
    assert "not 100" in proc.stderr


def test_a_failed_build_leaves_no_temporary_file(tmp_path, monkeypatch):
    from autograder.gradescope import build

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError):
        build.build(tmp_path / "a.zip")
    with pytest.raises(IsADirectoryError):
        build.build(tmp_path)
    assert list(tmp_path.iterdir()) == []


NO_JINJA = """
import sys
sys.modules["jinja2"] = sys.modules["markupsafe"] = None     # as on Gradescope's image
from autograder.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_grade_runs_where_jinja2_is_not_installed(tmp_path):
    """Gradescope's requirements have no Jinja2: grade.py grade (which shares the
    batch's rule for finding the notebook) must not need it; only the optional
    feedback.html is then missing, with a message."""
    bad = tmp_path / "sub.ipynb"
    bad.write_text("{ not json")
    proc = subprocess.run([sys.executable, "-c", NO_JINJA, "grade", str(bad), "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "results" / "sub" / "results.json").exists()
    assert "could not write feedback.html" in proc.stderr and "Traceback" not in proc.stderr


def test_gradescope_output_puts_the_numbers_on_their_own_line():
    """results.json's test output, which students read on Gradescope, says the
    same as feedback.html: the sentence, then the measured value and limit."""
    from autograder.results import validate

    passed = test("q1_relu.forward", True, "forward returns `max(x, 0)` (measured 0, "
                                           "threshold 1e-05)", measured=0.0, threshold=1e-05)
    data = result(passed).to_gradescope()
    validate(data)
    headline, _, detail = data["tests"][0]["output"].partition("\n\nMeasured")
    assert headline.endswith("forward returns `max(x, 0)`") and "threshold" not in headline
    assert detail == ": 0; the check's limit: 1e-05."
