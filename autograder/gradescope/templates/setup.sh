#!/usr/bin/env bash
# Gradescope runs this once, as root, from /autograder/source, when it builds
# the autograder image (base image: Ubuntu 22.04, Python 3.10).
#
#   bash setup.sh            everything: python3/pip if missing, requirements,
#                            self-check, the unprivileged sandbox user, then
#                            `grade.py selftest` (grades the bundled examples)
#   bash setup.sh install    only the pip install and the self-check (tests use
#                            this with NNDL_PYTHON=/some/venv/bin/python)
#
# Python packages come from PyPI with pip only (no conda/mamba, nothing else
# downloaded). apt-get is used only to bootstrap python3/pip when missing.
set -euo pipefail
umask 022    # installed packages must be readable by the sandbox user

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${NNDL_PYTHON:-python3}"
SANDBOX_USER="${NNDL_SANDBOX_USER:-nndl-sandbox}"
STEP="${1:-all}"

bootstrap_python() {
    if "$PY" -m pip --version >/dev/null 2>&1; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$PY" = python3 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends python3 python3-pip
    else
        echo "setup.sh: $PY has no pip" >&2
        exit 1
    fi
}

install_requirements() {
    local extra=()
    # a newer image's system Python may be "externally managed" (PEP 668); this
    # image exists only to grade, so install into it anyway
    if "$PY" -c 'import os, sys, sysconfig; sys.exit(not (sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))' 2>/dev/null; then
        extra+=(--break-system-packages)
    fi
    "$PY" -m pip install --no-cache-dir --disable-pip-version-check \
        --no-input --progress-bar off "${extra[@]}" -r "$HERE/requirements.txt"
}

self_check() {
    # Imports everything the grader and its sandbox import; fails on a missing package.
    (cd "$HERE" && PYTHONDONTWRITEBYTECODE=1 "$PY" -m autograder.gradescope.selfcheck)
}

create_sandbox_user() {
    if [ "$(id -u)" = 0 ] && ! id -u "$SANDBOX_USER" >/dev/null 2>&1; then
        if command -v useradd >/dev/null 2>&1; then
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$SANDBOX_USER" \
                || echo "setup.sh: could not create $SANDBOX_USER; nobody will be used" >&2
        fi
    fi
}

selftest() {
    # Grades the bundled example class (examples/submissions) and compares every
    # verdict with the recorded one: a broken image (paddle, the sandbox, the
    # GPU preflight with --device gpu) fails here, at build time, not on the students.
    (cd "$HERE" && PYTHONDONTWRITEBYTECODE=1 "$PY" grade.py selftest)
}

case "$STEP" in
    all)
        bootstrap_python
        install_requirements
        self_check
        create_sandbox_user
        selftest
        ;;
    install)
        install_requirements
        self_check
        ;;
    *)
        echo "usage: setup.sh [all|install]" >&2
        exit 1
        ;;
esac
echo "setup.sh: done ($STEP)"
