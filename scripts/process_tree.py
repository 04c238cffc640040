"""The memory of a process and all its descendants, sampled while it runs
(shared by the benchmark scripts)."""

import os
import subprocess
import time
from pathlib import Path


def tree(root_pid):
    """``root_pid`` and every live descendant."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, stack = [root_pid], [root_pid]
    while stack:
        for c in children.get(stack.pop(), ()):
            out.append(c)
            stack.append(c)
    return out


def rss_pss(pids):
    """Summed resident and proportional set sizes (bytes) of ``pids``: PSS counts
    the pages that forked workers share with their zygote once."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    return rss, pss


def run_sampled(cmd, interval=0.05, **popen):
    """Run ``cmd``; return ``(wall seconds, returncode, peak tree RSS MB, peak tree
    PSS MB, stdout, stderr)``, the tree's memory sampled every ``interval`` s."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = rss_pss(tree(proc.pid))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(interval)
    wall = time.monotonic() - start
    out, err = proc.communicate()
    return wall, proc.returncode, peak_rss / 2**20, peak_pss / 2**20, out, err
