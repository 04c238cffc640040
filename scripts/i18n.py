"""The message catalogs' tool chain (Babel; developers only, see autograder/catalogs.py).

    python scripts/i18n.py update     extract the messages, write the .pot files, update each .po
    python scripts/i18n.py compile    compile each .po into the .mo the grader and nndl read
    python scripts/i18n.py check      list missing, fuzzy or mismatched translations (exit 1 if any)
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from autograder import catalogs  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.action == "update":
        for domain in catalogs.DOMAINS:
            for path in catalogs.update(domain):
                print(path.relative_to(catalogs.REPO))
    elif args.action == "compile":
        for path in catalogs.compile_all():
            print(path.relative_to(catalogs.REPO))
    else:
        found = [p for d in catalogs.DOMAINS for lang in catalogs.TRANSLATED
                 for p in catalogs.problems(d, lang)]
        print("\n".join(found) or "every message is translated")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
