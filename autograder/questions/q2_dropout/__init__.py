"""Question q2_dropout: grader side in grading.py, sandbox side in reference.py (and probes.py)."""
