"""Local runner: at most ``workers`` jobs at a time, each in its own process
(forked from a forkserver, so a job starts in milliseconds and a crash or a
leak in one grading cannot affect another).

Ctrl-C (KeyboardInterrupt in the batch process) kills the running jobs and
their sandboxes at once; finished jobs were already handed to ``on_done``.
"""

import multiprocessing as mp
import os
import signal
from contextlib import contextmanager
from multiprocessing import forkserver
from multiprocessing.connection import wait

from ...sandbox.runner import die_with_parent
from .job import grader_failure, run_job


def _work(job, conn):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the batch process handles Ctrl-C
    die_with_parent(os.getppid())                    # the forkserver dies with the batch
    conn.send(run_job(job))
    conn.close()


@contextmanager
def _signals_held():
    """Hold Ctrl-C and SIGTERM back (they are delivered on exit): an interrupt in
    the middle of starting a process would crash the forkserver noisily, or
    leave a started process unaccounted for."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def run_local(jobs, workers, on_done):
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    forkserver.ensure_running()      # now: it must not inherit a held signal mask
    jobs = iter(jobs)
    running = {}                                     # pipe -> (process, job)
    try:
        while True:
            while len(running) < workers:
                job = next(jobs, None)
                if job is None:
                    break
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_work, args=(job, send), daemon=True,
                                   name=f"grade-{job.sid}")
                with _signals_held():
                    proc.start()
                    send.close()
                    running[recv] = (proc, job)
            if not running:
                return
            for conn in wait(list(running)):
                proc, job = running.pop(conn)
                try:
                    outcome = conn.recv()
                except Exception:  # noqa: BLE001 - EOF: the process died without answering
                    outcome = None
                conn.close()
                proc.join()
                if outcome is None:
                    outcome = grader_failure(job, "the grading process died "
                                                  f"(exit code {proc.exitcode})")
                on_done(job, outcome)
    finally:
        for conn, (proc, _) in running.items():
            proc.kill()
            proc.join()
            conn.close()
