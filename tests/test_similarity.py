"""Code-similarity flags (autograder/batch/similarity.py): disguised copies cluster with
their original, independent implementations do not, known sources are recognized, and the
outputs (CSV, heat map, fingerprints) are well-formed and stable. No paddle needed."""

import ast
import csv
import io
import itertools
import json
import os
import subprocess
import sys
import textwrap
import tokenize

import pytest
from conftest import BOOK, ROOT, VARIANTS, class_sources

from autograder.batch.similarity import (THRESHOLD, Cluster, Pair, api, compare, fingerprint,
                                         heatmap_png, similarity, to_csv)

BOOK_CLASSES = class_sources(BOOK)
CLASSES = list(BOOK_CLASSES)   # ReLU, Dropout, BinaryCrossEntropyWithLogits, BatchGD


def _notebook_classes(path):
    nb = json.loads(path.read_text())
    found = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            found.update(class_sources("".join(cell["source"])))
    return {c: found[c] for c in CLASSES}


TEMPLATE = _notebook_classes(ROOT / "student_template" / "regularization.ipynb")
SOLUTION = _notebook_classes(ROOT / "solutions" / "regularization.ipynb")
KNOWN = {"book": BOOK_CLASSES, "template": TEMPLATE}


def _variant_classes(kind):
    """{class: {variant stem: source}} of autograder/variants/<kind>/."""
    out = {}
    for path in sorted((VARIANTS / kind).glob("*.py")):
        for cls, src in class_sources(path.read_text()).items():
            out.setdefault(cls, {})[path.stem] = src
    return out


CORRECT = _variant_classes("correct")
WRONG = _variant_classes("wrong")


# -- disguises: text transformations of one class's source, each keeping it valid Python --
def _edit_tokens(src, edit):
    """Apply ``edit(tokens, i) -> replacement text or None`` to the tokens of ``src``,
    keeping every other character (formatting, comments) as it was."""
    toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    lines = src.splitlines(keepends=True)
    for i in reversed(range(len(toks))):
        new = edit(toks, i)
        if new is not None:
            (r1, c1), (r2, c2) = toks[i].start, toks[i].end
            assert r1 == r2, "single-line tokens only"
            lines[r1 - 1] = lines[r1 - 1][:c1] + new + lines[r1 - 1][c2:]
    return "".join(lines)


def _methods(src):
    return [n for n in ast.parse(src).body[0].body if isinstance(n, ast.FunctionDef)]


def rename_locals(src, tag="v"):
    """Rename every argument (but self) and every local variable of every method."""
    names = set()
    for fn in _methods(src):
        names.update(a.arg for a in fn.args.args[1:])
        names.update(n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store))
    mapping = {n: f"{tag}{i}_{n[:2]}" for i, n in enumerate(sorted(names))}

    def edit(toks, i):   # not attribute names, not keyword-argument names
        t = toks[i]
        before = [x for x in toks[:i] if x.type not in (tokenize.NL, tokenize.COMMENT)]
        prev = before[-1].string if before else ""
        nxt = toks[i + 1].string if i + 1 < len(toks) else ""
        in_call = sum({"(": 1, ")": -1}.get(x.string, 0) for x in toks[:i]) > 0
        if t.type == tokenize.NAME and t.string in mapping and prev != "." and \
                not (in_call and nxt == "=" and prev in ("(", ",")):
            return mapping[t.string]
        return None
    return _edit_tokens(src, edit)


def rename_attributes(src, tag="_a"):
    """Rename every attribute the class stores on self (self.x = ...)."""
    stored = {n.attr for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Attribute)
              and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)
              and n.value.id == "self"}
    mapping = {a: f"{tag}{i}{a[:3]}" for i, a in enumerate(sorted(stored))}

    def edit(toks, i):
        if (i >= 2 and toks[i].string in mapping and toks[i - 1].string == "."
                and toks[i - 2].string == "self"):
            return mapping[toks[i].string]
        return None
    return _edit_tokens(src, edit)


def reorder_methods(src):
    """The class's methods in reverse order."""
    lines = src.splitlines(keepends=True)
    body = ast.parse(src).body[0].body
    head = "".join(lines[:body[0].lineno - 1])
    parts = ["".join(lines[n.lineno - 1:n.end_lineno]) for n in body]
    parts = [p if p.endswith("\n") else p + "\n" for p in parts]
    return head + "".join(reversed(parts))


def add_comments(src):
    """Docstrings after every def/class line, a comment before every def and at the end of
    every line."""
    lines = src.splitlines()
    out = []
    for k, line in enumerate(lines):
        stripped = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        if stripped.startswith("def "):
            out.append(f"{indent}# the {stripped[4:stripped.index('(')]} method")
        out.append(line + ("  # see the course notes" if stripped else ""))
        if stripped.startswith(("def ", "class ")) and stripped.endswith(":"):
            nxt = next(x for x in lines[k + 1:] if x.strip())
            inner = nxt[:len(nxt) - len(nxt.lstrip())]
            out.append(f'{inner}"""What this does, in my own words."""')
    return "\n".join(out) + "\n"


def reformat(src):
    """Two-space indentation, a blank line before every def, a line break after every comma
    inside brackets and spaces inside the brackets."""
    lines = []
    for line in src.splitlines():
        spaces = len(line) - len(line.lstrip(" "))
        if line.lstrip().startswith("def "):
            lines.append("")
        lines.append(" " * (spaces // 2) + line.lstrip(" "))
    src = "\n".join(lines) + "\n"

    def edit(toks, i):
        t = toks[i]
        depth = sum({"(": 1, "[": 1, ")": -1, "]": -1}.get(x.string, 0) for x in toks[:i])
        if t.type == tokenize.OP and t.string == "," and depth > 0:
            return ",\n" + " " * 16
        if t.type == tokenize.OP and t.string in "([":
            return t.string + " "
        return None
    return _edit_tokens(src, edit)


def change_strings(src):
    """Every string literal changed: messages reworded, the others with the other quotes."""
    def edit(toks, i):
        t = toks[i]
        if t.type != tokenize.STRING or t.string.startswith(('"""', "'''")):
            return None
        if t.string[:2].lower() in ("f'", 'f"'):
            return '"a reworded message"'
        value = ast.literal_eval(t.string)
        return json.dumps(f"error: {value[::-1]}!" if " " in value else value)
    return _edit_tokens(src, edit)


DISGUISES = {"locals": rename_locals, "attributes": rename_attributes,
             "reordered": reorder_methods, "comments": add_comments, "reformatted": reformat,
             "strings": change_strings}


def all_disguises(src, tag="v"):
    return reformat(add_comments(change_strings(reorder_methods(
        rename_attributes(rename_locals(src, tag), "_" + tag)))))


def disguised_copies(src):
    copies = {name: f(src) for name, f in DISGUISES.items()}
    copies["all"] = all_disguises(src)
    return copies


# -- 1. lightly disguised copies cluster with their original ------------------------------
@pytest.mark.parametrize("cls", CLASSES)
def test_disguises_are_real_and_valid(cls):
    src = BOOK_CLASSES[cls]
    for name, copy in disguised_copies(src).items():
        assert ast.parse(copy), name
        if name != "strings":     # the book's only strings are 'float32' and 'W'
            assert copy != src, name
    if any(isinstance(n, ast.Name) for n in ast.walk(ast.parse(src))):
        assert ast.dump(ast.parse(rename_locals(src))) != ast.dump(ast.parse(src))
    assert ast.dump(ast.parse(rename_attributes(src))) != ast.dump(ast.parse(src))


@pytest.mark.parametrize("cls", CLASSES)
def test_disguised_copies_cluster_with_the_original(cls):
    src = BOOK_CLASSES[cls]
    copies = disguised_copies(src)
    sources = {"original": {cls: src}}
    sources.update({f"copy_{name}": {cls: c} for name, c in copies.items()})
    honest = {f"honest_{stem}": {cls: s} for stem, s in CORRECT.get(cls, {}).items()}
    sources.update(honest)
    pairs, clusters, matrices = compare(sources, KNOWN)
    assert [c.cls for c in clusters] == [cls]
    assert set(clusters[0].students) == {"original", *(f"copy_{n}" for n in copies)}
    assert clusters[0].matches == ["book"]
    # Every disguise is erased by the normalization: the copies score exactly 1.
    assert clusters[0].score == pytest.approx(1.0)
    assert all(p.score == pytest.approx(1.0) for p in pairs)
    ids, m = matrices[cls]
    assert ids == list(sources) and m.shape == (len(ids), len(ids))
    for name, copy in copies.items():
        assert similarity(fingerprint(src), fingerprint(copy)) == pytest.approx(1.0), name


def test_changed_error_messages_and_fstrings():
    """A message reworded, or an f-string turned into a plain string, changes nothing."""
    src = BOOK_CLASSES["Dropout"].replace(
        "        self.mask = None\n",
        "        if not 0 <= drop_rate < 1:\n"
        "            raise ValueError(f'drop_rate must be in [0, 1), got {drop_rate}')\n"
        "        self.mask = None\n", 1)
    copy = src.replace("f'drop_rate must be in [0, 1), got {drop_rate}'",
                       '"invalid dropout probability"')
    assert copy != src
    assert similarity(fingerprint(src), fingerprint(copy)) == 1.0
    assert similarity(fingerprint(src), fingerprint(change_strings(src))) == 1.0


def test_methods_attached_after_the_class_count_as_methods():
    src = BOOK_CLASSES["ReLU"]
    tree = ast.parse(src)
    backward = tree.body[0].body[-1]
    lines = src.splitlines(keepends=True)
    inner = textwrap.dedent("".join(lines[backward.lineno - 1:backward.end_lineno]))
    attached = ("".join(lines[:backward.lineno - 1]) + "\n\n" +
                inner.replace("def backward(", "def relu_grad(") +
                "\n\nReLU.backward = relu_grad\n")
    assert "class ReLU" in attached and ast.parse(attached)
    assert similarity(fingerprint(src), fingerprint(attached)) == 1.0


# -- 2. independent correct implementations are not clustered ------------------------------
# Pairs of independent implementations expected to be equal after normalization: none.
# Each correct variant differs from the book and from the others in its computation, not in
# its names (paddle.where vs paddle.multiply for ReLU, paddle.bernoulli / numpy masks for
# Dropout, softplus or an elementwise sum instead of matmul for the loss, params.items()
# for BatchGD); the highest pair, book vs relu_where, shares only `self.inputs = inputs`
# and the method headers.
EXPECTED_EQUAL: set[frozenset[str]] = set()


@pytest.mark.parametrize("known", [KNOWN, None], ids=["template-as-base", "raw"])
def test_independent_implementations_are_not_clustered(known):
    scores = {}
    for cls in CLASSES:
        sources = {"book": {cls: BOOK_CLASSES[cls]}}
        sources.update({stem: {cls: s} for stem, s in CORRECT.get(cls, {}).items()})
        pairs, clusters, matrices = compare(sources, known)
        assert {frozenset((p.student_a, p.student_b)) for p in pairs} == EXPECTED_EQUAL
        assert clusters == []
        ids, m = matrices[cls]
        for i, j in itertools.combinations(range(len(ids)), 2):
            scores[(cls, ids[i], ids[j])] = m[i, j]
    assert len(scores) == 10
    assert max(scores.values()) < THRESHOLD - 0.25   # a wide margin, see THRESHOLD


# One-line edits of the book (autograder/variants/wrong) are still copies of it, except two
# rewrites of Dropout.forward: dropout_identity (forward returns inputs, backward
# outputs_grad) and dropout_fixed_mask (a new mask computation, half of forward).
REWRITES = {"dropout_identity", "dropout_fixed_mask"}


def test_one_statement_edits_of_the_book_still_match_it():
    below = set()
    for cls, variants in WRONG.items():
        sources = {stem: {cls: s} for stem, s in variants.items()}
        _, clusters, matrices = compare(sources, KNOWN)
        for cluster in clusters:
            assert cluster.matches == ["book"]
        names = api(TEMPLATE[cls])
        book = fingerprint(BOOK_CLASSES[cls], names)
        base = fingerprint(TEMPLATE[cls], names)
        for stem, s in variants.items():
            if similarity(fingerprint(s, names) - base, book - base) < THRESHOLD:
                below.add(stem)
    assert below == REWRITES


# -- 3. known sources ---------------------------------------------------------------------
def _stub_copies(stub):
    no_docstrings = ast.unparse(_strip_docstrings(ast.parse(stub)))
    return {"stub": stub, "stub_nodoc": no_docstrings, "stub_msgs": change_strings(stub)}


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and len(node.body) > 1 and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            node.body = node.body[1:]
    return tree


@pytest.mark.parametrize("cls", CLASSES)
def test_known_sources_book_and_template(cls):
    book = BOOK_CLASSES[cls]
    sources = {"copier1": {cls: book}, "copier2": {cls: all_disguises(book, "w")},
               "copier3": {cls: add_comments(rename_locals(book, "z"))}}
    sources.update({name: {cls: s} for name, s in _stub_copies(TEMPLATE[cls]).items()})
    sources.update({f"honest_{stem}": {cls: s} for stem, s in CORRECT.get(cls, {}).items()})
    _, clusters, _ = compare(sources, KNOWN)
    found = {frozenset(c.students): c.matches for c in clusters}
    assert found == {frozenset({"copier1", "copier2", "copier3"}): ["book"],
                     frozenset({"stub", "stub_nodoc", "stub_msgs"}): ["template"]}


# The official solution rewrote ReLU and Dropout (paddle.cast with the input's dtype, the
# mask drawn differently), so a copy of the book does not match it there; its loss and
# BatchGD are the book's with a statement or two changed, so they match both.
SOLUTION_MATCHES = {"ReLU": ["book"], "Dropout": ["book"],
                    "BinaryCrossEntropyWithLogits": ["book", "solution"],
                    "BatchGD": ["book", "solution"]}


def test_book_copies_and_the_official_solution():
    known = {"book": BOOK_CLASSES, "solution": SOLUTION, "template": TEMPLATE}
    sources = {f"s{i}": {c: rename_locals(BOOK_CLASSES[c], f"t{i}") for c in CLASSES}
               for i in range(3)}
    _, clusters, _ = compare(sources, known)
    assert {c.cls: c.matches for c in clusters} == SOLUTION_MATCHES
    assert all(len(c.students) == 3 for c in clusters)


# -- 4. missing and broken sources ------------------------------------------------------
def test_missing_and_unparseable_sources_are_skipped():
    relu = BOOK_CLASSES["ReLU"]
    sources = {
        "a": {"ReLU": relu, "Dropout": None},
        "b": {"ReLU": rename_locals(relu), "Dropout": BOOK_CLASSES["Dropout"]},
        "c": {"ReLU": "class ReLU(Op:\n    def forward(self", "Dropout": "x = \x00"},
        "d": {},
        "e": {"ReLU": "", "Dropout": ""},
        "f": {"ReLU": "", "Dropout": "   "},
    }
    assert fingerprint(sources["c"]["ReLU"]) is None
    assert fingerprint(sources["c"]["Dropout"]) is None
    pairs, clusters, matrices = compare(sources, KNOWN)
    assert [(p.student_a, p.student_b, p.cls) for p in pairs] == [("a", "b", "ReLU")]
    assert [(c.cls, c.students, c.matches) for c in clusters] == [("ReLU", ["a", "b"], ["book"])]
    assert matrices["ReLU"][0] == ["a", "b", "e", "f"]
    assert matrices["Dropout"][0] == ["b", "e", "f"]
    assert compare({}) == ([], [], {})


def test_source_indented_as_in_a_cell_still_parses():
    src = BOOK_CLASSES["BatchGD"]
    assert fingerprint(textwrap.indent(src, "    ")) == fingerprint(src)


# -- 5. CSV -------------------------------------------------------------------------------
def test_csv_parses_and_guards_formulas():
    relu = BOOK_CLASSES["ReLU"]
    sources = {"=cmd()": {"ReLU": relu}, "+1": {"ReLU": add_comments(relu)},
               "ok": {"ReLU": reformat(relu)}, "other": {"ReLU": CORRECT["ReLU"]["relu_where"]}}
    pairs, clusters, _ = compare(sources, KNOWN)
    rows = list(csv.DictReader(io.StringIO(to_csv(pairs, clusters))))
    assert [r["kind"] for r in rows] == ["pair"] * 3 + ["cluster"]
    assert {r["student_a"] for r in rows[:3]} | {r["student_b"] for r in rows[:3]} == \
        {"'=cmd()", "'+1", "ok"}
    assert rows[-1]["students"] == "'=cmd();+1;ok"
    assert {r["cluster"] for r in rows} == {"ReLU-1"}
    assert all(r["matches"] == "book" and float(r["score"]) == 1.0 for r in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_csv_by_hand():
    text = to_csv([Pair("@a", "-b", "ReLU", 0.75)],
                  [Cluster("ReLU", ["@a", "-b"], 0.75, ["book", "template"])])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["pair", "ReLU", "0.750", "'@a", "'-b", "", "ReLU-1", "book;template"]
    assert rows[2] == ["cluster", "ReLU", "0.750", "", "", "'@a;-b", "ReLU-1", "book;template"]


# -- 6. heat map --------------------------------------------------------------------------
def test_heatmap_png():
    sources = {f"s{i}": {"ReLU": rename_locals(BOOK_CLASSES["ReLU"], f"q{i}")} for i in range(3)}
    sources["x"] = {"ReLU": CORRECT["ReLU"]["relu_where"]}
    _, _, matrices = compare(sources)
    ids, m = matrices["ReLU"]
    png = heatmap_png(m, ids, "ReLU")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    many = [f"student{i}" for i in range(45)]
    import numpy as np

    assert heatmap_png(np.eye(45), many, "ReLU").startswith(b"\x89PNG\r\n\x1a\n")
    # an id from a file name that is not UTF-8 holds a lone surrogate
    assert heatmap_png(m[:2, :2], ["caf\udce9", "b"], "ReLU").startswith(b"\x89PNG")


# -- 7. stable across processes ---------------------------------------------------------
def test_fingerprints_are_stable_across_processes():
    src = all_disguises(BOOK_CLASSES["BinaryCrossEntropyWithLogits"])
    code = ("import sys, json; from autograder.batch.similarity import fingerprint; "
            "print(json.dumps(sorted(fingerprint(sys.stdin.read()))))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    proc = subprocess.run([sys.executable, "-c", code], input=src, capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60, check=True)
    assert json.loads(proc.stdout) == sorted(fingerprint(src))
    assert len(fingerprint(src)) > 20


def test_method_names_the_template_fixes_are_kept_others_are_renamed():
    """The assignment's API (the method names the base code's class defines) is kept: a copy
    that renames a helper method still matches, one whose graded method has another name is
    a different program."""
    assert api(TEMPLATE["ReLU"]) == {"__init__", "forward", "backward"}
    assert api(None) == frozenset() and api("def (") == frozenset()
    names = api(TEMPLATE["ReLU"])
    src = BOOK_CLASSES["ReLU"]
    helper = src + "\n    def helper_one(self, x):\n        return x * 2\n"
    renamed = helper.replace("helper_one", "other_name")
    assert fingerprint(helper, names) == fingerprint(renamed, names)
    moved = src.replace("def backward", "def backward_pass")
    assert fingerprint(moved, names) != fingerprint(src, names)
    assert fingerprint(moved) == fingerprint(src)       # without an API every name is V
