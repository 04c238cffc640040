"""Reference loss:  CE + lambda/(2N) sum ||W||^2;  dR/do = (sigma(o) - y)/N, dW += lambda W/N."""

import paddle

import nndl.op as op

from autograder.reference.base import _Operator


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
