"""question: q2_dropout
diagnosis: the mask is the same at every call
"""
import paddle
import nndl.op as op
from nndl.op import Op, Optimizer


class Dropout(Op):
    def __init__(self, drop_rate):
        self.mask = None
        self.drop_rate = drop_rate
    def forward(self, inputs):
        n = 1
        for s in inputs.shape:
            n *= s
        idx = paddle.arange(n).reshape(inputs.shape)
        mask = paddle.cast((idx % 10) < round(10 * (1 - self.drop_rate)), dtype='float32')
        self.mask = mask
        inputs = paddle.multiply(inputs, mask)
        inputs /= (1 - self.drop_rate)
        return inputs
    def backward(self, outputs_grad):
        return paddle.multiply(outputs_grad, self.mask) / (1 - self.drop_rate)
