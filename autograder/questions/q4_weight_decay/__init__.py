"""Question q4_weight_decay: grader side in grading.py, sandbox side in reference.py (and probes.py)."""
