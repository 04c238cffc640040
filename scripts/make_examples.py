#!/usr/bin/env python3
"""(Re)build the bundled example submissions in examples/submissions/.

Each is the solution notebook with some edits, as a student would hand in:

- alice.ipynb      correct (the solution)
- bob.ipynb        ReLU.backward ignores the upstream gradient; l2 gradient N times too large
- carol.ipynb      the untouched student template (nothing implemented)
- dave.ipynb       not a notebook (broken JSON)
- erin/erin.ipynb  weight decay scaled by the learning rate, in a per-student folder
- frank.zip        what otter's grader.export() gives: the correct notebook in a zip
"""

import argparse
import shutil
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples" / "submissions"


def edited(replacements):
    nb = nbformat.read(str(ROOT / "solutions" / "regularization.ipynb"), as_version=4)
    for old, new in replacements:
        hits = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert len(hits) == 1, old
        hits[0].source = hits[0].source.replace(old, new)
    return nb


def find_line(fragment):
    nb = nbformat.read(str(ROOT / "solutions" / "regularization.ipynb"), as_version=4)
    for c in nb.cells:
        for line in c.source.splitlines():
            if fragment in line and not line.lstrip().startswith("#"):
                return line.strip()
    raise KeyError(fragment)


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    solution = ROOT / "solutions" / "regularization.ipynb"
    shutil.copy(solution, OUT / "alice.ipynb")
    relu = find_line("return paddle.multiply(outputs_grads, positive)")
    l2 = find_line("self.lambd * layer.params[\"W\"] / self.data_size")
    decay = find_line("(1 - self.weight_decay) * x")
    nbformat.write(edited([(relu, "return positive"),
                           (l2, l2.replace(" / self.data_size", ""))]), str(OUT / "bob.ipynb"))
    shutil.copy(ROOT / "student_template" / "regularization.ipynb", OUT / "carol.ipynb")
    (OUT / "dave.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "oops"')
    (OUT / "erin").mkdir()
    nbformat.write(edited([(decay, decay.replace("(1 - self.weight_decay)",
                                                 "(1 - init_lr * self.weight_decay)"))]),
                   str(OUT / "erin" / "erin.ipynb"))
    with zipfile.ZipFile(OUT / "frank.zip", "w") as z:
        # a fixed timestamp keeps the zip byte-identical from one rebuild to the next
        entry = zipfile.ZipInfo("regularization.ipynb", date_time=(2025, 1, 1, 0, 0, 0))
        z.writestr(entry, solution.read_bytes(), zipfile.ZIP_DEFLATED)
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
