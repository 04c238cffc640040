"""q2_dropout, public side: ``Dropout.forward`` and ``Dropout.backward``
(probes, judges with their diagnoses, and the public checks).

forward (training):  X~ = X * M / (1 - p),  M_ij ~ Bernoulli(1 - p), a new M at every call
backward:            dX = dX~ * M / (1 - p)  with the *forward's* M

The forward is checked statistically: on n inputs the kept fraction must lie
within KEEP_SIGMAS standard deviations sqrt(p(1-p)/n) of 1 - p, and every kept
value must equal x / (1 - p). The p used is not 0.5, so "keeps with
probability p" is caught. The same object is then called a second time on the
same input, without re-seeding: the two zero patterns must differ (a mask that
is the same at every call is not random).

The backward gets credit only when the forward it follows is a dropout: every
per-unit factor X~ / X is 0 or 1/(1 - p) (within SCALE_TOL), at least one unit
is dropped and at least one is kept. Otherwise "backward = G * X~ / X" would
accept an identity or all-zero Dropout. The backward is then compared directly
with G * (X~ / X) (the forward's own mask and scale), and with finite
differences of the forward with the mask frozen (the forward re-run after
re-seeding).
"""

import numpy as np

from ..i18n import N_
from .core import (Question, Verdict, call_student, closest_mistake, output, say,
                   seed_everything, student_class, tensor, to_numpy)
from .gradcheck import scaled_error

QUESTION = Question("q2_dropout", "Dropout", N_("The dropout operator"))

# Kept fraction: a correct dropout is outside 5 sigma with probability < 1e-6;
# "keeps p" misses by |1 - 2p| / sigma > 100 sigma at p = 0.3, n = 1e5.
KEEP_SIGMAS = 5.0
# Scale of kept values, and "0 or 1/(1 - p)" of the backward's forward: float32
# rounding gives ~1e-7 relative error.
SCALE_TOL = 1e-5
# Backward against G * (X~ / X): float64 inputs, exact up to rounding.
TOL = 1e-5
# Finite differences of the (linear, mask-frozen) forward with h = 1e-4.
FD_TOL = 1e-4
MISTAKE_TOL = 1e-3

# The backward's forward must drop at least one unit and keep at least one. A
# correct dropout on n units fails this with probability (1-p)^n + p^n:
#   public  (8 x 8,  p = 0.3): 0.7^64 + 0.3^64 = 1.2e-10
#   hidden  (4 x 9,  p = 0.6): 0.4^36 + 0.6^36 = 1.0e-8
BACKWARD_SHAPE = (8, 8)
# Two forward calls giving the same zero pattern: each unit agrees with
# probability p^2 + (1-p)^2, so a correct dropout on the forward's 1e5 units
# repeats its mask with probability 0.58^1e5 (p = 0.3) or 0.52^1e5 (p = 0.6),
# i.e. never; any repeat is a mask that does not depend on the random state.


# -- probes (run next to the student's code) ------------------------------------------
def _dropout(ns, p):
    return call_student("Dropout(drop_rate)", student_class(ns, QUESTION.graded_class), p)


def probe_forward(ns, inputs):
    """The forward twice on the same object and input (a fresh tensor each
    time), seeded once before the first call only: ``out`` and ``again``."""
    seed_everything(inputs["seed"])
    drop = _dropout(ns, float(inputs["p"]))
    out = to_numpy(call_student("Dropout.forward", drop.forward, tensor(inputs["x"])))
    again = to_numpy(call_student("Dropout.forward", drop.forward, tensor(inputs["x"])))
    return {"out": out, "again": again}


def probe_backward(ns, inputs):
    """Forward then backward on the same object; plus, for the finite-difference
    check with the mask frozen, the forward at x +/- h e_i, each after
    re-seeding (a mask drawn from a seeded generator is then the same)."""
    p, seed, h = float(inputs["p"]), int(inputs["seed"]), float(inputs["h"])
    x = np.asarray(inputs["x"], dtype=np.float64)

    def forward_at(xv):
        seed_everything(seed)
        d = _dropout(ns, p)
        return to_numpy(call_student("Dropout.forward", d.forward,
                                     tensor(xv.astype(inputs["x"].dtype))))

    steps = h * np.eye(x.size).reshape((x.size,) + x.shape)    # h e_i, one per unit
    plus, minus = zip(*[(forward_at(x + e), forward_at(x - e)) for e in steps])
    seed_everything(seed)
    drop = _dropout(ns, p)
    out = call_student("Dropout.forward", drop.forward, tensor(inputs["x"]))
    grad = call_student("Dropout.backward", drop.backward, tensor(inputs["g"]))
    return {"out": to_numpy(out), "grad": to_numpy(grad),
            "plus": np.stack(plus), "minus": np.stack(minus)}


# -- inputs and judges ------------------------------------------------------------------
def make_forward_inputs(seed, p=0.3, shape=(400, 250)):
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(0.5, 1.5, shape).astype(np.float32),
            "p": np.array(p), "seed": np.array(seed % 100_000)}


def make_backward_inputs(seed, p=0.3, shape=BACKWARD_SHAPE):
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return {"x": x, "g": rng.standard_normal(shape), "p": np.array(p),
            "seed": np.array(seed % 100_000 + 7), "h": np.array(1e-4)}


def judge_forward(inputs, outputs):
    """``out`` (first call): kept fraction within KEEP_SIGMAS * sqrt(p(1-p)/n)
    of 1 - p and max |out/x - 1/(1-p)| * (1-p) <= SCALE_TOL on kept units.
    ``again`` (second call, same object and input, not re-seeded): its zero
    pattern must differ from ``out``'s."""
    x, p = np.asarray(inputs["x"], np.float64), float(inputs["p"])
    out = output(outputs, "out", x.shape)
    kept = out != 0
    rate, n = float(kept.mean()), x.size
    sigma = np.sqrt(p * (1 - p) / n)
    if abs(rate - (1 - p)) > KEEP_SIGMAS * sigma:
        if abs(rate - p) <= KEEP_SIGMAS * sigma:
            key = N_("forward keeps units with probability p = `%(p)s` instead of `1 - p` "
                     "(drop_rate is the probability of dropping a unit)")
        elif rate == 1.0:
            key = N_("forward drops nothing")
        else:
            key = N_("forward keeps %(rate)s of the units, expected `1 - p = %(keep)s`")
        return Verdict(False, say(key, p=f"{p}", rate=f"{rate:.3f}", keep=f"{1 - p:.3f}"),
                       abs(rate - (1 - p)), KEEP_SIGMAS * sigma, key=key)
    ratio = out[kept] / x[kept]
    target = 1.0 / (1.0 - p)
    err = float(np.max(np.abs(ratio - target))) / target
    if err > SCALE_TOL:
        mean = float(np.mean(ratio))
        for value, key in [(1.0, N_("kept values are not scaled by `1/(1 - p)`")),
                           (1.0 / p, N_("kept values are scaled by `1/p` instead of `1/(1 - p)`")),
                           (1.0 - p, N_("kept values are multiplied by `(1 - p)` instead of "
                                        "divided"))]:
            if abs(mean - value) <= 1e-3 * value:
                return Verdict(False, say(key), err, SCALE_TOL, key=key)
        key = N_("kept values are scaled by about %(mean)s, expected `1/(1-p) = %(target)s`")
        return Verdict(False, say(key, mean=f"{mean:.4g}", target=f"{target:.4g}"), err,
                       SCALE_TOL, key=key)
    again = output(outputs, "again", x.shape)
    if np.array_equal(again != 0, kept):
        key = N_("the mask is the same at every call: draw a new random mask in each forward "
                 "(two calls on the same input dropped exactly the same units)")
        return Verdict(False, say(key), key=key)
    # two independent masks differ at a unit with probability q = 2p(1-p)
    changed, q = float(np.mean((again != 0) != kept)), 2 * p * (1 - p)
    if abs(changed - q) > KEEP_SIGMAS * np.sqrt(q * (1 - q) / n):
        key = N_("the masks of two calls differ at %(changed)s of the units, expected "
                 "`2p(1-p) = %(q)s` for independent random masks: draw a new mask in each "
                 "forward, independently of the last one")
        return Verdict(False, say(key, changed=f"{changed:.3f}", q=f"{q:.3f}"), key=key)
    key = N_("keeps %(rate)s of the units, scales them by `1/(1-p)`, and draws a new mask at "
             "every call")
    return Verdict(True, say(key, rate=f"{rate:.3f}"), err, SCALE_TOL, key=key)


def forward_problem(factor, p):
    """Why the per-unit factors ``out / x`` of a forward are not a dropout's,
    as ``(message key, its parameters)``, or None when they are: each within
    SCALE_TOL (relative to 1/(1-p)) of 0 or of 1/(1-p), with at least one of each."""
    target = 1.0 / (1.0 - p)
    dropped = np.abs(factor) <= SCALE_TOL * target
    kept = np.abs(factor - target) <= SCALE_TOL * target
    other = ~(dropped | kept)
    units = {"total": str(factor.size)}
    if other.any():
        if np.all(np.abs(factor - 1.0) <= SCALE_TOL):
            return N_("it returns its input unchanged"), {}
        bad = factor[other]
        return (N_("`out / x` is %(value)s at %(count)s of %(total)s units; a dropout gives 0 "
                   "or `1/(1 - p) = %(target)s`"),
                dict(units, value=f"{bad.flat[0]:.4g}", count=str(int(other.sum())),
                     target=f"{target:.4g}"))
    if not dropped.any():
        return N_("it drops none of the %(total)s units"), units
    if not kept.any():
        return N_("it drops all %(total)s units"), units
    return None


def judge_backward(inputs, outputs):
    """With F = out / x the forward's per-unit factor (valid: F in {0, 1/(1-p)},
    both present), ``grad`` must equal G * F within TOL (scaled error), and
    the central differences sum(G * (f(x + h e_i) - f(x - h e_i))) / (2h) of the
    mask-frozen forward within FD_TOL."""
    x, g, p, h = (np.asarray(inputs["x"], np.float64), np.asarray(inputs["g"], np.float64),
                  float(inputs["p"]), float(inputs["h"]))
    out = output(outputs, "out", x.shape)
    grad = output(outputs, "grad", x.shape)
    factor = out / x                       # the forward's mask times its scale
    problem = forward_problem(factor, p)
    if problem is not None:
        key, params = problem
        return Verdict(False, say(N_("the forward is not a dropout (%(problem)s); fix "
                                     "Dropout.forward first - the backward is checked against "
                                     "the forward's mask"), problem=say(key, **params)), key=key)
    direct = g * factor
    err = scaled_error(grad, direct)
    plus = output(outputs, "plus", (x.size,) + x.shape)
    minus = output(outputs, "minus", (x.size,) + x.shape)
    frozen = all(np.array_equal(f != 0, out != 0) for f in np.concatenate([plus, minus]))
    fd_err, fd_note = None, say(N_("; (mask not reproducible by seeding, finite differences "
                                   "skipped)"))
    if frozen:
        fd = np.array([np.sum(g * (plus[i] - minus[i])) / (2 * h) for i in range(x.size)])
        fd_err = scaled_error(grad, fd.reshape(x.shape))
        fd_note = say(N_("; finite differences with the mask frozen: error %(error)s"),
                      error=f"{fd_err:.2g}")
    if err <= TOL and (fd_err is None or fd_err <= FD_TOL):
        key = N_("backward reuses the forward's mask and scale")
        return Verdict(True, say(key) + fd_note, err, TOL, key=key)
    mask = (factor != 0).astype(float)
    mistake = closest_mistake(grad, [
        (N_("backward applies the mask but misses the `1/(1 - p)` scale"), g * mask),
        (N_("backward ignores the mask: the gradient of a dropped unit must be 0"), g),
        (N_("backward scales by `1/(1 - p)` but ignores the mask (the gradient of a dropped "
            "unit must be 0)"), g / (1 - p)),
        (N_("backward scales by `1/p` instead of `1/(1 - p)`"), g * mask / p),
        (N_("backward multiplies by `(1 - p)` instead of dividing"), g * mask * (1 - p)),
        (N_("backward ignores the upstream gradient"), factor),
    ], MISTAKE_TOL)
    if mistake is None and np.any(((grad != 0) != (mask != 0))[g != 0]):
        mistake = N_("backward's zero pattern differs from the forward's mask: it draws a new "
                     "mask instead of reusing the forward's (keep it in `self.mask`)")
    key = mistake or N_("backward does not equal `outputs_grad * mask / (1 - p)`")
    return Verdict(False, say(key) + fd_note, err, TOL, key=key)


CHECKS = [
    QUESTION.check("forward_stats",
                   N_("`Dropout.forward` keeps about `1-p` of the units, scales them by "
                      "`1/(1-p)` and draws a new mask at every call"),
                   probe_forward, make_forward_inputs, judge_forward),
    QUESTION.check("backward_mask", N_("`Dropout.backward` reuses the forward's mask and scale"),
                   probe_backward, make_backward_inputs, judge_backward),
]
