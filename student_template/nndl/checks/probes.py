"""Probes of the public checks: run the student's classes on grader-chosen
inputs and return plain numpy arrays.

A probe takes ``(ns, inputs)``: the student's namespace and the check's input
arrays. It uses only the student's class under test and the given library
(``nndl.op``), never another graded class. Probes run in the sandboxed child
when grading and in the student's kernel for ``grader.check``.
"""

import random

import numpy as np

from .core import StudentError, call_student, student_class, to_numpy


def tensor(a):
    import paddle

    return paddle.to_tensor(np.asarray(a))


def seed_everything(seed):
    """Seed paddle, numpy's global RNG and ``random`` so that a forward pass
    can be repeated with the same random mask."""
    import paddle

    paddle.seed(int(seed))
    np.random.seed(int(seed))
    random.seed(int(seed))


# ---------------------------------------------------------------- q1_relu
def relu_forward(ns, inputs):
    ReLU = student_class(ns, "ReLU")
    relu = call_student("ReLU()", ReLU)
    return {"out": to_numpy(call_student("ReLU.forward", relu.forward, tensor(inputs["x"])))}


def relu_forward_backward(ns, inputs):
    ReLU = student_class(ns, "ReLU")
    relu = call_student("ReLU()", ReLU)
    out = call_student("ReLU.forward", relu.forward, tensor(inputs["x"]))
    grad = call_student("ReLU.backward", relu.backward, tensor(inputs["g"]))
    return {"out": to_numpy(out), "grad": to_numpy(grad)}


# ---------------------------------------------------------------- q2_dropout
def dropout_forward(ns, inputs):
    """The forward twice on the same object and input (a fresh tensor each
    time), seeded once before the first call only: ``out`` and ``again``."""
    Dropout = student_class(ns, "Dropout")
    seed_everything(inputs["seed"])
    drop = call_student("Dropout(drop_rate)", Dropout, float(inputs["p"]))
    out = to_numpy(call_student("Dropout.forward", drop.forward, tensor(inputs["x"])))
    again = to_numpy(call_student("Dropout.forward", drop.forward, tensor(inputs["x"])))
    return {"out": out, "again": again}


def dropout_backward(ns, inputs):
    """Forward then backward on the same object; plus, for the finite-difference
    check with the mask frozen, the forward at x +/- h e_i, each after
    re-seeding (a mask drawn from a seeded generator is then the same)."""
    Dropout = student_class(ns, "Dropout")
    p, seed, h = float(inputs["p"]), int(inputs["seed"]), float(inputs["h"])
    x = np.asarray(inputs["x"], dtype=np.float64)

    def forward_at(xv):
        seed_everything(seed)
        d = call_student("Dropout(drop_rate)", Dropout, p)
        return to_numpy(call_student("Dropout.forward", d.forward, tensor(xv.astype(inputs["x"].dtype))))

    plus, minus = [], []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        plus.append(forward_at(x + e.reshape(x.shape)))
        minus.append(forward_at(x - e.reshape(x.shape)))
    seed_everything(seed)
    drop = call_student("Dropout(drop_rate)", Dropout, p)
    out = call_student("Dropout.forward", drop.forward, tensor(inputs["x"]))
    grad = call_student("Dropout.backward", drop.backward, tensor(inputs["g"]))
    return {"out": to_numpy(out), "grad": to_numpy(grad),
            "plus": np.stack(plus), "minus": np.stack(minus)}


# ---------------------------------------------------------------- q3_l2
class LinearStack:
    """A model of Linear layers only (no ReLU): ``layers`` and ``backward``
    as the book's models have them, so the loss can be checked on its own."""

    def __init__(self, params):
        import nndl.op as op

        self.layers = []
        for i, (W, b) in enumerate(params):
            layer = op.Linear(W.shape[0], W.shape[1], name=f"fc{i + 1}")
            layer.params["W"], layer.params["b"] = tensor(W), tensor(b)
            self.layers.append(layer)

    def __call__(self, X):
        for layer in self.layers:
            X = layer(X)
        return X

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


def stack_params(inputs):
    """[(W0, b0), (W1, b1), ...] from the input arrays."""
    n = sum(1 for k in inputs if k.startswith("W"))
    return [(inputs[f"W{i}"], inputs[f"b{i}"]) for i in range(n)]


def loss_and_grads(ns, inputs, model=None):
    """For each lambda k in ``inputs['lambdas']``: a fresh model and loss, the
    loss value ``loss_k`` and, after ``backward()``, the gradient of every W and
    b (``dW{i}_k``, ``db{i}_k``). ``model`` builds the network from the
    parameters (default: :class:`LinearStack`)."""
    Loss = student_class(ns, "BinaryCrossEntropyWithLogits")
    params = stack_params(inputs)
    X, y = tensor(inputs["X"]), tensor(inputs["y"])
    result = {}
    for k, lambd in enumerate(np.asarray(inputs["lambdas"]).reshape(-1)):
        net = (model or LinearStack)(params)
        loss_fn = call_student("BinaryCrossEntropyWithLogits(model, lambd)", Loss, net, float(lambd))
        loss = call_student("BinaryCrossEntropyWithLogits.forward", loss_fn, net(X), y)
        result[f"loss_{k}"] = to_numpy(loss)
        call_student("BinaryCrossEntropyWithLogits.backward", loss_fn.backward, returns=False)
        linears = [layer for layer in net.layers if getattr(layer, "params", None)]
        for i, layer in enumerate(linears):
            if "W" not in layer.grads:
                raise StudentError("backward() did not reach the model's Linear layers "
                                   "(call self.model.backward with dR/do)")
            result[f"dW{i}_{k}"] = to_numpy(layer.grads["W"])
            result[f"db{i}_{k}"] = to_numpy(layer.grads["b"])
    return result


# ---------------------------------------------------------------- q4_weight_decay
def _optimizer(ns, inputs, model=None):
    BatchGD = student_class(ns, "BatchGD")
    return call_student("BatchGD(init_lr, model, weight_decay)", BatchGD,
                        float(inputs["lr"]), model, float(inputs["beta"]))


def gradient_descent_values(ns, inputs):
    """``gradient_descent(x, g, lr)`` for each (lr, beta) pair of the inputs."""
    outs = []
    for lr, beta in np.asarray(inputs["lr_beta"]):
        opt = _optimizer(ns, {"lr": lr, "beta": beta})
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

    params = stack_params(inputs)
    net = LinearStack(params)
    net.layers.insert(1, NoParams())
    linears = [layer for layer in net.layers if layer.params]
    for i, layer in enumerate(linears):
        layer.grads["W"], layer.grads["b"] = tensor(inputs[f"gW{i}"]), tensor(inputs[f"gb{i}"])
    opt = _optimizer(ns, inputs, net)
    call_student("BatchGD.step", opt.step, returns=False)
    out = {}
    for i, layer in enumerate(linears):
        out[f"W{i}"] = to_numpy(layer.params["W"])
        out[f"b{i}"] = to_numpy(layer.params["b"])
    return out
