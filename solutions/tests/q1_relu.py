from otter.test_files import test_case

OK_FORMAT = False

name = "q1_relu"
points = None

@test_case(points=None, hidden=False)
def test_q1_relu(env):
    from nndl.checks import self_check
    self_check('q1_relu', env)

