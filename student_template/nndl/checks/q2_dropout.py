"""Public checks of q2_dropout: ``Dropout.forward`` and ``Dropout.backward``.

forward (training):  X~ = X * M / (1 - p),  M_ij ~ Bernoulli(1 - p)
backward:            dX = dX~ * M / (1 - p)  with the *forward's* M

The forward is checked statistically: on n inputs the kept fraction must lie
within KEEP_SIGMAS standard deviations sqrt(p(1-p)/n) of 1 - p, and every kept
value must equal x / (1 - p). The p used is not 0.5, so "keeps with
probability p" is caught. The backward is compared directly with
G * (X~ / X) (the forward's own mask and scale), and with finite differences
of the forward with the mask frozen (the forward re-run after re-seeding).
"""

import numpy as np

from .core import Check, Verdict, closest_mistake, output
from .gradcheck import scaled_error

# Kept fraction: a correct dropout is outside 5 sigma with probability < 1e-6;
# "keeps p" misses by |1 - 2p| / sigma > 100 sigma at p = 0.3, n = 1e5.
KEEP_SIGMAS = 5.0
# Scale of kept values: float32 rounding gives ~1e-7 relative error.
SCALE_TOL = 1e-5
# Backward against G * (X~ / X): float64 inputs, exact up to rounding.
TOL = 1e-5
# Finite differences of the (linear, mask-frozen) forward with h = 1e-4.
FD_TOL = 1e-4
MISTAKE_TOL = 1e-3


def make_forward_inputs(seed, p=0.3, shape=(400, 250)):
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(0.5, 1.5, shape).astype(np.float32),
            "p": np.array(p), "seed": np.array(seed % 100_000)}


def make_backward_inputs(seed, p=0.3, shape=(6, 5)):
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return {"x": x, "g": rng.standard_normal(shape), "p": np.array(p),
            "seed": np.array(seed % 100_000 + 7), "h": np.array(1e-4)}


def judge_forward(inputs, outputs):
    x, p = np.asarray(inputs["x"], np.float64), float(inputs["p"])
    out = output(outputs, "out", x.shape)
    kept = out != 0
    rate, n = float(kept.mean()), x.size
    sigma = np.sqrt(p * (1 - p) / n)
    if abs(rate - (1 - p)) > KEEP_SIGMAS * sigma:
        if abs(rate - p) <= KEEP_SIGMAS * sigma:
            msg = (f"forward keeps units with probability p = {p} instead of 1 - p "
                   "(drop_rate is the probability of dropping a unit)")
        elif rate == 1.0:
            msg = "forward drops nothing"
        else:
            msg = f"forward keeps {rate:.3f} of the units, expected 1 - p = {1 - p:.3f}"
        return Verdict(False, msg, abs(rate - (1 - p)), KEEP_SIGMAS * sigma)
    ratio = out[kept] / x[kept]
    target = 1.0 / (1.0 - p)
    err = float(np.max(np.abs(ratio - target))) / target
    if err <= SCALE_TOL:
        return Verdict(True, f"keeps {rate:.3f} of the units and scales them by 1/(1-p)",
                       err, SCALE_TOL)
    mean = float(np.mean(ratio))
    for value, msg in [(1.0, "kept values are not scaled by 1/(1 - p)"),
                       (1.0 / p, "kept values are scaled by 1/p instead of 1/(1 - p)"),
                       (1.0 - p, "kept values are multiplied by (1 - p) instead of divided")]:
        if abs(mean - value) <= 1e-3 * value:
            return Verdict(False, msg, err, SCALE_TOL)
    return Verdict(False, f"kept values are scaled by about {mean:.4g}, expected 1/(1-p) = "
                   f"{target:.4g}", err, SCALE_TOL)


def judge_backward(inputs, outputs):
    x, g, p, h = (np.asarray(inputs["x"], np.float64), np.asarray(inputs["g"], np.float64),
                  float(inputs["p"]), float(inputs["h"]))
    out = output(outputs, "out", x.shape)
    grad = output(outputs, "grad", x.shape)
    factor = out / x                       # the forward's mask times its scale
    direct = g * factor
    err = scaled_error(grad, direct)
    plus = output(outputs, "plus", (x.size,) + x.shape)
    minus = output(outputs, "minus", (x.size,) + x.shape)
    frozen = all(np.array_equal(f != 0, out != 0) for f in np.concatenate([plus, minus]))
    fd_note, fd_err = "", None
    if frozen:
        fd = np.array([np.sum(g * (plus[i] - minus[i])) / (2 * h) for i in range(x.size)])
        fd_err = scaled_error(grad, fd.reshape(x.shape))
        fd_note = f"; finite differences with the mask frozen: error {fd_err:.2g}"
    else:
        fd_note = "; (mask not reproducible by seeding, finite differences skipped)"
    if err <= TOL and (fd_err is None or fd_err <= FD_TOL):
        return Verdict(True, "backward reuses the forward's mask and scale" + fd_note, err, TOL)
    mask = (factor != 0).astype(float)
    mistake = closest_mistake(grad, [
        ("backward applies the mask but misses the 1/(1 - p) scale", g * mask),
        ("backward ignores the mask: the gradient of a dropped unit must be 0", g),
        ("backward scales by 1/(1 - p) but ignores the mask (the gradient of a dropped "
         "unit must be 0)", g / (1 - p)),
        ("backward scales by 1/p instead of 1/(1 - p)", g * mask / p),
        ("backward multiplies by (1 - p) instead of dividing", g * mask * (1 - p)),
        ("backward ignores the upstream gradient", factor),
        ("backward scales by 1/(1 - p) but the forward does not: the two must agree",
         g * mask / (1 - p)),
    ], MISTAKE_TOL)
    if mistake is None and np.any(((grad != 0) != (mask != 0))[g != 0]):
        mistake = ("backward's zero pattern differs from the forward's mask: it draws a new "
                   "mask instead of reusing the forward's (keep it in self.mask)")
    return Verdict(False, (mistake or "backward does not equal outputs_grad * mask / (1 - p)")
                   + fd_note, err, TOL)


CHECKS = [
    Check("q2_dropout.forward_stats", "q2_dropout",
          "Dropout.forward keeps about 1-p of the units and scales them by 1/(1-p)",
          "nndl.checks.probes:dropout_forward", make_forward_inputs, judge_forward),
    Check("q2_dropout.backward_mask", "q2_dropout",
          "Dropout.backward reuses the forward's mask and scale",
          "nndl.checks.probes:dropout_backward", make_backward_inputs, judge_backward),
]
