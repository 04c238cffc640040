"""The lab in Chinese: every student-facing message translated (catalogs
complete, placeholders and formulas as in English, .mo compiled), one switch
(``[lab] language``) for the notebook, its self-checks, the diagnoses,
results.json and feedback.html, and the same grade in every language."""

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

from autograder.commands import build as build_notebooks
from autograder import catalogs     # needs Babel ([test] extra): no skipping the catalogs' check
from autograder.config import ConfigError, load_config

ZH = "zh-CN"
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
BOB = ROOT / "examples" / "submissions" / "bob.ipynb"


# -- the catalogs ---------------------------------------------------------------------------
@pytest.mark.parametrize("domain", catalogs.DOMAINS, ids=lambda d: d.name)
def test_every_message_has_a_chinese_translation(domain):
    """Every message the code marks (and every markdown cell of the notebook)
    is in the zh-CN catalog, translated, not fuzzy, with the English
    placeholders (formulas and headings for the notebook), and compiled."""
    assert catalogs.problems(domain, ZH) == []


def _catalog(domain):
    return catalogs.read_po(domain.po(ZH), ZH)


def _domain(name):
    return next(d for d in catalogs.DOMAINS if d.name == name)


def test_the_check_fails_on_a_missing_fuzzy_or_mismatched_translation():
    nndl = _domain("nndl")
    po = _catalog(nndl)
    missing = "forward drops nothing"
    fuzzy = "the l2 term is missing from the loss"
    changed = "forward keeps %(rate)s of the units, expected `1 - p = %(keep)s`"
    po[missing].string = ""
    po[fuzzy].flags.add("fuzzy")
    po[changed].string = po[changed].string.replace("%(keep)s", "%(rate)s")
    del po["forward returns its input unchanged"]
    found = "\n".join(catalogs.problems(nndl, ZH, po))
    assert f"{missing!r}: not translated" in found
    assert f"{fuzzy!r}: fuzzy" in found
    assert "placeholders ['rate', 'rate'] differ from the English ['keep', 'rate']" in found
    assert "'forward returns its input unchanged': not in the catalog" in found


def test_the_check_fails_on_a_notebook_translation_with_other_formulas_or_headings():
    notebook = _domain("notebook")
    po = _catalog(notebook)
    relu = next(m for m in po if m.id and m.id.startswith("### 2.1 The ReLU operator"))
    relu.string = relu.string.replace(r"\max(Z, 0)", r"\max(0, Z)").replace("### 2.1", "## 2.1")
    found = "\n".join(catalogs.problems(notebook, ZH, po))
    assert "its formulas differ from the English" in found
    assert "its headings differ from the English" in found


def test_an_english_message_without_a_catalog_entry_is_found(monkeypatch):
    """A new message in the code, not yet in the .po, fails the check."""
    nndl = _domain("nndl")
    real = catalogs.extract

    def with_new_message(domain):
        template = real(domain)
        template.add("a brand new diagnosis %(n)s")
        return template

    monkeypatch.setattr(catalogs, "extract", with_new_message)
    assert any("'a brand new diagnosis %(n)s': not in the catalog" in p
               for p in catalogs.problems(nndl, ZH))


def test_language_is_checked_on_load(tmp_path):
    text = (ROOT / "autograder" / "grading.toml").read_text()
    assert load_config().lab.language == "en"
    bad = tmp_path / "grading.toml"
    bad.write_text(text.replace('language = "en"', 'language = "fr"'))
    with pytest.raises(ConfigError, match="language = 'fr' is not one of"):
        load_config(bad)


# -- the notebook ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built_zh(tmp_path_factory):
    out = tmp_path_factory.mktemp("built_zh")
    lab = dataclasses.replace(load_config().lab, language=ZH)
    build_notebooks.build(out, lab)
    return out


@pytest.mark.parametrize("folder", ["student_template", "solutions"])
def test_chinese_notebooks_are_the_english_ones_with_translated_markdown(built_zh, folder):
    """Same cells, same code (so in sync with the master as the English build
    is, which tests/test_notebooks.py checks); every markdown cell the
    catalog's translation of the English one, in Chinese."""
    english = nbformat.read(str(ROOT / folder / "regularization.ipynb"), as_version=4)
    chinese = nbformat.read(str(built_zh / folder / "regularization.ipynb"), as_version=4)
    po = _catalog(_domain("notebook"))
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    for en, zh in zip(english.cells, chinese.cells):
        if en.cell_type != "markdown" or not en.source.strip():
            assert zh.source == en.source
            continue
        assert zh.source == po[en.source].string
        assert CJK.search(zh.source), en.source[:60]
        assert re.findall(r"^#+ ", zh.source, re.M) == re.findall(r"^#+ ", en.source, re.M)


def test_chinese_build_ships_the_language_with_the_library(built_zh):
    """The student's nndl/ holds the compiled catalog and the language: its
    self-check messages are Chinese with nothing installed."""
    library = built_zh / "student_template" / "nndl"
    assert (library / "locale" / "zh_CN" / "LC_MESSAGES" / "nndl.mo").is_file()
    assert 'LANGUAGE = "zh-CN"' in (library / "_language.py").read_text()
    assert not (ROOT / "student_template" / "nndl" / "_language.py").exists()   # English
    code = ("from nndl.checks import core\n"
            "print(core.say('%(what)s is not implemented yet', what='ReLU.forward'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=library.parent, text=True,
                         capture_output=True, check=True).stdout.strip()
    assert out == "ReLU.forward 尚未实现"


def test_chinese_markdown_renders_its_emphasis():
    """CommonMark (as Jupyter renders it) closes ``**bold**`` next to CJK text
    only when the closing ``**`` is not between a punctuation mark and a
    letter: ``**正则化（regularization）**是`` shows its asterisks, so the
    glosses stay outside (``**正则化**（regularization）是``). No ``*`` is left
    over in any cell (math and code set aside)."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable("table")
    for message in _catalog(_domain("notebook")):
        if not message.id:
            continue
        for text in (message.id, message.string):
            html = md.render(catalogs.MATH.sub("MATH", text))
            left = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
            assert "*" not in left, text[:80]


def test_a_missing_notebook_translation_stops_the_build():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## A cell nobody translated")]
    with pytest.raises(build_notebooks.BuildError, match="no zh-CN translation"):
        build_notebooks.translate_markdown(nb, ZH)


# -- grading --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded_bob(tmp_path_factory):
    """examples/submissions/bob.ipynb graded with language = "en" and "zh-CN"."""
    base = tmp_path_factory.mktemp("bob")
    text = (ROOT / "autograder" / "grading.toml").read_text()
    assert 'language = "en"' in text
    graded = {}
    for language in ("en", ZH):
        config = base / f"{language}.toml"
        config.write_text(text.replace('language = "en"', f'language = "{language}"'))
        results = base / language / "results.json"
        results.parent.mkdir()
        proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(BOB),
                               "--results", str(results), "--config", str(config)],
                              capture_output=True, text=True, timeout=600)
        assert results.is_file(), proc.stderr
        graded[language] = (json.loads(results.read_text()),
                            json.loads(results.with_name("results.staff.json").read_text()))
    return base, graded


def test_bob_gets_the_same_points_and_diagnosis_keys_in_chinese(graded_bob):
    _, graded = graded_bob
    (en, en_staff), (zh, zh_staff) = graded["en"], graded[ZH]
    assert [(t["name"], t["score"]) for t in zh["tests"]] == \
        [(t["name"], t["score"]) for t in en["tests"]]
    assert zh["score"] == en["score"] < 100
    assert [t["key"] for t in zh_staff["tests"]] == [t["key"] for t in en_staff["tests"]]
    failed = [(e, z) for e, z in zip(en_staff["tests"], zh_staff["tests"]) if not e["passed"]]
    assert failed and all(e["key"] for e, _ in failed)
    for e, z in failed:        # the same numbers and formulas, the words in Chinese
        assert sorted(NUMBER.findall(z["message"])) == sorted(NUMBER.findall(e["message"]))
        assert re.findall(r"`[^`]+`", z["message"]) == re.findall(r"`[^`]+`", e["message"])
        assert CJK.search(z["message"]) and not CJK.search(e["message"])
    assert "N = 12" in json.dumps(zh, ensure_ascii=False)
    assert "ℓ2 正则化项的梯度大了 N = 12 倍" in zh["output"]
    assert zh["output"].startswith("**总分：") and en["output"].startswith("**Total:")


def test_chinese_feedback_declares_its_language_encoding_and_cjk_fonts(graded_bob):
    from autograder.batch.feedback import render_feedback
    from autograder.batch.store import load_result

    base, _ = graded_bob
    page = render_feedback("bob", load_result(base, ZH))
    assert '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page
    assert re.search(r"font-family:[^;]*\"Noto Sans CJK SC\"[^;]*sans-serif", page)
    assert "bob 的评分反馈" in page and "总分：63 / 100" in page
    assert "ℓ2 正则化项的梯度大了 N = 12 倍" in page
    english = render_feedback("bob", load_result(base, "en"))
    assert '<html lang="en">' in english and not CJK.search(english)


# -- every diagnosis path -------------------------------------------------------------------
@pytest.fixture
def in_language():
    """Switch the messages' language; English again afterwards."""
    from autograder import i18n

    yield i18n.use
    i18n.use("en")


WRONG = sorted((ROOT / "tests" / "variants" / "wrong").glob("*.py"))


@pytest.mark.parametrize("path", WRONG, ids=lambda p: p.stem)
def test_every_wrong_variant_is_diagnosed_in_chinese_with_the_same_verdicts(path, in_language,
                                                                           lab, config):
    """The corpus of wrong implementations reaches most diagnoses: in zh-CN each
    check gives the same verdict and key as in English, a message in Chinese
    (no untranslated path) with the same numbers and formulas."""
    from conftest import variant_namespace
    from nndl.checks import run_in_process

    checks = [c for c in lab.checks() if not c.name.endswith(".accuracy")]

    def judged(language):
        in_language(language)
        out = {}
        for c in checks:
            lab.plug_references(c.question)
            v = run_in_process(c, variant_namespace(path), config.seeds.checks)
            out[c.name] = (v.passed, v.key, v.describe())
        return out

    english, chinese = judged("en"), judged(ZH)
    assert [(n, p, k) for n, (p, k, _) in chinese.items()] == \
        [(n, p, k) for n, (p, k, _) in english.items()]
    failed = [(english[n][2], chinese[n][2]) for n in english if not english[n][0]]
    assert failed
    for en, zh in failed:
        assert CJK.search(zh), zh
        assert sorted(NUMBER.findall(zh)) == sorted(NUMBER.findall(en)), (en, zh)
        assert re.findall(r"`[^`]+`", zh) == re.findall(r"`[^`]+`", en), (en, zh)


def test_the_gradescope_zip_carries_the_compiled_catalogs(lab):
    from autograder.commands.gradescope import package_files

    files = package_files(sorted({"autograder", *lab.local_packages()}))
    assert "nndl/locale/zh_CN/LC_MESSAGES/nndl.mo" in files
    assert "autograder/locale/zh_CN/LC_MESSAGES/autograder.mo" in files


def test_gradescope_results_in_chinese_from_the_isolated_sandbox(tmp_path, gradescope_venv):
    """A zip built with language = "zh-CN": the sandboxed child's messages
    (a stub's StudentError) and the grader's come back in Chinese."""
    import os
    import shutil
    import tempfile

    from conftest import BOOK, class_sources, notebook_from, run_gradescope, unpack, write_notebook

    python, _ = gradescope_venv
    config = tmp_path / "zh.toml"
    config.write_text((ROOT / "autograder" / "grading.toml").read_text()
                      .replace('language = "en"', f'language = "{ZH}"'))
    built = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, str(ROOT / "grade.py"), "gradescope", "--out", str(built),
                    "--config", str(config)], check=True, capture_output=True, timeout=120)
    root = Path(tempfile.mkdtemp(prefix="nndl-gs-zh-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        unpack(built, root / "source")
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        (root / "submission").mkdir()
        (root / "results").mkdir()
        classes = class_sources(BOOK)
        classes["ReLU"] = ("class ReLU(Op):\n    def forward(self, inputs):\n"
                           "        raise NotImplementedError('ReLU.forward')\n")
        write_notebook(notebook_from(classes), root / "submission" / "regularization.ipynb")
        _, data = run_gradescope(root, python)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    relu = [t for t in data["tests"] if t["name"] == "q1_relu.forward"][0]
    assert relu["score"] == 0 and "ReLU.forward 尚未实现" in relu["output"], relu["output"]
    assert data["output"].startswith("**总分：")


def test_the_report_groups_mistakes_by_key_whatever_the_words():
    """Two students with the same mistake, one diagnosed in English and one in
    Chinese (other numbers too), are one row of the report's diagnoses; a
    Chinese stub is counted as a stub."""
    from types import SimpleNamespace

    from autograder.batch.page import Context
    from autograder.batch.report import _diagnoses
    from autograder.results import GradingResult, TestSpec

    spec = TestSpec("q3_l2.gradient_fd", "q3_l2", "gradient", 7.0, False, "visible")
    key = "the l2 gradient is N = %(n)s times too large: add `lambda * W / N`, not `lambda * W`"
    entries = []
    for sid, message in (("ann", "lambda = 0.7: ... - the l2 gradient is N = 12 times too large"),
                         ("wang", "lambda = 0.3：……——ℓ2 正则化项的梯度大了 N = 20 倍")):
        result = GradingResult("s.ipynb", tests=[spec.result(False, message, key=key)])
        entries.append(SimpleNamespace(sid=sid, result=result))
    [section] = _diagnoses(entries, Context())
    assert [row[:3] for row in section["rows"]] == [[2, "q3_l2.gradient_fd", "ann, wang"]]
    stub = spec.result(False, "ReLU.forward 尚未实现", key="%(what)s is not implemented yet")
    [section] = _diagnoses([SimpleNamespace(sid="li", result=GradingResult("s", [stub]))],
                           Context())
    assert section["stub_count"] == 1 and not section["rows"]      # a stub, in any language


def test_late_penalty_and_adjustments_in_chinese():
    """The term's lines for the student (late note, penalty, adjustments, final
    score) in results.json and feedback.html follow the language; the numbers
    are the English ones."""
    from autograder.batch.feedback import render_feedback
    from autograder.config import LateSettings
    from autograder.results import GradingResult
    from autograder.term.late import assess

    late = LateSettings(deadline="2026-12-01T23:59:00+08:00", penalty_per_day=0.1)
    english = assess(late, "2026-12-03T10:00:00+08:00", language="en")
    chinese = assess(late, "2026-12-03T10:00:00+08:00", language=ZH)
    assert english.note == ("Submitted 2 days late (counting each part of a day): 20% of the "
                            "maximum points deducted.")
    assert chinese.note == "迟交 2 天（不足一天按一天计）：扣除满分的 20%。"
    term = {"late": {"note": chinese.note, "points": 20.0}, "final": 43.0, "max": 100.0,
            "adjustments": [{"question": "q1_relu", "change": "+5", "reason": "重新评阅"}]}
    result = GradingResult("bob.ipynb", term=term, language=ZH)
    text = result.term_md()
    assert "迟交扣分：-20 分" in text and "**最终得分：43 / 100**" in text
    assert "助教对 q1_relu 的调整：+5。原因：重新评阅" in text
    page = render_feedback("bob", result)
    assert "迟交扣分与分数调整" in page and "最终得分：43 / 100" in page
