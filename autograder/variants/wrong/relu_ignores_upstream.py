"""question: q1_relu
diagnosis: ignores the upstream gradient
"""
import paddle
import nndl.op as op
from nndl.op import Op, Optimizer


class ReLU(Op):
    def __init__(self):
        self.inputs = None
        self.outputs = None
        self.params = None
    def forward(self, inputs):
        self.inputs = inputs
        return paddle.multiply(inputs, paddle.to_tensor(inputs > 0, dtype='float32'))
    def backward(self, outputs_grads):
        return paddle.to_tensor(self.inputs > 0, dtype='float32')
