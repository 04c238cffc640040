"""Run student code in a child process and get plain arrays back.

:mod:`.runner` (parent side) starts :mod:`.child`, a "zygote" process that
imports paddle once and forks one worker per question. Only the worker ever
executes student code.
"""
