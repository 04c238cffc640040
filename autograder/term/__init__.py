"""The instructor's term around batch grading: the roster (``roster``), the
gradebook database ``OUT/gradebook.db`` (``db``), late penalties (``late``),
final scores with manual adjustments (``scores``), per-test statistics
(``items``) and the LMS import files (``exports``). See docs/term.md.

Only the coordinating batch process and the ``adjust``, ``extend``,
``changes`` and ``export`` commands open the database; Dask workers never do.
"""


class TermError(Exception):
    """An instructor's mistake (bad roster, unknown student, time without a time
    zone...): one line, exit status 2, nothing changed."""
