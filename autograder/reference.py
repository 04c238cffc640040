"""Reference paddle implementations of the graded operators and the models.

Used **inside the sandboxed child** so that each question's tests plug the
student's class into otherwise-correct code (isolation: a bug in one question
costs points only there). The judges in the parent never use these: they use
the numpy formulas of :mod:`nndl.checks.formulas`.

Formulas (section 7.6 of the book):

- ReLU:      A = max(Z, 0);            dZ = dA * (Z > 0)
- Dropout:   X~ = X * M / (1 - p);     dX = dX~ * M / (1 - p)   (M ~ Bernoulli(1 - p))
- Loss:      R = CE(y, sigma(o)) + lambda / (2N) * sum_l ||W_l||^2   (W only, not b)
             dR/do = (sigma(o) - y) / N;   dR/dW_l += lambda * W_l / N
- BatchGD:   theta <- (1 - beta) * theta - alpha * g

The classes deliberately do not derive from ``nndl.op.Op``/``Optimizer``, so
that ``Op.__subclasses__()`` in a notebook does not lead to them (the worker
also hides this module from notebook code; see autograder/sandbox/child.py).
"""

import paddle

import nndl.op as op


class _Operator:
    """``__call__`` runs ``forward``, as for ``nndl.op.Op``."""
    params = None

    def __call__(self, *args):
        return self.forward(*args)


class ReLU(_Operator):
    def __init__(self):
        self.inputs = None
        self.params = None

    def forward(self, inputs):
        self.inputs = inputs
        return paddle.maximum(inputs, paddle.zeros_like(inputs))

    def backward(self, outputs_grads):
        return outputs_grads * (self.inputs > 0).astype(outputs_grads.dtype)


class Dropout(_Operator):
    def __init__(self, drop_rate):
        self.mask = None
        self.drop_rate = drop_rate
        self.params = None

    def forward(self, inputs):
        keep = paddle.rand(inputs.shape) > self.drop_rate
        self.mask = keep.astype(inputs.dtype)
        return inputs * self.mask / (1 - self.drop_rate)

    def backward(self, outputs_grad):
        return outputs_grad * self.mask / (1 - self.drop_rate)


class BinaryCrossEntropyWithLogits(_Operator):
    def __init__(self, model, lambd):
        self.model = model
        self.lambd = lambd
        self.predicts = None
        self.labels = None
        self.data_size = None

    def __call__(self, logits, labels):
        return self.forward(logits, labels)

    def forward(self, logits, labels):
        self.predicts = 1.0 / (1.0 + paddle.exp(-logits))
        self.labels = labels
        self.data_size = logits.shape[0]
        # stable form: log(1 + e^o) - y o
        ce = paddle.mean(paddle.nn.functional.softplus(logits) - labels * logits)
        reg = sum(paddle.sum(paddle.square(layer.params["W"]))
                  for layer in self.model.layers if isinstance(layer, op.Linear))
        return ce + self.lambd * reg / (2 * self.data_size)

    def backward(self):
        self.model.backward((self.predicts - self.labels) / self.data_size)
        for layer in self.model.layers:
            if isinstance(layer, op.Linear):
                layer.grads["W"] = layer.grads["W"] + self.lambd * layer.params["W"] / self.data_size


class BatchGD:
    def __init__(self, init_lr, model, weight_decay=0.0):
        self.init_lr = init_lr
        self.model = model
        self.weight_decay = weight_decay

    def gradient_descent(self, x, gradient_x, init_lr):
        return (1 - self.weight_decay) * x - init_lr * gradient_x

    def step(self):
        for layer in self.model.layers:
            if isinstance(layer.params, dict):
                for key in layer.params:
                    layer.params[key] = self.gradient_descent(
                        layer.params[key], layer.grads[key], self.init_lr)


class MLP_3L(_Operator):
    """fc1 -> ReLU -> fc2 -> ReLU -> fc3 (logits); ``relu_cls`` is pluggable."""

    def __init__(self, layers_size, relu_cls=ReLU):
        self.fc1 = op.Linear(layers_size[0], layers_size[1], name="fc1")
        self.act_fn1 = relu_cls()
        self.fc2 = op.Linear(layers_size[1], layers_size[2], name="fc2")
        self.act_fn2 = relu_cls()
        self.fc3 = op.Linear(layers_size[2], layers_size[3], name="fc3")
        self.layers = [self.fc1, self.act_fn1, self.fc2, self.act_fn2, self.fc3]

    def __call__(self, X, *args):
        return self.forward(X, *args)

    def forward(self, X, *args):
        return self.fc3(self.act_fn2(self.fc2(self.act_fn1(self.fc1(X)))))

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


class MLP_3L_dropout(MLP_3L):
    """MLP_3L with dropout after each hidden ReLU in ``'train'`` mode."""

    def __init__(self, layers_size, drop_rate, relu_cls=ReLU, dropout_cls=Dropout):
        super().__init__(layers_size, relu_cls=relu_cls)
        self.dropout1 = dropout_cls(drop_rate)
        self.dropout2 = dropout_cls(drop_rate)
        self.mode = "train"

    def forward(self, X, mode="train"):
        self.mode = mode
        a1 = self.act_fn1(self.fc1(X))
        if mode == "train":
            a1 = self.dropout1(a1)
        a2 = self.act_fn2(self.fc2(a1))
        if mode == "train":
            a2 = self.dropout2(a2)
        return self.fc3(a2)

    def backward(self, grad):
        grad = self.fc3.backward(grad)
        if self.mode == "train":
            grad = self.dropout2.backward(grad)
        grad = self.fc2.backward(self.act_fn2.backward(grad))
        if self.mode == "train":
            grad = self.dropout1.backward(grad)
        return self.fc1.backward(self.act_fn1.backward(grad))
