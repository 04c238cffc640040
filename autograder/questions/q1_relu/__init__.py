"""Question q1_relu: grader side in grading.py, sandbox side in reference.py (and probes.py)."""
