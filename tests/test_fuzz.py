"""Fuzzing the grader with damaged and strange notebooks (hypothesis).

Whatever the file holds -- invalid JSON, any nbformat version, missing keys,
cells of every type with random text, binary garbage, odd Unicode and lone
surrogates, magics, deep nesting, a 50 MB cell, 10 000 cells -- grading
writes a schema-valid results.json, reports no grader failure, and finishes
within the whole-run limit. The cases are graded in-process through one warm
sandbox (the command line itself is checked on a few); the batch gets a zip
bomb among its inputs. The number of cases that ran is printed (``-s``) and
asserted.
"""

import csv
import json
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT

CASES = {"count": 0}
FRAGMENTS = [
    "class ReLU(Op):\n    def forward(self, x):\n        return x\n",
    "class Dropout:\n    pass\n", "import os\n", "from nndl.op import *\n", "%%time\n",
    "%matplotlib inline\n", "!ls -la\n", "x = !ls\n", "ReLU?\n", "def f(:\n", "return 1\n",
    "ReLU.forward = lambda self, x: x * 2\n", "import autograder\n", "yield 3\n",
    "class BatchGD(Optimizer):\n    def step(self):\n        raise SystemExit\n",
    "é = 'ünïcödé'\n", "\ud800 = 1\n", "x = '\udcff'\n", "\x00\x01\x02\n", "    indented\n",
    "global g\n", "async def a():\n    await b\n", "lambda: (yield)\n",
    "(" * 200 + ")" * 200 + "\n", "del ReLU\n", "class ReLU(ReLU):\n    pass\n",
]
code_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=60)),
                     max_size=6).map("".join)
cell = st.fixed_dictionaries(
    {"cell_type": st.sampled_from(["code", "markdown", "raw", "heading", "", None, 3]),
     "source": st.one_of(code_text, st.lists(code_text, max_size=3), st.none(),
                         st.integers(), st.binary(max_size=30).map(lambda b: b.hex()))},
    optional={"metadata": st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
              "outputs": st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                                  max_size=2),
              "execution_count": st.one_of(st.none(), st.integers()),
              "id": st.text(max_size=10)})
notebook_json = st.fixed_dictionaries(
    {}, optional={"cells": st.one_of(st.lists(cell, max_size=6), st.text(max_size=5),
                                     st.none(), st.dictionaries(st.text(max_size=3), cell)),
                  "nbformat": st.one_of(st.integers(-1, 6), st.text(max_size=3), st.none()),
                  "nbformat_minor": st.one_of(st.integers(-1, 10), st.none()),
                  "metadata": st.one_of(st.dictionaries(st.text(max_size=5), st.text(max_size=5),
                                                        max_size=2), st.lists(st.integers()))})
files = st.one_of(
    notebook_json.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    notebook_json.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    notebook_json.map(lambda d: json.dumps(d).encode()[: max(1, len(json.dumps(d)) // 2)]),
)


@pytest.fixture(scope="module")
def fuzz_config(config):
    """Short accuracy runs: the fuzz is about robustness, not about learning."""
    import dataclasses

    return dataclasses.replace(config, accuracy=dataclasses.replace(config.accuracy,
                                                                    iterations=20))


@pytest.fixture(scope="module")
def warm(fuzz_config):
    from autograder.engine import open_sandbox

    with open_sandbox(fuzz_config) as sandbox:
        yield sandbox


def grade_bytes(data, tmp_path, config, warm):
    from autograder.grading import grade_and_write
    from autograder.results import validate

    path, results = tmp_path / "fuzz.ipynb", tmp_path / "results.json"
    path.write_bytes(data)
    results.unlink(missing_ok=True)
    start = time.monotonic()
    result, code = grade_and_write(path, results, config, sandbox=warm)
    elapsed = time.monotonic() - start
    validate(json.loads(results.read_text(encoding="utf-8")))
    assert code == 0 and result.grader_error is None, result.grader_error
    assert elapsed < config.run.total_time_limit
    CASES["count"] += 1
    return result


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=files)
def test_any_file_gets_a_valid_results_file(data, tmp_path, fuzz_config, warm):
    grade_bytes(data, tmp_path, fuzz_config, warm)


@pytest.mark.parametrize("name", ["huge_cell", "many_cells", "deep_json", "deep_code",
                                  "every_type", "surrogates"])
def test_pathological_notebooks(name, tmp_path, fuzz_config, warm):
    nb = nbformat.v4.new_notebook()
    if name == "huge_cell":
        nb.cells = [nbformat.v4.new_code_cell("x = 1\n" + "#" * (50 * 2**20))]
    elif name == "many_cells":
        nb.cells = [nbformat.v4.new_code_cell(f"v{i} = {i}") for i in range(10_000)]
    elif name == "deep_code":
        nb.cells = [nbformat.v4.new_code_cell("x = " + "[" * 5000 + "]" * 5000)]
    elif name == "every_type":
        nb.cells = [nbformat.v4.new_markdown_cell("# hi"), nbformat.v4.new_raw_cell("raw"),
                    nbformat.v4.new_code_cell("%%bash\necho hi"),
                    nbformat.v4.new_code_cell("class ReLU:\n    pass")]
    if name == "deep_json":
        data = b"[" * 200_000 + b"]" * 200_000
    elif name == "surrogates":
        data = ('{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], '
                '"execution_count": null, "source": "x = \\"\\ud800\\"\\nclass ReLU:\\n    '
                'def forward(self, x):\\n        raise ValueError(\\"\\udce9\\")"}], '
                '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}').encode()
    else:
        data = nbformat.writes(nb).encode()
    result = grade_bytes(data, tmp_path, fuzz_config, warm)
    assert result.score == 0


def test_the_command_line_exits_0_on_damaged_files(tmp_path):
    from autograder.results import validate

    for i, data in enumerate([b"\xff\xfe garbage", b'{"cells": 3}', b'{"nbformat": 4}', b"[]",
                              b'{"cells": [{"cell_type": "code", "source": "%%%"}]}']):
        path, results = tmp_path / f"{i}.ipynb", tmp_path / f"{i}.json"
        path.write_bytes(data)
        proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "grade", str(path),
                               "--results", str(results)], capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        validate(json.loads(results.read_text()))
        CASES["count"] += 1


def test_a_zip_bomb_among_the_batch_inputs(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    with zipfile.ZipFile(subs / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("lab.ipynb", "w", force_zip64=True) as f:
            for _ in range(120):
                f.write(b"\0" * 2**20)
    (subs / "garbage.ipynb").write_bytes(b"\x00" * 100)
    proc = subprocess.run([sys.executable, str(ROOT / "grade.py"), "batch", str(subs), "--out",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {row["student_id"]: row for row in csv.DictReader(
        (out / "gradebook.csv").read_text().splitlines())}
    assert rows["bomb"]["status"] == "too_large" and rows["bomb"]["total"] == ""
    assert rows["garbage"]["status"] == "graded"
    CASES["count"] += 2


def test_report_how_many_cases_ran():
    print(f"\nfuzzing: {CASES['count']} damaged or strange inputs graded")
    assert CASES["count"] >= 120
