"""``python -m autograder.gradescope.selfcheck``: import everything the
grading path imports (grader process and sandbox child), so that a missing
requirement fails ``setup.sh`` instead of every student's grading."""

import importlib
import os
import sys

import jsonschema

from autograder.config import load_config
from autograder.lab import load_lab
from autograder.results import SCHEMA

# grader (parent) side
PARENT = ["autograder.cli", "autograder.engine", "autograder.notebook", "autograder.results",
          "autograder.lab", "autograder.config", "autograder.grading", "autograder.gradescope.run",
          "autograder.gradescope.isolation", "nbformat", "jsonschema", "numpy",
          "IPython.core.inputtransformer2"]


def child_modules(lab):
    """What the sandbox child imports: its preloads, probes and reference classes."""
    spec = lab.sandbox_spec("")
    return (["matplotlib", "autograder.sandbox.child"] + spec["preload"] + spec["probe_modules"]
            + spec["reference_modules"])


def main():
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("GLOG_minloglevel", "2")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    lab = load_lab(load_config())
    failed = []
    for name in PARENT + child_modules(lab):
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - report every missing piece
            failed.append(f"{name}: {type(e).__name__}: {e}")
    if failed:
        print("self-check FAILED:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    print(f"self-check ok: Python {sys.version.split()[0]}, paddle {sys.modules['paddle'].__version__}, "
          f"numpy {sys.modules['numpy'].__version__}, {len(lab.units)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
