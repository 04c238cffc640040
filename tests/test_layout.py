"""The package's layers, read from its source with ``ast``: the module-level
imports of ``autograder/`` form no cycle, and no core module imports a
command (``autograder.commands`` and ``autograder.cli`` sit on top)."""

import ast
from pathlib import Path

import autograder

PACKAGE = Path(autograder.__file__).resolve().parent
TOP = {"autograder.cli", "autograder.commands"}       # the commands' layer


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _module_level_imports(path, name, known):
    """The package's modules that ``path`` (module ``name``) imports when it is
    itself imported: imports outside functions and classes' methods."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def _graph():
    modules = _modules()
    return {name: _module_level_imports(path, name, modules) for name, path in modules.items()}


def _is_command(name):
    return any(name == top or name.startswith(top + ".") for top in TOP)


def test_the_graph_is_read():
    """Guards the test itself: known edges are seen."""
    graph = _graph()
    assert "autograder.engine" in graph["autograder.grading"]
    assert "autograder.commands.grade" in graph["autograder.cli"]
    assert "autograder.batch.discover" in graph["autograder.commands.grade"]


def test_no_import_cycle():
    graph = _graph()
    done, path = set(), []

    def walk(node):
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph[node]):
            walk(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        walk(node)


def test_no_core_module_imports_a_command():
    graph = _graph()
    edges = sorted(f"{a} -> {b}" for a, targets in graph.items() if not _is_command(a)
                   for b in targets if _is_command(b))
    assert edges == []


def test_every_command_has_a_main():
    from autograder.cli import COMMANDS

    assert all(callable(module.main) for module in COMMANDS.values())
    assert {m.__name__.rpartition(".")[0] for m in COMMANDS.values()} == {"autograder.commands"}


def test_exit_statuses_are_defined_once():
    """The exit statuses live in autograder/errors.py only: no other module of the
    package spells the interrupted status (130)."""
    import re

    from autograder.errors import ExitCode

    assert (ExitCode.OK, ExitCode.USAGE, ExitCode.GRADER, ExitCode.INTERRUPTED) == (0, 2, 2, 130)
    spelled = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if re.search(r"\b130\b", p.read_text(encoding="utf-8")))
    assert spelled == ["errors.py"]


def test_instructor_mistakes_and_grader_faults_have_one_base_each():
    from autograder.config import ConfigError
    from autograder.engine import GraderError
    from autograder.errors import GraderFault, InstructorError
    from autograder.gradescope.isolation import IsolationError
    from autograder.lab import LabError
    from autograder.sandbox.runner import SandboxError
    from autograder.term import TermError

    assert all(issubclass(e, InstructorError) for e in (ConfigError, LabError, TermError))
    assert all(issubclass(e, GraderFault) for e in (GraderError, SandboxError, IsolationError))


def test_one_rule_one_place():
    """The repository's root is autograder/paths.py's; the "_ means private"
    input rule, the near-threshold re-run loop and "module:attr" resolving are
    nndl.checks.core's (Check.probe_inputs, Check.rerun_if_near) and pkgutil's."""
    import re

    sources = {str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8")
               for p in PACKAGE.rglob("*.py")}
    rules = {"the root": r"__file__\)\.resolve\(\)\.parents\[",
             "private keys": r"""startswith\(["']_["']\)\}""",
             "re-run loop": r"verdict\.near and \w+\.rerun",
             "module:attr": r"getattr\(importlib\.import_module\("}
    found = {rule: sorted(name for name, text in sources.items() if re.search(pattern, text))
             for rule, pattern in rules.items()}
    assert found == {rule: [] for rule in rules}


def test_the_sandbox_outcomes_are_spelled_in_the_protocol_only():
    """The outcome vocabulary of a sandbox worker is autograder/sandbox/protocol.py's
    Outcome: no other module spells its words as strings."""
    import re

    from autograder.sandbox.protocol import Outcome, marked_statement, statement_mark

    words = ("exited", "statement_timeout", "disk_limit")
    spelled = sorted(f"{p.relative_to(PACKAGE)}: {w}" for p in PACKAGE.rglob("*.py")
                     for w in words if p.name != "protocol.py"
                     and re.search(rf"""["']{w}["']""", p.read_text(encoding="utf-8")))
    assert spelled == []
    assert {o.value for o in Outcome} >= set(words) and Outcome.of("nonsense") is None
    assert marked_statement(statement_mark(12)) == 12
    assert [marked_statement(m) for m in ("s 013x", "p", "s ", "x")] == [None] * 4


def test_the_product_names_no_path_under_tests():
    """Nothing under autograder/ (code, config, templates, data) names a path in
    the repository's tests/ folder: what calibrate and the known code need is
    package data (autograder/variants/). Otter's test folders of the built
    notebooks (student_template/tests, solutions/tests) are another thing."""
    import re

    named = sorted(f"{p.relative_to(PACKAGE)}: {m.group(0)}" for p in PACKAGE.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                   for m in re.finditer(r"(?<![\w./-])tests/[\w./]*",
                                        p.read_text(encoding="utf-8", errors="replace")))
    assert named == []
    from autograder.config import load_config
    from autograder.paths import REPOSITORY

    known = load_config().lab.known_code
    assert all((REPOSITORY / path).is_file() for path in known.values())


MAX_FUNCTION_IMPORTS = 10     # the bound: the import graph must show the design


def _function_imports():
    """(file, line, statement) of every import inside a function under autograder/."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()

        def visit(node, inside):
            for child in ast.iter_child_nodes(node):
                if inside and isinstance(child, (ast.Import, ast.ImportFrom)):
                    found.append((path, child.lineno, lines))
                visit(child, inside or isinstance(child, (ast.FunctionDef,
                                                           ast.AsyncFunctionDef)))

        visit(ast.parse(text), False)
    return found


def test_few_imports_inside_functions_each_saying_why():
    found = _function_imports()
    where = [f"{p.relative_to(PACKAGE)}:{n}" for p, n, _ in found]
    assert len(found) <= MAX_FUNCTION_IMPORTS, where
    unexplained = [f"{p.relative_to(PACKAGE)}:{n}" for p, n, lines in found
                   if "#" not in lines[n - 1] and not lines[n - 2].strip().startswith("#")]
    assert unexplained == []


def test_no_heavy_or_optional_dependency_on_the_command_line_or_gradescope():
    """Importing the command line (every command) or Gradescope's entry loads no
    paddle (the processes that fork), no matplotlib, Jinja2 or Dask."""
    import subprocess
    import sys

    code = ("import sys, autograder.cli, autograder.gradescope.run; print(sorted(m for m in "
            "('paddle', 'matplotlib', 'jinja2', 'markupsafe', 'distributed', 'dask') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_imports_on_gradescopes_image():
    """Gradescope's setup.sh runs grade.py selftest with only the bundle's
    requirements (autograder/gradescope/templates/requirements.txt): no tqdm,
    Jinja2, Dask or Babel. Importing the command line must not need them."""
    import subprocess
    import sys

    code = ("import sys\nfor m in ('tqdm', 'jinja2', 'markupsafe', 'distributed', 'dask', "
            "'babel'):\n    sys.modules[m] = None\nimport autograder.cli\nprint('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr


def _status_words_in_code(path, words):
    """The status words ``path`` spells as string constants in its code (not in
    docstrings, nor as a mapping's key: a results field named like a status)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))                           # a docstring
        if isinstance(node, ast.Dict):
            skip.update(id(k) for k in node.keys if k is not None)  # {"field": ...}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args:
            skip.add(id(node.args[0]))                            # record.get("field")
        if isinstance(node, ast.Subscript):
            skip.add(id(node.slice))                              # record["field"]
        if isinstance(node, ast.Set):
            skip.update(id(e) for e in node.elts)                 # a set of field names
    return sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and n.value in words and id(n) not in skip})


def test_the_gradebook_statuses_are_spelled_in_the_protocol_only():
    """A student's gradebook status ("graded", "missing", "bad_zip", ...) is
    autograder/sandbox/protocol.py's Status: no other module of the package
    spells one as a string in its code ("ok", a word of every kind of text, is
    left out: discovery's Status.OK)."""
    from autograder.sandbox.protocol import Status

    words = {s.value for s in Status} - {Status.OK.value}
    spelled = {str(p.relative_to(PACKAGE)): found for p in sorted(PACKAGE.rglob("*.py"))
               if p.name != "protocol.py" and (found := _status_words_in_code(p, words))}
    assert spelled == {}
    assert f"{Status.GRADED}" == str(Status.GRADED) == "graded"
    assert {"graded": 1}[Status.GRADED] == 1 and Status("bad_zip") is Status.BAD_ZIP


def test_the_status_check_sees_a_spelled_status(tmp_path):
    """Guards the test above: a status in code is seen; in a docstring or as a field name not."""
    module = tmp_path / "m.py"
    module.write_text('"""graded"""\nx = {"graded": 1}.get("missing")\nif y == "bad_zip":\n'
                      '    pass\n')
    assert _status_words_in_code(module, {"graded", "missing", "bad_zip"}) == ["bad_zip"]


def test_the_sandbox_messages_are_typed_and_a_report_is_read_defensively():
    """The runner's Request crosses JSON unchanged; the zygote's Report (it runs
    next to student code) keeps only well-typed fields, else is a lost worker."""
    import json

    from autograder.sandbox.protocol import Outcome, ProbeRequest, Report, Request

    request = Request("q1", 1.5, 3.0, 2.0, "cpu", "/s", statements=[{"index": 0}],
                      checks=[ProbeRequest("q1.a", "m:f", "i.npz", "o.npz", "s.json")])
    assert Request.from_json(json.loads(json.dumps(request.to_json()))) == request
    good = Report(Outcome.SIGNAL.value, code=9, elapsed=1.0, cpu=0.5, mark="s 3", setup="ready")
    assert Report.from_json(json.loads(json.dumps(good.to_json()))) == good
    forged = Report.from_json({"outcome": "pwned", "code": "9", "elapsed": -1, "cpu": True,
                               "mark": ["s 1"], "setup": 3, "extra": 1})
    assert forged == Report.lost() and forged.ended is Outcome.LOST
    assert Report.from_json("not a dict") == Report.lost()
    assert Report.from_json({"outcome": "exited", "code": 0}).ended is Outcome.EXITED
