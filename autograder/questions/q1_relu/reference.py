"""Reference ReLU:  A = max(Z, 0);  dZ = dA * (Z > 0)."""

import paddle

from autograder.reference.base import _Operator


class ReLU(_Operator):
    def __init__(self):
        self.inputs = None
        self.params = None

    def forward(self, inputs):
        self.inputs = inputs
        return paddle.maximum(inputs, paddle.zeros_like(inputs))

    def backward(self, outputs_grads):
        return outputs_grads * (self.inputs > 0).astype(outputs_grads.dtype)
