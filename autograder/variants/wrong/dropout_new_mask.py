"""question: q2_dropout
diagnosis: new mask
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
        new = paddle.cast(paddle.rand(outputs_grad.shape) > self.drop_rate, dtype='float32')
        return paddle.multiply(outputs_grad, new) / (1 - self.drop_rate)
