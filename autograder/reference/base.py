"""What the reference operators share (not ``nndl.op.Op``: see the package doc)."""


class Operator:
    """``__call__`` runs ``forward``, as for ``nndl.op.Op``."""
    params = None

    def __call__(self, *args):
        return self.forward(*args)
