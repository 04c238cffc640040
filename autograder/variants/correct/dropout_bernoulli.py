"""Dropout with paddle.bernoulli and the scale folded into the stored mask."""
import paddle
from nndl.op import Op


class Dropout(Op):
    def __init__(self, drop_rate):
        self.drop_rate = drop_rate
        self.mask = None
        self.params = None

    def forward(self, inputs):
        keep = paddle.bernoulli(paddle.full(inputs.shape, 1.0 - self.drop_rate))
        self.mask = keep.astype(inputs.dtype) / (1.0 - self.drop_rate)
        return inputs * self.mask

    def backward(self, outputs_grad):
        return outputs_grad * self.mask
