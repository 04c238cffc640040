"""Local runner: at most ``workers`` jobs at a time, each in its own process
(forked from a forkserver, so a job starts in milliseconds and a crash or a
leak in one grading cannot affect another).

Ctrl-C (KeyboardInterrupt in the batch process) kills the running jobs and
their sandboxes at once; finished jobs were already handed to ``on_done``.
"""

import multiprocessing as mp
import os
import signal
from multiprocessing.connection import wait

from .job import die_with_parent, grader_failure, run_job


def _work(job, conn):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the batch process handles Ctrl-C
    die_with_parent(os.getppid())                    # the forkserver dies with the batch
    conn.send(run_job(job))
    conn.close()


def run_local(jobs, workers, on_done):
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
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
