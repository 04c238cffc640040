"""Reference dropout:  X~ = X * M / (1 - p);  dX = dX~ * M / (1 - p)."""

import paddle

from autograder.reference.base import Operator


class Dropout(Operator):
    def __init__(self, drop_rate):
        self.mask = None
        self.drop_rate = drop_rate

    def forward(self, inputs):
        keep = paddle.rand(inputs.shape) > self.drop_rate
        self.mask = keep.astype(inputs.dtype)
        return inputs * self.mask / (1 - self.drop_rate)

    def backward(self, outputs_grad):
        return outputs_grad * self.mask / (1 - self.drop_rate)
