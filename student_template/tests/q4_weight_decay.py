from otter.test_files import test_case

OK_FORMAT = False

name = "q4_weight_decay"
points = None

@test_case(points=None, hidden=False)
def test_q4_weight_decay(env):
    from nndl.checks import self_check
    self_check('q4_weight_decay', env)

