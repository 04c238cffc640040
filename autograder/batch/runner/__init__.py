"""Where the per-submission jobs run: a local process pool (``pool``) or a
Dask cluster (``cluster``). Both call ``job.run_job`` once per submission and
hand each outcome to a callback in the batch process, as soon as it is done."""
