"""Code-similarity flags for academic integrity (flags only, never penalties).

For each graded class of the lab, every student's source of that class is reduced to a
fingerprint -- a set of winnowed k-gram hashes (Schleimer, Wilkerson & Aiken, "Winnowing:
local algorithms for document fingerprinting", SIGMOD 2003) of a normalized AST token
sequence -- and every pair of students is scored by the Jaccard index of their fingerprints.
Pairs at or above ``THRESHOLD`` are reported, their connected components (single linkage)
become clusters, and each cluster is marked with the known sources (the book's code, the
official solution, the template's stub) that one of its members matches.

Normalization, so that light disguises do not change the fingerprint:

* comments and formatting vanish with ``ast``; docstrings and any other bare string
  statement are dropped; ``x op= y`` is read as ``x = x op y``;
* names bound inside a function (arguments, assignment / loop / comprehension / ``with`` /
  ``except`` targets, nested definitions) become ``V``, and so do functions defined at top
  level and class-body assignments; free names (builtins, ``paddle``, ``np``, ``op``,
  ``Op``, the class's own name) are kept, as are attribute names on anything but ``self``
  (``layer.params``, ``paddle.multiply``: the framework's API, which a copier cannot rename);
* the first argument of a method is ``self`` whatever it is called; attributes of ``self``
  become ``V``, except dunders and the graded method names in ``KEPT_NAMES``; method names
  are kept likewise when dunder or graded, else ``V``;
* string literals become ``S``; numbers are kept (``1.`` and ``1.0`` are the same constant);
* each method is fingerprinted on its own and the sets are united, so the order of the
  methods does not matter; a top-level function attached by ``Cls.name = function`` counts
  as the method ``name``. Other top-level statements (imports, test calls, prints) are ignored.

Base code (Moss's ``-b``): the known source labelled ``BASE_LABEL`` ("template") is the code
handed to every student. Its hashes are removed from both sides before two fingerprints are
scored in ``compare``, so that the given ``__init__``s and the given half of the loss do not
make honest students look alike. Two students who both left nothing but template code (empty
residues) are scored on their full fingerprints, so that stub-leavers still cluster together
and with the template. Caveat: very short answers (a line or two beyond the template, as for
``ReLU``) can coincide by chance; that is why this only flags.
"""

from __future__ import annotations

import ast
import csv
import io
import textwrap
import zlib
from dataclasses import dataclass, field

import numpy as np

K = 6        # k-gram length, in AST tokens (about one short expression)
WINDOW = 2   # winnowing window: every match of >= K + WINDOW - 1 = 7 tokens is detected

# Calibration (tests/test_similarity.py, K=5, WINDOW=4, template as base code; see the
# report in the module's tests for the exact figures):
#   * disguised copies of the book's four classes (renamed locals / arguments / self
#     attributes, reordered methods, comments and docstrings, reformatting, changed
#     strings, and all of these at once) score 1.00 with the original: every one of these
#     disguises is erased by the normalization;
#   * the one-line-edit "wrong" variants of the book (tests/variants/wrong) still score
#     0.45-1.00 with the book (median ~0.8), and the official solution's lightly rewritten
#     BatchGD 0.71;
#   * independently written correct implementations (tests/variants/correct), against each
#     other and against the book, score 0.00-0.21 (raw, without the base: at most 0.34).
# 0.5 sits well above the independent maximum and still catches copies with a statement or
# two edited; at 1.0 only exact normalized copies would be reported.
THRESHOLD = 0.5

BASE_LABEL = "template"
KEPT_NAMES = frozenset({"__init__", "__call__", "forward", "backward", "step",
                        "gradient_descent"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _kept(name: str) -> bool:
    return name in KEPT_NAMES or (name.startswith("__") and name.endswith("__"))


def _bound(node: ast.AST) -> set[str]:
    """Names bound inside ``node`` (a function, or a list of class-body statements)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
            names.add(n.name)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
    return names


def _is_bare_string(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _tokens(node, local, me, out, name=None):
    """Append the pre-order token sequence of ``node`` to ``out`` (one token per node:
    its type, plus its normalized identifier or constant). ``me`` is the method's first
    argument (``self``); ``name`` overrides the name of an attached function."""
    if isinstance(node, (ast.expr_context, ast.alias)) or _is_bare_string(node):
        return
    if isinstance(node, ast.JoinedStr):       # an f-string is a string literal too
        out.append("Constant:S")
        return
    if isinstance(node, ast.AugAssign):       # x op= y  ->  x = x op y
        node = ast.Assign(targets=[node.target],
                          value=ast.BinOp(left=node.target, op=node.op, right=node.value))
    label = type(node).__name__
    if isinstance(node, ast.Name):
        label += ":" + ("self" if node.id == me else "V" if node.id in local else node.id)
    elif isinstance(node, ast.Attribute):
        on_self = isinstance(node.value, ast.Name) and node.value.id == me
        label += ":" + ("V" if on_self and not _kept(node.attr) else node.attr)
    elif isinstance(node, ast.Constant):
        label += ":" + ("S" if isinstance(node.value, (str, bytes)) else repr(node.value))
    elif isinstance(node, ast.arg):
        label += ":" + ("self" if node.arg == me else "V")
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        label += ":" + (name if name and _kept(name) else node.name if _kept(node.name) else "V")
    elif isinstance(node, ast.keyword):
        label += ":" + str(node.arg)
    out.append(label)
    for child in ast.iter_child_nodes(node):
        _tokens(child, local, me, out)


def _units(tree: ast.Module):
    """(name, node, is_method) of every fingerprinted unit of a module: each method of each
    class, each top-level function (under the method name it is attached as, if any), and
    the non-method statements of each class body."""
    classes = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}
    attached = {}
    for s in tree.body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1:
            t = s.targets[0]
            if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                    and t.value.id in classes):
                if isinstance(s.value, ast.Name):
                    attached[s.value.id] = t.attr
                elif isinstance(s.value, ast.Lambda):
                    yield t.attr, s.value, True
    for s in tree.body:
        if isinstance(s, ast.ClassDef):
            rest = []
            for item in s.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield item.name, item, True
                elif not _is_bare_string(item):
                    rest.append(item)
            if rest:
                yield None, ast.Module(body=rest, type_ignores=[]), False
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield attached.get(s.name), s, s.name in attached


def _winnow(tokens: list[str]) -> set[int]:
    """Winnowed hashes of the K-grams of ``tokens`` (the minimum of every WINDOW
    consecutive k-gram hashes; a sequence shorter than K is one k-gram)."""
    grams = [tokens[i:i + K] for i in range(max(1, len(tokens) - K + 1))]
    hashes = [zlib.crc32("\x1f".join(g).encode()) for g in grams]
    return {min(hashes[i:i + WINDOW]) for i in range(max(1, len(hashes) - WINDOW + 1))}


def fingerprint(source: str) -> frozenset[int] | None:
    """Normalized-AST fingerprint of Python source (a class definition, possibly followed by
    statements that attach methods, e.g. ``ReLU.backward = f``), as a set of winnowed k-gram
    hashes; None when the source does not parse. See the module docstring for the
    normalization. Hashes are CRC-32s of the token text, hence stable across processes
    (not across Python versions whose ``ast`` differs)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
        top = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        prints = set()
        for name, node, is_method in _units(tree):
            args = node.args.posonlyargs + node.args.args if isinstance(node, _FUNCS) else []
            me = args[0].arg if is_method and args else None
            out = []
            _tokens(node, _bound(node) | top, me, out, name)
            if out:
                prints |= _winnow(out)
        return frozenset(prints)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def similarity(a: frozenset, b: frozenset) -> float:
    """Jaccard index |a & b| / |a | b| of two fingerprints, in [0, 1]; 0 if both are empty."""
    if not a and not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def _score(a, b, base, ra=None, rb=None):
    """``similarity`` of the residues a - base, b - base; of a, b when both residues are empty."""
    ra = a - base if ra is None else ra
    rb = b - base if rb is None else rb
    return similarity(ra, rb) if ra or rb else similarity(a, b)


@dataclass
class Pair:
    student_a: str
    student_b: str
    cls: str
    score: float


@dataclass
class Cluster:
    """Students linked by pairs >= threshold (single linkage). ``score`` is the lowest
    similarity between any two members (the weakest link, possibly below the threshold when
    the cluster is a chain); ``matches`` the known sources' labels one member matches."""
    cls: str
    students: list[str]
    score: float
    matches: list[str] = field(default_factory=list)


def compare(sources: dict[str, dict[str, str | None]],
            known: dict[str, dict[str, str]] | None = None,
            threshold: float = THRESHOLD):
    """Compare every two students on every class.

    ``sources``: {student_id: {class_name: source, or None when the class is missing}};
    ``known``: {label: {class_name: source}}, e.g. "book", "solution", "template" (the
    latter is also the base code, see the module docstring). Missing classes and sources
    that do not parse are skipped. Returns ``(pairs, clusters, matrices)``: the pairs
    >= threshold sorted by class then score (descending); the clusters of >= 2 students, by
    class then size (descending); and ``{class: (student_ids, matrix)}``, the symmetric
    pairwise score matrix (numpy, 1 on the diagonal) over the students whose class was
    fingerprinted, in the order of ``sources``.
    """
    known = known or {}
    cache: dict[str, frozenset | None] = {}

    def fp(src):
        if src is None:
            return None
        if src not in cache:
            cache[src] = fingerprint(src)
        return cache[src]

    classes = list(dict.fromkeys(c for by_cls in sources.values() for c in by_cls))
    pairs, clusters, matrices = [], [], {}
    for cls in classes:
        ids, prints = [], []
        for sid, by_cls in sources.items():
            p = fp(by_cls.get(cls))
            if p is not None:
                ids.append(sid)
                prints.append(p)
        base = fp(known.get(BASE_LABEL, {}).get(cls)) or frozenset()
        residues = [p - base for p in prints]
        n = len(ids)
        m = np.eye(n)
        parent = list(range(n))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(n):
            for j in range(i + 1, n):
                s = _score(prints[i], prints[j], base, residues[i], residues[j])
                m[i, j] = m[j, i] = s
                if s >= threshold:
                    pairs.append(Pair(ids[i], ids[j], cls, s))
                    parent[root(i)] = root(j)
        matrices[cls] = (ids, m)
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(root(i), []).append(i)
        known_prints = {label: fp(by_cls.get(cls)) for label, by_cls in known.items()}
        found = []
        for members in groups.values():
            if len(members) < 2:
                continue
            matches = [label for label, kp in known_prints.items() if kp is not None and
                       any(_score(prints[i], kp, base) >= threshold for i in members)]
            low = float(m[np.ix_(members, members)].min())
            found.append(Cluster(cls, [ids[i] for i in members], low, matches))
        clusters += sorted(found, key=lambda c: (-len(c.students), -c.score, c.students))
    pairs.sort(key=lambda p: (p.cls, -p.score, p.student_a, p.student_b))
    clusters.sort(key=lambda c: c.cls)   # stable: keeps the size order within a class
    return pairs, clusters, matrices


def _cell(value) -> str:
    """A CSV text cell that spreadsheets will not run as a formula."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


CSV_COLUMNS = ["kind", "class", "score", "student_a", "student_b", "students", "cluster",
               "matches"]


def to_csv(pairs: list[Pair], clusters: list[Cluster]) -> str:
    """CSV text for OUT/similarity.csv, columns ``CSV_COLUMNS``: one ``pair`` row per pair
    (student_a, student_b, the id and matches of its cluster), then one ``cluster`` row per
    cluster (students joined by ';'). Cluster ids are ``<class>-<n>``, numbered from 1 in the
    order of ``clusters`` within each class; matches are joined by ';'. Cells that a
    spreadsheet would read as a formula are prefixed with a quote."""
    ids, count = [], {}
    for c in clusters:
        count[c.cls] = count.get(c.cls, 0) + 1
        ids.append(f"{c.cls}-{count[c.cls]}")
    where = {(c.cls, s): (cid, c) for cid, c in zip(ids, clusters) for s in c.students}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for p in pairs:
        cid, c = where.get((p.cls, p.student_a), ("", None))
        writer.writerow([_cell(x) for x in ("pair", p.cls, f"{p.score:.3f}", p.student_a,
                                            p.student_b, "", cid,
                                            ";".join(c.matches) if c else "")])
    for cid, c in zip(ids, clusters):
        writer.writerow([_cell(x) for x in ("cluster", c.cls, f"{c.score:.3f}", "", "",
                                            ";".join(c.students), cid, ";".join(c.matches))])
    return buf.getvalue()


MAX_TICK_LABELS = 40


def heatmap_png(matrix, students: list[str], cls: str) -> bytes:
    """PNG bytes of a heat map of the pairwise similarity matrix of one class, with the
    student ids on both axes (no tick labels beyond MAX_TICK_LABELS students)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix, dtype=float)
    n = len(students)
    size = min(4 + 0.18 * n, 20)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="similarity")
    ax.set_title(f"{cls}: pairwise similarity ({n} students)")
    if n <= MAX_TICK_LABELS:
        ax.set_xticks(range(n), [str(s) for s in students], rotation=90, fontsize=7)
        ax.set_yticks(range(n), [str(s) for s in students], fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
