"""Shared fixtures: the variant corpus, notebook builders, a fast config."""

import ast
import dataclasses
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

VARIANTS = ROOT / "tests" / "variants"
BOOK = (VARIANTS / "book.py").read_text()


def class_sources(source):
    """{class name: source} of the top-level classes of a Python source."""
    tree = ast.parse(source)
    return {n.name: ast.get_source_segment(source, n) for n in tree.body
            if isinstance(n, ast.ClassDef)}


IMPORTS = "import paddle\nimport numpy as np\nimport nndl.op as op\nfrom nndl.op import Op, Optimizer"


def notebook_from(classes, extra_cells=(), imports=IMPORTS):
    """A notebook with an import cell and one code cell per class, in the
    assignment's order, plus ``extra_cells`` at the end."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# submission"), nbformat.v4.new_code_cell(imports)]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in classes.values()]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra_cells]
    return nb


def variant_namespace(path=None):
    """The book's classes, with those of the variant at ``path`` replacing them."""
    ns = {"__name__": "__notebook__"}
    exec(BOOK, ns)  # noqa: S102 - fixtures
    if path is not None:
        exec(Path(path).read_text(), ns)  # noqa: S102
    return ns


def variant_docfields(path):
    doc = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    fields = {}
    for line in doc.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


@pytest.fixture(scope="session")
def config():
    from autograder.config import load_config

    return load_config()


@pytest.fixture(scope="session")
def fast_config(config):
    """The default config with short limits, for adversarial end-to-end runs."""
    return dataclasses.replace(config, question_time_limit=20, total_time_limit=200,
                               memory_limit_mb=2048)


SHORT_QUESTION_LIMIT = 10   # seconds; correct questions take ~2 s, a hang costs this much


@pytest.fixture(scope="session")
def short_config(tmp_path_factory):
    """A copy of grading.toml whose question time limit is SHORT_QUESTION_LIMIT."""
    text = (ROOT / "autograder" / "grading.toml").read_text()
    text = text.replace("question_time_limit = 60",
                        f"question_time_limit = {SHORT_QUESTION_LIMIT}")
    assert f"question_time_limit = {SHORT_QUESTION_LIMIT}" in text
    path = tmp_path_factory.mktemp("cfg") / "grading.toml"
    path.write_text(text)
    return path


def write_notebook(nb, path):
    nbformat.write(nb, str(path))
    return path
