"""Similar answers (``autograder.batch.similarity``): lightly disguised copies
of one answer cluster together, independently written correct answers do not,
known code is marked, and the pieces (CSV, heat map, fingerprints) behave."""

import ast
import csv
import io
import subprocess
import sys

import pytest

from autograder.batch.similarity import (THRESHOLD, compare, fingerprint, heatmap_png,
                                         similarity, to_csv)
from conftest import BOOK, ROOT, VARIANTS, class_sources

BOOKS = class_sources(BOOK)
CLASSES = list(BOOKS)


class _Rename(ast.NodeTransformer):
    """Renames arguments and local variables (not ``self``), and, with
    ``attributes``, the attributes of ``self``."""

    def __init__(self, attributes=False):
        self.attributes = attributes
        self.locals = set()

    def visit_arg(self, node):
        if node.arg != "self":
            node.arg = f"renamed_{node.arg}"
        return node

    def visit_Name(self, node):
        if node.id in self.locals:
            node.id = f"renamed_{node.id}"
        return node

    def visit_FunctionDef(self, node):
        self.locals = {a.arg for a in node.args.args if a.arg != "self"}
        self.locals |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, ast.Store)}
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if self.attributes and isinstance(node.value, ast.Name) and node.value.id == "self" \
                and node.attr not in ("model", "params", "grads", "layers"):
            node.attr = f"my_{node.attr}"
        return node


def disguise(source, how):
    tree = ast.parse(source)
    cls = tree.body[0]
    if how in ("rename", "all"):
        tree = _Rename().visit(tree)
    if how in ("attributes", "all"):
        tree = _Rename(attributes=True).visit(tree)
    if how in ("reorder", "all"):
        cls.body = cls.body[::-1]
    if how in ("strings", "all"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value not in ("W", "b", "float32"):
                node.value = "another message"
    text = ast.unparse(tree) if how != "comments" else source
    if how in ("comments", "all"):
        lines = []
        for line in text.splitlines():
            lines.append(line + "   # my own comment")
            if line.lstrip().startswith("def "):
                indent = " " * (len(line) - len(line.lstrip()) + 4)
                lines.append(f'{indent}"""What this method does, in my words."""')
        text = "\n".join(lines)
    if how in ("format", "all"):
        text = text.replace("(", "(\n        ").replace(", ", ",\n        ") \
            .replace("\n\n", "\n\n\n")
    return text


DISGUISES = ["rename", "attributes", "reorder", "comments", "strings", "format", "all"]


@pytest.mark.parametrize("cls", CLASSES)
def test_disguised_copies_cluster_with_the_original(cls):
    sources = {"original": {cls: BOOKS[cls]}}
    for how in DISGUISES:
        copy = disguise(BOOKS[cls], how)
        compile(copy, "<disguised>", "exec")              # still Python
        sources[f"copy_{how}"] = {cls: copy}
    _, clusters, matrices = compare(sources)
    assert len(clusters) == 1 and set(clusters[0].students) == set(sources), clusters
    ids, matrix = matrices[cls]
    assert matrix.min() >= THRESHOLD


def test_independent_correct_answers_are_not_clustered():
    """Each correct variant of tests/variants/correct against the book's class and
    against each other: none is similar enough to be flagged."""
    sources = {"book": dict(BOOKS)}
    for path in sorted((VARIANTS / "correct").glob("*.py")):
        sources[path.stem] = class_sources(path.read_text())
    pairs, clusters, _ = compare(sources)
    assert pairs == [] and clusters == [], [(p.student_a, p.student_b, p.cls, p.score)
                                            for p in pairs]


STUB = ("class ReLU(Op):\n    def __init__(self):\n        self.inputs = None\n"
        "    def forward(self, inputs):\n        raise NotImplementedError('fill me')\n"
        "    def backward(self, outputs_grads):\n        raise NotImplementedError('fill me')\n")


def test_known_code_is_marked():
    sources = {"a": {"ReLU": BOOKS["ReLU"]}, "b": {"ReLU": disguise(BOOKS["ReLU"], "all")},
               "c": {"ReLU": STUB}, "d": {"ReLU": STUB.replace("fill me", "todo")},
               "e": {"ReLU": class_sources((VARIANTS / "correct" / "relu_where.py")
                                           .read_text())["ReLU"]}}
    known = {"book": {"ReLU": BOOKS["ReLU"]}, "template": {"ReLU": STUB}}
    _, clusters, _ = compare(sources, known)
    by_students = {tuple(sorted(c.students)): c.matches for c in clusters}
    assert by_students == {("a", "b"): ["book"], ("c", "d"): ["template"]}, by_students


def test_missing_and_broken_classes_are_skipped():
    sources = {"a": {"ReLU": BOOKS["ReLU"], "Dropout": None},
               "b": {"ReLU": "class ReLU(:\n  pass"}, "c": {}}
    pairs, clusters, matrices = compare(sources)
    assert pairs == [] and clusters == []
    assert matrices["ReLU"][0] == ["a"]
    assert fingerprint("class ReLU(:") is None


def test_csv_rows_and_formula_guard():
    sources = {"=cmd()": {"ReLU": BOOKS["ReLU"]}, "bob": {"ReLU": BOOKS["ReLU"]}}
    pairs, clusters, _ = compare(sources)
    rows = list(csv.DictReader(io.StringIO(to_csv(pairs, clusters))))
    assert [r["kind"] for r in rows] == ["pair", "cluster"]
    assert rows[0]["student_a"] in ("'=cmd()", "bob") and "'=cmd()" in rows[1]["students"]
    assert float(rows[0]["score"]) == 1.0


def test_heat_map_is_a_png():
    _, _, matrices = compare({"a": {"ReLU": BOOKS["ReLU"]}, "b": {"ReLU": STUB}})
    students, matrix = matrices["ReLU"]
    assert heatmap_png(matrix, students, "ReLU").startswith(b"\x89PNG\r\n\x1a\n")


def test_fingerprints_are_stable_across_processes():
    here = sorted(fingerprint(BOOKS["Dropout"]))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from autograder.batch.similarity import fingerprint; "
            "print(sorted(fingerprint(open(sys.argv[2]).read())))")
    path = ROOT / "tests" / ".similarity-dropout.py"
    path.write_text(BOOKS["Dropout"])
    try:
        out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(path)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    finally:
        path.unlink()
    assert eval(out) == here                              # noqa: S307 - a list of ints
    assert similarity(frozenset(here), frozenset(here)) == 1.0
