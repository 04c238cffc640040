"""q4_weight_decay, public side: ``BatchGD.gradient_descent`` and ``step`` (the
formula, probes, judges with their diagnoses, and the public checks).

update:  theta_t = (1 - beta) * theta_{t-1} - alpha * g_t

The (alpha, beta) pairs are chosen so that the usual wrong forms,
(1 - alpha*beta) x - alpha g, (1 - beta)(x - alpha g) and (1 + beta) x - alpha g,
all differ from the right one by far more than the tolerance (alpha != 1,
beta > 0, and alpha*beta not negligible).
"""

import numpy as np

from ..i18n import N_
from .core import (LinearStack, Question, call_student, closest_mistake, joined, output, say,
                   stack_params, student_class, tensor, to_numpy)
from .gradcheck import scaled_error

QUESTION = Question("q4_weight_decay", "BatchGD", N_("Gradient descent with weight decay"))

# Exact formula: float64 agrees to ~1e-16; 1e-6 leaves room for float32 casts
# (~6e-8). The nearest wrong form at (0.2, 0.001) differs by 8e-4 relative.
TOL = 1e-6
MISTAKE_TOL = 1e-6
LR_BETA = ((0.3, 0.05), (0.2, 0.001), (0.5, 0.0))


# -- the formula --------------------------------------------------------------------------
def decayed_step(x, g, lr, beta):
    """theta_t = (1 - beta) theta_{t-1} - alpha g_t."""
    return (1.0 - beta) * np.asarray(x, dtype=np.float64) - lr * np.asarray(g, dtype=np.float64)


# -- probes (run next to the student's code) ------------------------------------------
def _optimizer(ns, lr, beta, model=None):
    return call_student("BatchGD(init_lr, model, weight_decay)",
                        student_class(ns, QUESTION.graded_class), float(lr), model, float(beta))


def gradient_descent_values(ns, inputs):
    """``gradient_descent(x, g, lr)`` for each (lr, beta) pair of the inputs."""
    outs = []
    for lr, beta in np.asarray(inputs["lr_beta"]):
        opt = _optimizer(ns, lr, beta)
        new = call_student("BatchGD.gradient_descent", opt.gradient_descent,
                           tensor(inputs["x"]), tensor(inputs["g"]), float(lr))
        outs.append(to_numpy(new))
    return {"new": np.stack(outs)}


def step_updates(ns, inputs):
    """``step()`` on a model of two Linear layers with a parameter-free layer
    between them; returns every parameter after one step."""
    import nndl.op as op

    class NoParams(op.Op):
        params = None

        def forward(self, x):
            return x

    net = LinearStack(stack_params(inputs))
    net.layers.insert(1, NoParams())
    linears = [layer for layer in net.layers if layer.params]
    for i, layer in enumerate(linears):
        layer.grads["W"], layer.grads["b"] = tensor(inputs[f"gW{i}"]), tensor(inputs[f"gb{i}"])
    opt = _optimizer(ns, inputs["lr"], inputs["beta"], net)
    call_student("BatchGD.step", opt.step, returns=False)
    return {f"{key}{i}": to_numpy(layer.params[key])
            for i, layer in enumerate(linears) for key in ("W", "b")}


# -- inputs and judges ------------------------------------------------------------------


def make_formula_inputs(seed, lr_beta=LR_BETA, shape=(3, 4), dtype=np.float64):
    rng = np.random.default_rng(seed + 4)
    return {"x": rng.standard_normal(shape).astype(dtype),
            "g": rng.standard_normal(shape).astype(dtype),
            "lr_beta": np.array(lr_beta, dtype=np.float64)}


def make_step_inputs(seed, lr=0.3, beta=0.05, sizes=(3, 4, 2)):
    rng = np.random.default_rng(seed + 5)
    inputs = {"lr": np.array(lr), "beta": np.array(beta)}
    for i in range(len(sizes) - 1):
        for key, rows in (("W", sizes[i]), ("b", 1), ("gW", sizes[i]), ("gb", 1)):  # draw order
            inputs[f"{key}{i}"] = rng.standard_normal((rows, sizes[i + 1]))
    return inputs


def wrong_forms(x, g, lr, beta):
    return [
        (N_("decay is scaled by the learning rate: `(1 - lr*beta) x - lr g`; the lab's rule is "
            "`(1 - beta) x - lr g`"), (1 - lr * beta) * x - lr * g),
        (N_("decay applied after the step: `(1 - beta)(x - lr g)`; decay the old `x` only"),
         (1 - beta) * (x - lr * g)),
        (N_("decay has the wrong sign: `(1 + beta) x - lr g`"), (1 + beta) * x - lr * g),
        (N_("no weight decay: `x - lr g`"), x - lr * g),
        (N_("the gradient is added (ascent): use `- lr * g`"), (1 - beta) * x + lr * g),
        (N_("`x` is multiplied by `beta` instead of `(1 - beta)`"), beta * x - lr * g),
        (N_("the learning rate is ignored: `(1 - beta) x - g`"), (1 - beta) * x - g),
    ]


def judge_formula(inputs, outputs):
    x, g = np.asarray(inputs["x"], np.float64), np.asarray(inputs["g"], np.float64)
    pairs = np.asarray(inputs["lr_beta"])
    new = output(outputs, "new", (len(pairs),) + x.shape)
    worst, messages, keys = 0.0, [], []
    for k, (lr, beta) in enumerate(pairs):
        err = scaled_error(new[k], decayed_step(x, g, lr, beta))
        worst = max(worst, err)
        if err > TOL:
            key = (closest_mistake(new[k], wrong_forms(x, g, lr, beta), MISTAKE_TOL)
                   or N_("result is not `(1 - beta) x - lr g`"))
            keys.append(key)
            messages.append(say(N_("lr = %(lr)s, beta = %(beta)s: %(mistake)s"), lr=f"{lr:g}",
                                beta=f"{beta:g}", mistake=say(key)))
    return joined(messages, keys, N_("`gradient_descent` returns `(1 - beta) x - lr g`"),
                  worst, TOL)


def judge_step(inputs, outputs):
    lr, beta = float(inputs["lr"]), float(inputs["beta"])
    n = sum(1 for k in inputs if k.startswith("W"))
    worst, messages, keys = 0.0, [], []
    for i in range(n):
        for key in ("W", "b"):
            old, grad = np.asarray(inputs[f"{key}{i}"]), np.asarray(inputs[f"g{key}{i}"])
            new = output(outputs, f"{key}{i}", old.shape)
            err = scaled_error(new, decayed_step(old, grad, lr, beta))
            worst = max(worst, err)
            if err > TOL:
                if np.array_equal(new, old):
                    mistake = N_("`params['%(key)s']` of layer %(layer)s was not updated")
                else:
                    mistake = N_("`params['%(key)s']` of layer %(layer)s %(mistake)s")
                    why = (closest_mistake(new, wrong_forms(old, grad, lr, beta), MISTAKE_TOL)
                           or N_("is not `(1 - beta) x - lr g`"))
                keys.append(mistake if np.array_equal(new, old) else why)
                messages.append(say(mistake, key=key, layer=str(i + 1),
                                    mistake="" if np.array_equal(new, old) else say(why)))
    if messages:
        messages[0] = say(N_("step(): %(message)s"), message=messages[0])
    return joined(messages, keys, N_("step() updates every parameter of every layer"), worst, TOL)



CHECKS = [
    QUESTION.check("gradient_descent", N_("`gradient_descent` returns `(1 - beta) x - lr g`"),
                   gradient_descent_values, make_formula_inputs, judge_formula),
    QUESTION.check("step", N_("`step()` updates `W` and `b` of every layer with parameters"),
                   step_updates, make_step_inputs, judge_step),
]
