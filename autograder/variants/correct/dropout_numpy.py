"""Dropout drawing its mask with numpy's global generator and a boolean mask."""
import numpy as np
import paddle
from nndl.op import Op


class Dropout(Op):
    def __init__(self, drop_rate):
        self.p = drop_rate

    def forward(self, inputs):
        self.keep = np.random.rand(*inputs.shape) >= self.p
        scale = paddle.to_tensor(self.keep.astype("float64") / (1 - self.p)).astype(inputs.dtype)
        return inputs * scale

    def backward(self, outputs_grad):
        scale = paddle.to_tensor(self.keep.astype("float64") / (1 - self.p))
        return outputs_grad * scale.astype(outputs_grad.dtype)
