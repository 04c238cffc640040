from otter.test_files import test_case

OK_FORMAT = False

name = "q3_l2"
points = None

@test_case(points=None, hidden=False)
def test_q3_l2(env):
    from nndl.checks import self_check
    self_check('q3_l2', env)

