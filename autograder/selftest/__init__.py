"""``grade.py selftest [--device cpu|gpu]``: check an installation.

Grades the bundled example class (``examples/submissions``: correct, wrong,
untouched, broken, in a folder, in a zip) in one sandbox on the device asked
for, compares the verdict of every test with the expected one recorded in
``expected.json`` (on the CPU, with ``--record``), and prints the time per
notebook. This is how a GPU grader is validated: a person with CUDA runs it
after installing; it passes on the CPU in CI.

Exit status 0 when every verdict matches, 1 otherwise.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"
EXPECTED = Path(__file__).with_name("expected.json")


def main(device=None, config=None, record=False, quiet=False):
    """Grade the examples on ``device``; compare with (or, with ``record``,
    write) the expected verdicts."""
    from ..engine import GraderError

    try:
        return _selftest(device, config, record, quiet)
    except GraderError as e:
        print(f"selftest FAILED: {e}", file=sys.stderr)
        return 2


def _selftest(device, config, record, quiet):
    from ..batch.discover import SubmissionError, discover
    from ..config import load_config
    from ..engine import grade_notebook, open_sandbox

    cfg = load_config(config)
    expected = {} if record else json.loads(EXPECTED.read_text(encoding="utf-8"))
    subs, _ = discover(EXAMPLES, expected=cfg.lab.notebook)
    got, mismatches, unrecorded = {}, [], set()
    with open_sandbox(cfg, device=device) as sandbox, \
            tempfile.TemporaryDirectory(prefix="nndl-selftest-") as tmp:
        print(f"selftest on {sandbox.device} (paddle {sandbox.info.get('paddle')}), "
              f"{len(subs)} example submissions")
        if sandbox.preflight_report is not None and not sandbox.device_note:
            print(sandbox.preflight_report.message())
        for sub in subs:
            if not sub.ok:
                continue
            try:
                path = Path(tmp) / f"{sub.sid}.ipynb"
                path.write_bytes(sub.read())
            except SubmissionError:
                continue
            start = time.monotonic()
            result = grade_notebook(path, cfg, sandbox=sandbox)
            elapsed = time.monotonic() - start
            verdicts = got[sub.sid] = {t.name: t.passed for t in result.tests}
            recorded = expected.get(sub.sid, {})        # {} when recording
            wrong = [name for name, passed in verdicts.items()
                     if recorded.get(name, passed) != passed]
            missing = set(recorded) - set(verdicts)
            new = [] if record else sorted(set(verdicts) - set(recorded))
            unrecorded.update(new)
            mismatches += [f"{sub.sid}: {name}" for name in wrong + sorted(missing)]
            state = "MISMATCH" if wrong or missing else "NOT RECORDED" if new else "ok"
            if not quiet:
                print(f"  {sub.sid:<10} {result.score:>5g} / {result.max_score:g}  "
                      f"{elapsed:5.1f} s  {state}", flush=True)
    if record:
        EXPECTED.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded the verdicts of {len(got)} notebooks in {EXPECTED}")
        return 0
    mismatches += [f"{sid}: not graded" for sid in sorted(set(expected) - set(got))]
    if mismatches:
        print("selftest FAILED, verdicts differ from the expected ones:\n  "
              + "\n  ".join(mismatches), file=sys.stderr)
        return 1
    if unrecorded:
        print(f"selftest FAILED: no expected verdicts for {', '.join(sorted(unrecorded))} "
              "(a new check or question?). Check the examples' grades on a trusted CPU "
              "installation, then record them with `grade.py selftest --record`.",
              file=sys.stderr)
        return 1
    print(f"selftest ok: {len(got)} notebooks, every verdict as expected")
    return 0
