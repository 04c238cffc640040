"""Dask runner: the same per-submission jobs (``job.run_job``, each worker
thread keeping a warm sandbox) submitted to a
Dask distributed scheduler. Workers need this repository importable (start
them from its root, or with it on PYTHONPATH) and paddle installed; one
thread per worker process is best (a grading uses one core).

At most a few jobs per worker thread are submitted ahead, so the notebooks of
a large class are not all held in memory at once.
"""

import uuid
from itertools import islice

from .job import grader_failure, run_job


def run_dask(jobs, address, on_done):
    # optional dependency (the [dask] extra): only a batch with --scheduler needs it
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        window = max(4, 2 * sum(client.nthreads().values()))
        jobs = iter(jobs)
        running = {}                                 # future -> job
        done = as_completed(loop=client.loop)

        def submit_more():
            for job in islice(jobs, window - len(running)):
                future = client.submit(run_job, job, True,
                                       key=f"grade-{job.sid}-{uuid.uuid4().hex}")
                running[future] = job
                done.add(future)

        submit_more()
        try:
            for future in done:
                job = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as e:  # noqa: BLE001 - lost worker, cancelled task...
                    outcome = grader_failure(job, f"the Dask task failed: {type(e).__name__}: {e}")
                on_done(job, outcome)
                submit_more()
        finally:
            client.cancel(list(running))
