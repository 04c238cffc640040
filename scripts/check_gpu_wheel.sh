#!/usr/bin/env bash
# Check the grader with PyPI's GPU wheel (paddlepaddle-gpu 2.6.2, no CPU paddle) on a
# machine WITHOUT a GPU. Not run in CI: it downloads the wheel (~700 MB).
#
#   bash scripts/check_gpu_wheel.sh [VENV]        (default VENV: /opt/venv-gpu26)
#
# Makes the venv if it is missing (paddlepaddle-gpu==2.6.2, then this repository
# editable), and shows, each with its exit status:
#   1. grade.py selftest            exit 0, and says that no GPU is visible (grades on the CPU)
#   2. grade.py batch (auto)        a gradebook whose student_id..total columns equal
#                                   the CPU build's (alice 100, bob 63, carol 0, dave 0,
#                                   erin 81, frank 100)
#   3. grade.py grade --device gpu  exit 2, a results file, a message naming the missing GPU
#   4. the same under strace -f: no process forks after it tried to load libcuda.so
#      (scripts/check_no_fork_after_cuda.py)
# Exits 1 when any of these is not as expected.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-/opt/venv-gpu26}"
PY="$VENV/bin/python"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/nndl-gpu-wheel-XXXXXX")"
EXPECTED="student_id,q1_relu,q2_dropout,q3_l2,q4_weight_decay,total
alice,25,25,25,25,100
bob,4,25,9,25,63
carol,0,0,0,0,0
dave,0,0,0,0,0
erin,25,25,25,6,81
frank,25,25,25,25,100"
failed=0

if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet paddlepaddle-gpu==2.6.2
    "$PY" -m pip install --quiet -e "$ROOT"
fi
if "$PY" -m pip show paddlepaddle >/dev/null 2>&1; then
    echo "$VENV has the CPU paddlepaddle too: use a venv with paddlepaddle-gpu only" >&2
    exit 1
fi
"$PY" -c 'import paddle, sys; print("paddle", paddle.__version__, "CUDA", paddle.version.cuda())' \
    2>/dev/null
cd "$ROOT" || exit 1

expect() {    # expect WHAT WANTED_STATUS GOT_STATUS
    if [ "$2" = "$3" ]; then echo "-- ok: $1 (exit $3)"; else
        echo "-- FAILED: $1 exited $3, expected $2"; failed=1; fi
}

echo "== 1. grade.py selftest"
"$PY" grade.py selftest 2>&1 | grep -v -i "warn" | tee "$OUT/selftest.txt"
expect "selftest" 0 "${PIPESTATUS[0]}"
grep -q "no GPU is visible" "$OUT/selftest.txt" || { echo "-- FAILED: no 'no GPU is visible'"; failed=1; }

echo "== 2. grade.py batch examples/submissions (--device auto)"
"$PY" grade.py batch examples/submissions --out "$OUT/batch" -q
expect "batch" 0 $?
got="$(cut -d, -f1-6 "$OUT/batch/gradebook.csv")"
echo "$got"
[ "$got" = "$EXPECTED" ] || { echo "-- FAILED: the gradebook differs from the CPU build's"; failed=1; }

echo "== 3. grade.py grade alice --device gpu"
"$PY" grade.py grade examples/submissions/alice.ipynb --device gpu --results "$OUT/R.json" \
    >/dev/null 2>"$OUT/gpu.err"
expect "grade --device gpu" 2 $?
grep -v -i warn "$OUT/gpu.err"
[ -s "$OUT/R.json" ] || { echo "-- FAILED: no results file"; failed=1; }
grep -q "no GPU is visible" "$OUT/gpu.err" || { echo "-- FAILED: the message names no missing GPU"; failed=1; }

echo "== 4. strace -f: no fork after trying to load libcuda.so"
if command -v strace >/dev/null 2>&1; then
    strace -f -e trace=process,openat -o "$OUT/trace" "$PY" grade.py grade \
        examples/submissions/alice.ipynb --device gpu --results "$OUT/R2.json" >/dev/null 2>&1
    echo "libcuda.so opens tried: $(grep -c 'libcuda.so' "$OUT/trace")"
    python3 scripts/check_no_fork_after_cuda.py "$OUT/trace"
    expect "no fork after CUDA" 0 $?
else
    echo "-- FAILED: strace is not installed (apt-get install strace)"; failed=1
fi

echo "outputs in $OUT"
exit $failed
