"""The book's models, with the activation and dropout classes passed in
(so this module holds no graded operator)."""

import nndl.op as op

from .base import Operator


class MLP_3L(Operator):
    """fc1 -> ReLU -> fc2 -> ReLU -> fc3 (logits); ``relu_cls`` is pluggable."""

    def __init__(self, layers_size, relu_cls):
        self.fc1 = op.Linear(layers_size[0], layers_size[1], name="fc1")
        self.act_fn1 = relu_cls()
        self.fc2 = op.Linear(layers_size[1], layers_size[2], name="fc2")
        self.act_fn2 = relu_cls()
        self.fc3 = op.Linear(layers_size[2], layers_size[3], name="fc3")
        self.layers = [self.fc1, self.act_fn1, self.fc2, self.act_fn2, self.fc3]

    def forward(self, X, *args):
        return self.fc3(self.act_fn2(self.fc2(self.act_fn1(self.fc1(X)))))

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


class MLP_3L_dropout(MLP_3L):
    """MLP_3L with dropout after each hidden ReLU in ``'train'`` mode."""

    def __init__(self, layers_size, drop_rate, relu_cls, dropout_cls):
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
