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
  become ``V``, except dunders and the method names the assignment fixes (``api``: those the
  base code's class defines, e.g. ``forward``/``backward``); method names are kept likewise
  when dunder or fixed, else ``V``;
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
an activation function) can coincide by chance; that is why this only flags.
"""

from __future__ import annotations

import ast
import csv
import io
import textwrap
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .gradebook import csv_cell

K = 6        # k-gram length, in AST tokens (about one short expression)
WINDOW = 2   # winnowing window: every match of >= K + WINDOW - 1 = 7 tokens is detected

# Calibration (K=6, WINDOW=2, the template notebook's classes as base code; the material of
# tests/test_similarity.py; "raw" = the same without a base):
#   * disguised copies of the book's four classes -- renamed locals / arguments, renamed
#     self attributes, reordered methods, comments and docstrings, reformatting, changed
#     strings, and all of these at once (28 copies) -- score 1.00 with the original: the
#     normalization erases every one of these disguises;
#   * one-statement edits of the book (the 22 tests/variants/wrong files) score 0.59-0.90
#     with the book (median 0.74), except two rewrites of the dropout's forward (0.33, 0.00);
#     the official solution's loss and optimizer (a statement or two changed) 0.82 and 0.73;
#   * independently written correct implementations (tests/variants/correct, 10 pairs with
#     each other and with the book) score 0.02-0.14 (raw: 0.02-0.21), the highest being
#     the book's optimizer vs batchgd_inplace_style and its activation vs relu_where.
# 0.5 is far above the independent maximum and still flags copies with a statement or two
# edited (more than half of the non-template fingerprint shared); 1.0 would flag only
# exact normalized copies. (K=5, WINDOW=4 separated worse: independents up to 0.25.)
THRESHOLD = 0.5

BASE_LABEL = "template"
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except IndentationError:                       # a whole cell's source, indented
        return ast.parse(textwrap.dedent(source))


def api(source: str | None) -> frozenset[str]:
    """The method names the classes of ``source`` define (of the base code: the names the
    assignment fixes, which a copier cannot rename); empty if it is None or does not parse."""
    if source is None:
        return frozenset()
    try:
        tree = _parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(item.name for s in tree.body if isinstance(s, ast.ClassDef)
                     for item in s.body
                     if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _is_bare_string(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FIELDS: dict[type, tuple[str, ...]] = {}     # child fields of each node type, but ctx


def _tokens(root: ast.AST, me: str | None, top: set[str], kept,
            name: str | None = None) -> list[str]:
    """The pre-order token sequence of ``root`` (one token per node: its type, plus its
    normalized identifier or constant), in one pass. ``me`` is the method's first argument
    (``self``), ``top`` the module's own function names, ``kept(name)`` whether a method
    or attribute name is kept, ``name`` the name an attached
    function is attached as. Names are resolved at the end, once all the bound ones are known."""
    out: list = []
    bound = set(top)
    stack: list = [root]
    while stack:
        node = stack.pop()
        t = type(node)
        if t is str:                               # a label pushed by the AugAssign rewrite
            out.append(node)
            continue
        if t is ast.Name:
            if not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
            out.append(("Name:", node.id))
            continue
        if t is ast.arg:
            bound.add(node.arg)
            out.append("arg:self" if node.arg == me else "arg:V")
            if node.annotation is not None:
                stack.append(node.annotation)
            continue
        if t is ast.Constant:
            value = node.value
            out.append("Constant:S" if isinstance(value, (str, bytes)) else f"Constant:{value!r}")
            continue
        if t is ast.JoinedStr:                     # an f-string is a string literal too
            out.append("Constant:S")
            continue
        if t is ast.alias or _is_bare_string(node):
            continue
        if t is ast.AugAssign:                     # x op= y  ->  x = x op y
            out.append("Assign")
            stack += (node.value, node.op, node.target, "BinOp", node.target)
            continue
        if t is ast.Attribute:
            on_self = type(node.value) is ast.Name and node.value.id == me
            out.append("Attribute:" + ("V" if on_self and not kept(node.attr) else node.attr))
            stack.append(node.value)
            continue
        label = t.__name__
        if t in _DEFS:
            if node is not root:
                bound.add(node.name)
            own = name if node is root and name else node.name
            label += ":" + (own if kept(own) else "V")
        elif t is ast.keyword:
            label += ":" + str(node.arg)
        elif t is ast.ExceptHandler and node.name:
            bound.add(node.name)
        elif t is ast.Import or t is ast.ImportFrom:
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        out.append(label)
        fields = _FIELDS.get(t)
        if fields is None:
            fields = _FIELDS[t] = tuple(f for f in t._fields if f != "ctx")
        for f in reversed(fields):
            value = getattr(node, f, None)
            if isinstance(value, list):
                stack += [v for v in reversed(value) if isinstance(v, ast.AST)]
            elif isinstance(value, ast.AST):
                stack.append(value)
    return [x if type(x) is str else
            x[0] + ("self" if x[1] == me else "V" if x[1] in bound else x[1]) for x in out]


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


def fingerprint(source: str, api_names: frozenset[str] = frozenset()) -> frozenset[int] | None:
    """Normalized-AST fingerprint of Python source (a class definition, possibly followed by
    statements that attach methods, e.g. ``Cls.backward = f``), as a set of winnowed k-gram
    hashes; None when the source does not parse. ``api_names``: method names kept as they
    are (besides dunders), see ``api``. See the module docstring for the
    normalization. Hashes are CRC-32s of the token text, hence stable across processes
    (not across Python versions whose ``ast`` differs)."""
    try:
        tree = _parse(source)

        def kept(name):
            return name in api_names or (name.startswith("__") and name.endswith("__"))

        top = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        prints = set()
        for name, node, is_method in _units(tree):
            args = node.args.posonlyargs + node.args.args if isinstance(node, _FUNCS) else []
            me = args[0].arg if is_method and args else None
            out = _tokens(node, me, top, kept, name)
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


def _score(a, b, base):
    """``similarity`` of the residues a - base, b - base; of a, b when both residues are empty."""
    ra, rb = a - base, b - base
    return similarity(ra, rb) if ra or rb else similarity(a, b)


def _jaccard_matrix(sets: list[frozenset]) -> np.ndarray:
    """Pairwise ``similarity`` of ``sets``, at once: the intersections are the product of
    the sets' incidence matrix over the hashes that two or more of them share."""
    count = Counter(h for s in sets for h in s)
    column = {h: j for j, h in enumerate(h for h, c in count.items() if c > 1)}
    x = np.zeros((len(sets), len(column)), dtype=np.float32)
    for i, s in enumerate(sets):
        x[i, [column[h] for h in s if h in column]] = 1.0
    common = (x @ x.T).astype(np.float64)       # exact: counts far below 2**24
    size = np.array([len(s) for s in sets], dtype=np.float64)
    union = size[:, None] + size[None, :] - common
    return np.divide(common, union, out=np.zeros_like(union), where=union > 0)


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
    cache: dict[tuple, frozenset | None] = {}

    def fp(src, names):
        if src is None:
            return None
        if (src, names) not in cache:
            cache[src, names] = fingerprint(src, names)
        return cache[src, names]

    classes = list(dict.fromkeys(c for by_cls in sources.values() for c in by_cls))
    pairs, clusters, matrices = [], [], {}
    for cls in classes:
        base_source = known.get(BASE_LABEL, {}).get(cls)
        names = api(base_source)
        ids, prints = [], []
        for sid, by_cls in sources.items():
            p = fp(by_cls.get(cls), names)
            if p is not None:
                ids.append(sid)
                prints.append(p)
        base = fp(base_source, names) or frozenset()
        residues = [p - base for p in prints]
        m = _jaccard_matrix(residues)
        empty = np.array([not r for r in residues], dtype=bool)
        if empty.sum() >= 2:                       # template only on both sides: raw scores
            both = empty[:, None] & empty[None, :]
            m[both] = _jaccard_matrix(prints)[both]
        n = len(ids)
        np.fill_diagonal(m, 1.0)
        parent = list(range(n))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j in zip(*np.nonzero(np.triu(m >= threshold, 1))):
            pairs.append(Pair(ids[i], ids[j], cls, float(m[i, j])))
            parent[root(i)] = root(j)
        matrices[cls] = (ids, m)
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(root(i), []).append(i)
        known_prints = {label: fp(by_cls.get(cls), names) for label, by_cls in known.items()}
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
        writer.writerow([csv_cell(x) for x in ("pair", p.cls, f"{p.score:.3f}", p.student_a,
                                               p.student_b, "", cid,
                                               ";".join(c.matches) if c else "")])
    for cid, c in zip(ids, clusters):
        writer.writerow([csv_cell(x) for x in ("cluster", c.cls, f"{c.score:.3f}", "", "",
                                               ";".join(c.students), cid, ";".join(c.matches))])
    return buf.getvalue()


MAX_TICK_LABELS = 40


def heatmap_png(matrix, students: list[str], cls: str) -> bytes:
    """PNG bytes of a heat map of the pairwise similarity matrix of one class, with the
    student ids on both axes (no tick labels beyond MAX_TICK_LABELS students). Ids in
    any script are drawn (``fonts``: CJK fallbacks, escapes for what no font has)."""
    from .fonts import plotting

    with plotting():
        return _heatmap_png(matrix, students, cls)


def _heatmap_png(matrix, students, cls):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .fonts import drawable

    matrix = np.asarray(matrix, dtype=float)
    n = len(students)
    size = min(4 + 0.18 * n, 20)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="similarity")
    ax.set_title(drawable(f"{cls}: pairwise similarity ({n} students)"))
    if n <= MAX_TICK_LABELS:     # ids may hold lone surrogates (non-UTF-8 file names)
        labels = [drawable(s) for s in students]
        ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
