"""q3_l2, public side: the l2 term of ``BinaryCrossEntropyWithLogits`` (the
formula, probes, judges with their diagnoses, and the public checks).

loss:      R = CE(y, sigma(o)) + lambda / (2N) * sum_l ||W_l||^2   (W only, not b)
gradient:  the whole model + loss, w.r.t. every W and b, against centered
           finite differences of R in float64 (``backward()`` adds
           lambda * W / N to each Linear's grads['W']).

The public checks use a model of Linear layers only, so that they depend on
nothing but the loss; the hidden ones use the book's MLP with ReLU.
Logits are kept moderate (|o| < 4) so the book's non-stable formula is exact.
"""

import numpy as np

from ..i18n import N_
from .core import (LinearStack, Question, call_student, closest_mistake, joined, output, say,
                   stack_params, student_class, student_error, tensor, to_numpy)
from .formulas import cross_entropy_with_logits, stack_forward
from .gradcheck import parameter_gradients, scaled_error

QUESTION = Question("q3_l2", "BinaryCrossEntropyWithLogits",
                    N_("Cross-entropy with an l2 penalty"))

# Loss values: float64 formula vs float64 student code agree to ~1e-15; 1e-5
# relative leaves room for float32 casts (~1e-7) and is far below the
# smallest wrong variant (the l2 term is >= 5% of the loss for lambda > 0).
LOSS_TOL = 1e-5
# Gradients vs finite differences (h = 1e-6, float64): truncation and
# rounding ~1e-8 relative to the gradient's scale.
GRAD_TOL = 1e-5
MISTAKE_TOL = 1e-3
MAX_LOGIT = 4.0
KINK_MARGIN = 1e-3  # no ReLU pre-activation closer to 0 than this (h = 1e-6)


# -- the formula --------------------------------------------------------------------------
def l2_penalty(weights, lambd, n):
    """lambda / (2N) * sum_l ||W_l||^2  (weights only, no biases)."""
    return float(lambd) / (2.0 * n) * float(sum(np.sum(np.square(W)) for W in weights))


def regularized_loss(params, X, y, lambd, relu_between=True):
    """CE(y, sigma(o)) + lambda/(2N) sum ||W||^2 for the stack ``params``."""
    o = stack_forward(params, X, relu_between)
    return cross_entropy_with_logits(o, y) + l2_penalty([W for W, _ in params], lambd, len(X))


# -- probes (run next to the student's code) ------------------------------------------
def loss_and_grads(ns, inputs, model=LinearStack):
    """For each lambda k in ``inputs['lambdas']``: a fresh model (built by
    ``model(params)``, Linear layers only by default) and loss, the loss value
    ``loss_k`` and, after ``backward()``, the gradient of every W and b
    (``dW{i}_k``, ``db{i}_k``)."""
    Loss = student_class(ns, QUESTION.graded_class)
    params = stack_params(inputs)
    X, y = tensor(inputs["X"]), tensor(inputs["y"])
    result = {}
    for k, lambd in enumerate(np.asarray(inputs["lambdas"]).reshape(-1)):
        net = model(params)
        loss_fn = call_student("BinaryCrossEntropyWithLogits(model, lambd)", Loss, net,
                               float(lambd))
        loss = call_student("BinaryCrossEntropyWithLogits.forward", loss_fn, net(X), y)
        result[f"loss_{k}"] = to_numpy(loss)
        call_student("BinaryCrossEntropyWithLogits.backward", loss_fn.backward, returns=False)
        linears = [layer for layer in net.layers if getattr(layer, "params", None)]
        for i, layer in enumerate(linears):
            if "W" not in layer.grads:
                raise student_error(N_("backward() did not reach the model's Linear layers "
                                       "(call `self.model.backward` with `dR/do`)"))
            result[f"dW{i}_{k}"] = to_numpy(layer.grads["W"])
            result[f"db{i}_{k}"] = to_numpy(layer.grads["b"])
    return result


# -- inputs and judges ------------------------------------------------------------------


def _min_preactivation(params, X):
    a, smallest = np.asarray(X, dtype=np.float64), np.inf
    for W, b in params[:-1]:
        z = a @ W + b
        smallest = min(smallest, float(np.min(np.abs(z))))
        a = np.maximum(z, 0)
    return smallest


def make_inputs(seed, sizes=(3, 4, 1), n=12, lambdas=(0.0, 0.7), relu_between=False):
    """Data, labels and parameters; with ReLUs, redrawn (deterministically)
    until every pre-activation is at least KINK_MARGIN away from the kink, where
    finite differences would be wrong for correct code."""
    for attempt in range(100):
        inputs = _draw_inputs(seed + 1000 * attempt, sizes, n, lambdas, relu_between)
        if not relu_between or _min_preactivation(_params(inputs), inputs["X"]) > KINK_MARGIN:
            return inputs
    raise RuntimeError("no input draw kept away from the ReLU kink")


def _draw_inputs(seed, sizes, n, lambdas, relu_between):
    rng = np.random.default_rng(seed + 3)
    X = rng.standard_normal((n, sizes[0]))
    y = (rng.uniform(size=(n, 1)) < 0.5).astype(np.float64)
    inputs = {"X": X, "y": y, "lambdas": np.array(lambdas, dtype=np.float64)}
    params = [(rng.standard_normal((rows, cols)), rng.uniform(-0.5, 0.5, (1, cols)))  # W, b
              for rows, cols in zip(sizes, sizes[1:])]
    # shrink the last layer until the logits are moderate
    o = np.abs(stack_forward(params, X, relu_between)).max()
    if o > MAX_LOGIT:
        W, b = params[-1]
        params[-1] = (W * MAX_LOGIT / o, b * MAX_LOGIT / o)
    for i, (W, b) in enumerate(params):
        inputs[f"W{i}"], inputs[f"b{i}"] = W, b
    return inputs


def _params(inputs):
    return [(np.asarray(W), np.asarray(b)) for W, b in stack_params(inputs)]


def judge_loss(inputs, outputs, relu_between=False):
    params, X, y = _params(inputs), inputs["X"], inputs["y"]
    N = len(X)
    Ws, bs = [W for W, _ in params], [b for _, b in params]
    ce = cross_entropy_with_logits(stack_forward(params, X, relu_between), y)
    worst, messages, keys = 0.0, [], []
    for k, lambd in enumerate(np.asarray(inputs["lambdas"]).reshape(-1)):
        value = float(output(outputs, f"loss_{k}", ()))
        expected = ce + l2_penalty(Ws, lambd, N)
        err = abs(value - expected) / abs(expected)
        worst = max(worst, err)
        if err <= LOSS_TOL:
            continue
        reg = sum(np.sum(W ** 2) for W in Ws)
        mistake = closest_mistake(np.array(value), [
            (N_("the l2 term is missing from the loss"), np.array(ce)),
            (N_("the l2 term also includes the biases `b`; regularize `W` only"),
             np.array(ce + l2_penalty(Ws + bs, lambd, N))),
            (N_("the l2 term is twice too large: `lambda/N` instead of `lambda/(2N)`"),
             np.array(ce + 2 * l2_penalty(Ws, lambd, N))),
            (N_("the l2 term is not divided by the batch size N"),
             np.array(ce + lambd * reg / 2)),
            (N_("the l2 term is not divided by 2N"), np.array(ce + lambd * reg)),
            (N_("the penalty uses `|W|` (l1) instead of `W**2` (l2)"),
             np.array(ce + lambd / (2 * N) * sum(np.sum(np.abs(W)) for W in Ws))),
            (N_("the cross-entropy part is wrong (check the sign and the `1/N`)"),
             np.array(-ce + l2_penalty(Ws, lambd, N))),
        ], MISTAKE_TOL) if lambd > 0 else N_("with `lambda = 0` the loss must be the plain "
                                             "cross-entropy")
        keys.append(mistake or N_("lambda = %(lambd)s: loss %(value)s, expected %(expected)s"))
        messages.append(say(N_("lambda = %(lambd)s: loss %(value)s, expected %(expected)s"),
                            lambd=f"{lambd:g}", value=f"{value:.6g}", expected=f"{expected:.6g}")
                        + (say(N_(" - %(mistake)s"), mistake=say(mistake)) if mistake else ""))
    return joined(messages, keys,
                  N_("`loss = CE + lambda/(2N) * sum ||W||^2` for every lambda"), worst, LOSS_TOL)



def judge_gradient(inputs, outputs, relu_between=False):
    params, X, y = _params(inputs), inputs["X"], inputs["y"]
    N = len(X)
    worst, messages, keys = 0.0, [], []
    for k, lambd in enumerate(np.asarray(inputs["lambdas"]).reshape(-1)):
        fds = parameter_gradients(
            lambda ps: regularized_loss(ps, X, y, lambd, relu_between), params)
        got = []
        for name, grad in fds:
            got.append(output(outputs, f"d{name}_{k}", None).reshape(-1))
            if got[-1].size != grad.size:
                raise student_error(N_("grads['%(key)s'] of layer %(layer)s has %(size)s "
                                       "entries, expected %(expected)s"), key=name[0],
                                    layer=str(int(name[1:]) + 1), size=str(got[-1].size),
                                    expected=str(grad.size))
        actual = np.concatenate(got)
        fd = np.concatenate([grad.reshape(-1) for _, grad in fds])
        err = scaled_error(actual, fd)
        worst = max(worst, err)
        if err <= GRAD_TOL:
            continue
        dW = np.concatenate([np.concatenate([W.reshape(-1), np.zeros(b.size)])
                             for W, b in params])   # lambda W / N placed on the W entries
        db = np.concatenate([np.concatenate([np.zeros(W.size), b.reshape(-1)])
                             for W, b in params])
        l2 = lambd * dW / N
        mistake = closest_mistake(actual, [
            (N_("the l2 gradient is missing from `grads['W']`"), fd - l2),
            (N_("the l2 gradient is N = %(n)s times too large: add `lambda * W / N`, not "
                "`lambda * W`"), fd - l2 + lambd * dW),
            (N_("the l2 gradient is added twice (`2 * lambda * W / N`)"), fd + l2),
            (N_("the l2 gradient is half what it should be (`lambda * W / (2N)`)"), fd - l2 / 2),
            (N_("the l2 gradient has the wrong sign"), fd - 2 * l2),
            (N_("the biases are regularized too: add `lambda * W / N` to `grads['W']` only"),
             fd + lambd * db / N),
            (N_("the l2 gradient uses `sign(W)` (l1) instead of `W`"),
             fd - l2 + lambd * np.sign(dW) / N),
        ], MISTAKE_TOL) if lambd > 0 else None
        keys.append(mistake or N_("lambda = %(lambd)s: gradient differs from finite differences"))
        messages.append(say(N_("lambda = %(lambd)s: gradient differs from finite differences"),
                            lambd=f"{lambd:g}")
                        + (say(N_(" - %(mistake)s"), mistake=say(mistake, n=str(N)))
                           if mistake else ""))
    return joined(messages, keys, N_("gradients of every W and b match finite differences"),
                  worst, GRAD_TOL)


def make_gradient_inputs(seed):
    return make_inputs(seed, lambdas=(0.7,))


CHECKS = [
    QUESTION.check("loss_value",
                   N_("`loss = CE + lambda/(2N) * sum ||W||^2` (lambda = 0 and 0.7)"),
                   loss_and_grads, make_inputs, judge_loss),
    QUESTION.check("gradient_fd",
                   N_("`backward()`: gradients of every `W` and `b` match finite differences"),
                   loss_and_grads, make_gradient_inputs, judge_gradient),
]
