"""``python -m autograder.gradescope.selfcheck``: import everything the
grading path imports (grader process and sandbox child), so that a missing
requirement fails ``setup.sh`` instead of every student's grading."""

import importlib
import sys

# grader (parent) side
PARENT = ["autograder.cli", "autograder.engine", "autograder.extract", "autograder.results",
          "autograder.checks", "autograder.config", "autograder.gradescope.run",
          "autograder.gradescope.isolation", "nbformat", "jsonschema", "numpy",
          "sklearn.datasets"]
# sandbox (child) side: what autograder/sandbox/child.py imports before any request
CHILD = ["matplotlib", "matplotlib.pyplot", "numpy", "paddle", "sklearn.datasets",
         "autograder.probes", "autograder.reference", "nndl.checks.probes", "nndl.op",
         "nndl.data", "nndl.metrics", "nndl.training", "nndl.plot"]


def main():
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("GLOG_minloglevel", "2")
    failed = []
    for name in PARENT + CHILD:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - report every missing piece
            failed.append(f"{name}: {type(e).__name__}: {e}")
    import jsonschema

    from autograder.config import load_config
    from autograder.results import SCHEMA

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    load_config()
    if failed:
        print("self-check FAILED:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    import paddle

    print(f"self-check ok: Python {sys.version.split()[0]}, paddle {paddle.__version__}, "
          f"numpy {sys.modules['numpy'].__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
