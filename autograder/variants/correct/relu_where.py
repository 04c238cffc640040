"""ReLU with paddle.where and a float zero, mask taken as >= 0 (same away from the kink)."""
import paddle
from nndl.op import Op


class ReLU(Op):
    def __init__(self):
        self.inputs = None
        self.params = None

    def forward(self, inputs):
        self.inputs = inputs
        return paddle.where(inputs >= 0, inputs, paddle.zeros_like(inputs))

    def backward(self, outputs_grads):
        return paddle.where(self.inputs >= 0, outputs_grads, paddle.zeros_like(outputs_grads))
