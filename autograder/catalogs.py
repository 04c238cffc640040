"""The message catalogs (gettext ``.po`` files, compiled to ``.mo``) of what
students read, and the Babel tool chain that keeps them: extract the messages
from the code and the notebook, update each language's ``.po``, check it,
compile it. For developers and tests only (``pip install -e ".[i18n]"``):
at run time the grader and the students' ``nndl`` read the compiled ``.mo``
files with the standard library's :mod:`gettext`.

Three domains, one ``.pot`` template and one ``.po`` per language each::

    nndl        nndl/locale/             the self-checks' titles and diagnoses
                                         (shipped to students inside nndl/)
    autograder  autograder/locale/       results.json, feedback.html, the engine's,
                                         the sandbox's and the hidden checks' messages
    notebook    assignment/locale/       the notebook's markdown cells, keyed by their
                                         English text (read by ``grade.py build``)

``python scripts/i18n.py update`` after changing a message; translate the new
or fuzzy entries of each ``.po``; ``python scripts/i18n.py compile``.
``test_i18n.py`` fails while an entry is missing, fuzzy, has other
placeholders than its English, or a ``.mo`` is older than its ``.po``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .paths import REPOSITORY

REPO = REPOSITORY
TRANSLATED = ("zh-CN",)            # languages with catalogs (English is the source)
# The marking functions (nndl.i18n, autograder.i18n): keyword -> the message arguments.
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "nsay": (1, 2)}
COPYRIGHT = "the nndl-regularization autograder"


@dataclass(frozen=True)
class Domain:
    name: str
    folder: str                    # relative to the repository: where locale/ is
    sources: tuple = ()            # Babel method map: (glob, extractor)

    @property
    def locale_dir(self) -> Path:
        return REPO / self.folder / "locale"

    def template(self) -> Path:
        return self.locale_dir / f"{self.name}.pot"

    def po(self, language) -> Path:
        return self.locale_dir / language.replace("-", "_") / "LC_MESSAGES" / f"{self.name}.po"

    def mo(self, language) -> Path:
        return self.po(language).with_suffix(".mo")


DOMAINS = (
    Domain("nndl", "nndl", (("**.py", "python"),)),
    Domain("autograder", "autograder", (("**.py", "python"),
                                        ("**/templates/**.j2", "jinja2.ext:babel_extract"))),
    Domain("notebook", "assignment"),
)
NOTEBOOKS = ("student_template/regularization.ipynb", "solutions/regularization.ipynb")


def _babel():
    try:
        # Babel is optional (the [i18n] extra): only the catalogs' tool chain needs it
        from babel.messages import catalog, extract, mofile, pofile
    except ImportError:
        raise SystemExit("the catalogs need Babel: pip install -e \".[i18n]\"") from None
    return catalog, pofile, mofile, extract.extract_from_dir


def markdown_cells(paths=None):
    """The text of every markdown cell of the built English notebooks (the
    master's and those otter adds), in order, each once: the notebook's msgids."""
    seen = {}
    for rel in paths or NOTEBOOKS:
        nb = nbformat.read(str(REPO / rel), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.source.strip():
                seen.setdefault(cell.source, rel)
    return list(seen)


def extract(domain: Domain):
    """The domain's messages as a Babel catalog (the ``.pot``)."""
    catalog, _, _, extract_from_dir = _babel()

    template = catalog.Catalog(project="nndl-regularization", copyright_holder=COPYRIGHT,
                               fuzzy=False)
    if domain.name == "notebook":
        for text in markdown_cells():
            template.add(text, flags=("markdown",))
        return template
    folder = REPO / domain.folder
    for filename, lineno, message, comments, context in extract_from_dir(
            folder, domain.sources, keywords=KEYWORDS, strip_comment_tags=True):
        if "/locale/" in f"/{filename}":
            continue
        template.add(message, locations=[(f"{domain.folder}/{filename}", lineno)],
                     auto_comments=comments, context=context)
    return template


def read_po(path, language=None):
    _, pofile, _, _ = _babel()
    with open(path, "rb") as f:
        return pofile.read_po(f, locale=language.replace("-", "_") if language else None)


def write_po(catalog_, path):
    _, pofile, _, _ = _babel()
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    # file names without line numbers: moving code does not touch the catalogs
    pofile.write_po(buf, catalog_, width=100, sort_output=False, include_previous=True,
                    include_lineno=False)
    path.write_bytes(buf.getvalue())


def update(domain: Domain) -> list[Path]:
    """Write the domain's ``.pot``, and update each language's ``.po`` from it
    (new messages empty, changed ones fuzzy, removed ones kept as obsolete)."""
    catalog, _, _, _ = _babel()
    template = extract(domain)
    written = []
    if not (domain.template().exists() and
            _entries(read_po(domain.template())) == _entries(template)):
        write_po(template, domain.template())        # (not just a new creation date)
        written.append(domain.template())
    for language in TRANSLATED:
        path = domain.po(language)
        if path.exists():
            po = read_po(path, language)
        else:
            po = catalog.Catalog(locale=language.replace("-", "_"), project="nndl-regularization",
                                 copyright_holder=COPYRIGHT, fuzzy=False)
        po.update(template, update_creation_date=False)
        write_po(po, path)
        written.append(path)
    return written


def _entries(catalog_):
    return [(m.id, m.context, sorted({path for path, _ in m.locations}), sorted(m.flags),
             m.auto_comments) for m in catalog_ if m.id]


def compile_mo(domain: Domain, language) -> bytes:
    """The ``.mo`` bytes of the language's ``.po`` (fuzzy entries left out)."""
    _, _, mofile, _ = _babel()
    buf = io.BytesIO()
    mofile.write_mo(buf, read_po(domain.po(language), language), use_fuzzy=False)
    return buf.getvalue()


def compile_all() -> list[Path]:
    written = []
    for domain in DOMAINS:
        for language in TRANSLATED:
            domain.mo(language).write_bytes(compile_mo(domain, language))
            written.append(domain.mo(language))
    return written


PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]?\d*(?:\.\d+)?[diouxXeEfFgGcrs]|%%")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
CODE = re.compile(r"`[^`\n]+`")
HEADING = re.compile(r"^(#+) ", re.M)


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def problems(domain: Domain, language, po=None) -> list[str]:
    """What is wrong with the language's catalog of ``domain``: a message of
    the code (or notebook) without a translation, a fuzzy one, other
    placeholders than the English (python-format), other formulas, code spans
    or headings (the notebook), an obsolete ``.mo``. ``po``: the catalog to
    check instead of the ``.po`` file (its ``.mo`` is then not compared)."""
    found = []
    compiled = po is None
    po = read_po(domain.po(language), language) if po is None else po
    where = domain.po(language).relative_to(REPO)
    for message in extract(domain):
        if not message.id:
            continue
        entry = po.get(message.id, context=message.context)
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        label = f"{where}: {ids[0][:70]!r}"
        if entry is None:
            found.append(f"{label}: not in the catalog (run scripts/i18n.py update)")
            continue
        strings = entry.string if isinstance(entry.string, (list, tuple)) else (entry.string,)
        if entry.fuzzy:
            found.append(f"{label}: fuzzy")
        if not all(s.strip() for s in strings):
            found.append(f"{label}: not translated")
            continue
        if domain.name == "notebook":
            for name, pattern in (("formulas", MATH), ("code spans", CODE)):
                if sorted(pattern.findall(ids[0])) != sorted(pattern.findall(strings[0])):
                    found.append(f"{label}: its {name} differ from the English")
            if HEADING.findall(ids[0]) != HEADING.findall(strings[0]):
                found.append(f"{label}: its headings differ from the English")
            continue
        for s in strings:
            if placeholders(s) != placeholders(ids[0]):
                found.append(f"{label}: placeholders {placeholders(s)} differ from the "
                             f"English {placeholders(ids[0])}")
    mo = domain.mo(language)
    if compiled and (not mo.is_file() or mo.read_bytes() != compile_mo(domain, language)):
        found.append(f"{mo.relative_to(REPO)} is not the compiled .po "
                     "(run scripts/i18n.py compile)")
    return found
