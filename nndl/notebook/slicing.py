"""The slice of a notebook that one graded class needs.

For the class ``C`` a question grades, its worker runs, in notebook order,
only these top-level statements:

1. every statement that binds ``C`` after the last one that rebinds it
   unconditionally (so the last definition wins, as when the notebook runs);
2. every statement that changes ``C`` after that (``C.forward = f``,
   ``setattr(C, ...)``), or changes another name the slice needs
   (``TABLE[k] = v`` in a loop, ``REGISTRY.append(x)``);
3. transitively, for every global name those statements read, the
   statements that give it the value it has when it is read: names read when
   a statement runs (right-hand sides, base classes, decorators, default
   values, class bodies) need their value at that point of the notebook;
   names read inside function and method bodies need their final value
   (wherever the function is defined, before or after the class);
4. every ``from module import *``.

Never in the slice:

- statements that bind or change another graded class (its body runs only
  in its own question's worker);
- changes of a name bound only by imports (``np.allclose = ...``,
  ``op.Linear.backward = ...``, ``paddle.set_default_dtype(...)``): every
  question runs against the libraries as installed; a patch inside a class
  body runs with that class only.

This is a backward data-flow slice over the statements' ``binds``, ``kills``,
``eager``/``deferred`` reads and ``changes`` (:mod:`.statements`), iterated
until the set of names whose final value is needed stops growing.
"""

from dataclasses import dataclass, field


@dataclass
class Slice:
    target: str                                   # the graded class
    statements: list = field(default_factory=list)   # in notebook order
    defined: bool = False                         # some statement of the notebook binds it
    runtime: list = field(default_factory=list)   # statements kept as they may bind names
                                                  # at run time (the grader's second try)

    @property
    def indices(self):
        return [st.index for st in self.statements]


def slice_for(program, target, others=frozenset(), keep=frozenset()):
    """The :class:`Slice` of ``program`` that the class ``target`` needs;
    ``others``: the other graded classes (never run here); ``keep``: indices
    of statements to run as well, with what they need (the grader's
    statements that bind names at run time)."""
    library = program.library_names()
    others = frozenset(others) - {target}

    def excluded(st):
        touched = st.binds | st.changes
        return bool(touched & others) and target not in touched

    def relevant(st, needed):
        return (st.index in keep or st.star or bool(st.binds & needed)
                or bool((st.changes - library) & needed))

    final = {target}
    while True:
        needed, chosen = set(final), []
        for st in reversed(program.statements):
            if excluded(st) or not relevant(st, needed):
                continue
            chosen.append(st)
            needed = (needed - st.kills) | st.eager
        deferred = set().union(*(st.deferred for st in chosen)) if chosen else set()
        if deferred <= final:
            break
        final |= deferred
    return Slice(target, chosen[::-1], defined=bool(program.binders(target)))


def own_source(sl):
    """The class's source as the notebook finally has it: the statements of its
    slice that bind or change it (its definition, methods attached later), for
    comparing students' answers (the grader's similarity report); "" if none."""
    return "\n".join(st.source for st in sl.statements if sl.target in st.binds | st.changes)


def class_sources(program, graded):
    """{class: :func:`own_source`} of every graded class the notebook defines."""
    sources = {cls: own_source(slice_for(program, cls, graded)) for cls in graded}
    return {cls: source for cls, source in sources.items() if source}
