"""The wording of the engine's diagnoses, in one place: what became of a
statement that killed or hung its worker, why a graded class could not be
graded, why a name the student's code needs is missing, what a re-run near the
threshold gave, and the grader's own fault of a worker that died in its
set-up. Every message is a translated msgid (autograder/locale): the words are
kept as they are, only their place is here.
"""

from .errors import GraderError
from .i18n import N_, nsay, say
from .sandbox.protocol import SETUP_READY, Outcome, marked_statement


def grader_fault(question, report, slice_report):
    """The GraderError of a worker that ended before the student's first
    statement started (its set-up is the grader's), or None."""
    if report.setup in (SETUP_READY, None):      # None: the zygote was lost
        return None
    error = slice_report.setup_error or {}
    step = error.get("step") or report.setup or "start"
    why = error.get("error") or f"the worker ended ({report.outcome}, code {report.code})"
    if error.get("diagnosis"):
        why = f"{error['diagnosis']} ({why})"
    return GraderError(f"the sandbox worker of {question} failed in its set-up ({step}), "
                       f"before the student's code started: {why}")


def fate(report, statement_limit):
    """What a worker that died during a statement did, as a sentence's verb."""
    return say({Outcome.STATEMENT_TIMEOUT: N_("did not finish within %(seconds)s s"),
                Outcome.TIMEOUT: N_("did not finish within the question's time limit"),
                Outcome.SIGNAL: N_("crashed the program"),
                Outcome.DISK_LIMIT: N_("wrote more to disk than a question may")}.get(
        Outcome.of(report.outcome), N_("ended the program")), seconds=f"{statement_limit:g}")


def died_in(report, indices):
    """The index of the slice statement the worker was running when it ended
    (by ``os._exit``, a crash or a time limit), or None."""
    index = marked_statement(report.mark)
    return index if index in indices else None


def skipped(report, statement_limit):
    """Why a statement that killed or hung the worker was skipped."""
    return say(N_("%(fate)s when run, so it was skipped"), fate=fate(report, statement_limit))


def statement_error(kind, message, statement_limit):
    """Why the statement did not run, from the worker's ``(kind, message)``."""
    if kind == "timeout":      # the worker's words are English: say them again
        message = say(N_("did not finish within %(seconds)s s"),
                      seconds=f"{statement_limit:g}")
        return say(N_("%(message)s, so it was stopped and skipped"), message=message)
    return say(N_("raised %(message)s"), message=message)


def class_failure(run):
    """Why the graded class does not exist in the worker, or None: every
    statement of the slice that binds it failed."""
    cls = run.unit.graded_class
    binders = [st for st in run.slice.statements if cls in st.binds]
    whys = [run.failed_statement(st.index) for st in binders]
    if binders and all(whys):
        last = binders[-1]
        return say(N_("class %(cls)s could not be graded: its definition (%(statement)s) "
                      "%(why)s"), cls=cls, statement=last.describe(), why=whys[-1])
    return None


def explain(error, run, program, graded_classes, name_error):
    """``error`` with, for a missing name (``name_error``'s match), why it is missing."""
    match = name_error.search(error)
    if not match:
        return error
    name = match.group(1)
    binders = program.binders(name)
    failed = [(st, why) for st in run.slice.statements
              if name in st.binds and (why := run.failed_statement(st.index))]
    if failed:
        st, why = failed[-1]
        note = say(N_("`%(name)s` would have been made by %(statement)s, which %(why)s. A "
                      "graded class should use only its inputs, imports, helper functions "
                      "and constants, not what the notebook's experiments make"),
                   name=name, statement=st.describe(), why=why)
    elif name in graded_classes:
        note = say(N_("%(name)s is another graded class: it is graded on its own and is not "
                      "defined while %(cls)s is graded"), name=name,
                   cls=run.unit.graded_class)
    elif not binders:
        note = say(N_("no code cell defines `%(name)s` at the top level of the notebook"),
                   name=name)
    else:
        return error
    return say(N_("%(error)s - note: %(note)s"), error=error, note=note)


def after_reruns(first, verdict, runs):
    """The verdict of a check run again near its threshold ``runs`` more times:
    the passing run's, saying so, or the first run's, saying how many more failed."""
    if not runs:
        return verdict
    if verdict.passed:
        verdict.message += say(N_(" (run %(run)s with other seeds; run 1 was close to the "
                                  "threshold: %(first)s)"), run=str(runs + 1),
                               first=first.message)
        return verdict
    first.message += nsay(" (and in %(n)s more run with other seeds)",
                          " (and in %(n)s more runs with other seeds)", runs)
    return first


def statement_problem(statement, why, questions):
    """The notebook's problem line for a statement that failed in ``questions``."""
    defines = say(N_(" (it defines %(names)s)"),
                  names=", ".join(sorted(statement.binds))) if statement.binds else ""
    return say(N_("%(statement)s: %(why)s%(defines)s; graded without it: %(questions)s"),
               statement=statement.describe(), why=why, defines=defines,
               questions=", ".join(questions))
