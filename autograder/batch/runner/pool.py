"""Local runner: at most ``workers`` gradings at a time, each worker a
long-lived process (forked from a forkserver) that keeps one warm sandbox --
paddle imported once -- for all the submissions it grades; every question of
every submission still runs in a worker forked fresh from that sandbox's
zygote, which never runs student code, and each grading starts by clearing
the sandbox's folders (``Sandbox.reset``), so nothing of one submission is
visible to the next. The workers' temporary folders (a warm sandbox's work
folder, a notebook's copy) are made in one temporary folder of the batch
process, removed when the batch ends however its workers end (a worker killed
mid-grading cannot remove its own), once every process under them is gone.

A worker that dies (a grader crash) costs only the submission it was
grading, which gets a grader-error result, and is replaced. Ctrl-C
(KeyboardInterrupt in the batch process) kills the workers and their
sandboxes at once; finished jobs were already handed to ``on_done``.
"""

import multiprocessing as mp
import os
import signal
import tempfile
from contextlib import contextmanager
from itertools import islice
from multiprocessing import forkserver
from multiprocessing.connection import wait

from ...sandbox.processes import die_with_parent, kill_tree
from .job import grader_failure, run_job


def _serve(conn, workdirs):
    """A worker: grade the jobs received on ``conn`` until it is closed (its
    warm sandbox's work folder in ``workdirs``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the batch process handles Ctrl-C
    die_with_parent(os.getppid())                    # the forkserver dies with the batch
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        conn.send(run_job(job, warm=True, under=workdirs))


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


class _Worker:
    def __init__(self, ctx, workdirs):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, workdirs), daemon=True,
                                name="grader")
        with _signals_held():
            self.proc.start()
            child.close()
        self.job = None

    def give(self, job):
        self.job = job
        self.conn.send(job)

    def stop(self):
        """Kill the worker with its sandbox (zygote and question workers), and
        wait until they are gone, so that their folders can be removed."""
        kill_tree(self.proc.pid)
        self.proc.join()
        self.conn.close()


def run_local(jobs, workers, on_done):
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    forkserver.ensure_running()      # now: it must not inherit a held signal mask
    jobs = iter(jobs)
    idle, busy = [], {}                               # busy: connection -> worker
    workdirs = tempfile.TemporaryDirectory(prefix="nndl-batch-sandboxes-",
                                           ignore_cleanup_errors=True)
    try:
        while True:
            for job in islice(jobs, workers - len(busy)):
                worker = idle.pop() if idle else _Worker(ctx, workdirs.name)
                worker.give(job)
                busy[worker.conn] = worker
            if not busy:
                return
            for conn in wait(list(busy)):
                worker = busy.pop(conn)
                try:
                    outcome = conn.recv()
                except Exception:  # noqa: BLE001 - EOF: the worker died without answering
                    worker.stop()
                    outcome = grader_failure(worker.job, "the grading process died "
                                                         f"(exit code {worker.proc.exitcode})")
                else:
                    idle.append(worker)
                on_done(worker.job, outcome)
    finally:
        for worker in idle + list(busy.values()):
            worker.stop()
        workdirs.cleanup()
