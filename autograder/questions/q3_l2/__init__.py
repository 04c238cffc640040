"""Question q3_l2: grader side in grading.py, sandbox side in reference.py (and probes.py)."""
