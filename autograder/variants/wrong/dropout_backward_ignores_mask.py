"""question: q2_dropout
diagnosis: ignores the mask
"""
import paddle
import nndl.op as op
from nndl.op import Op, Optimizer


class Dropout(Op):
    def __init__(self, drop_rate):
        self.mask = None
        self.drop_rate = drop_rate
    def forward(self, inputs):
        mask = paddle.cast(paddle.rand(inputs.shape) > self.drop_rate, dtype='float32')
        self.mask = mask
        inputs = paddle.multiply(inputs, mask)
        inputs /= (1 - self.drop_rate)
        return inputs
    def backward(self, outputs_grad):
        return outputs_grad / (1 - self.drop_rate)
