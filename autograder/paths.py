"""Where the grader's own files are: the repository's root (the folder that
holds ``autograder/``, ``nndl/``, ``assignment/`` and ``examples/``), the one
place that knows how deep this file sits."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent     # autograder/
REPOSITORY = PACKAGE.parent                   # the repository's root
