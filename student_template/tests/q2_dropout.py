from otter.test_files import test_case

OK_FORMAT = False

name = "q2_dropout"
points = None

@test_case(points=None, hidden=False)
def test_q2_dropout(env):
    from nndl.checks import self_check
    self_check('q2_dropout', env)

