"""Line counts of the grader's code (``autograder/`` + ``nndl/``) at git revisions.

    python scripts/line_counts.py 45e9f65 HEAD      # before / after
    python scripts/line_counts.py --by-folder HEAD  # where the code lines are

For each revision: all lines of the ``.py`` files, and their code lines (not
blank, not a comment line, not a docstring). ``WORKTREE`` counts the files on disk.
"""

import argparse
import ast
import io
import subprocess
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("autograder", "nndl")
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def count(source):
    """``(lines, code lines)`` of Python ``source``."""
    lines = source.splitlines()
    skip = {i for i, line in enumerate(lines, 1) if not line.strip()}
    try:
        for node in ast.walk(ast.parse(source)):
            body = getattr(node, "body", None)
            if isinstance(node, DOCUMENTED) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                skip.update(range(body[0].lineno, body[0].end_lineno + 1))
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and lines[tok.start[0] - 1].lstrip().startswith("#"):
                skip.add(tok.start[0])
    except (SyntaxError, tokenize.TokenError):
        pass
    return len(lines), len(lines) - len(skip)


def files(rev):
    """{path: source} of the ``.py`` files of TREES at ``rev`` (or on disk)."""
    if rev == "WORKTREE":
        return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
                for tree in TREES for p in sorted((ROOT / tree).rglob("*.py"))
                if "__pycache__" not in p.parts}
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, *TREES], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{rev}:{n}"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
            for n in names if n.endswith(".py")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revs", nargs="*", default=["HEAD"], help="git revisions or WORKTREE")
    parser.add_argument("--by-folder", action="store_true", help="code lines per folder")
    args = parser.parse_args()
    print(f"{'revision':>10} {'lines':>6} {'code':>6}")
    for rev in args.revs:
        totals, folders = Counter(), Counter()
        for path, source in files(rev).items():
            lines, code = count(source)
            totals["lines"] += lines
            totals["code"] += code
            folders["/".join(path.split("/")[:2])] += code
        print(f"{rev:>10} {totals['lines']:6d} {totals['code']:6d}")
        if args.by_folder:
            for folder, code in folders.most_common():
                print(f"{'':>10} {code:6d}  {folder}")


if __name__ == "__main__":
    main()
