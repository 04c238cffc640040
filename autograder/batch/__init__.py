"""The machinery of batch grading (the command is :mod:`autograder.commands.batch`).

One isolated grading per submission (``runner.job``), run in a local process
pool (``runner.pool``) or on a Dask cluster (``runner.cluster``); each result
is saved as soon as it is done (``store``). ``discover`` finds the
submissions (``lms``: an LMS's download), ``gradebook`` and ``report`` write
the class's files, ``similarity`` finds similar answers, ``feedback`` and
``page`` the students' pages. See docs/batch.md.
"""
