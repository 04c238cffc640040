"""question: q4_weight_decay
diagnosis: wrong sign
"""
import paddle
import nndl.op as op
from nndl.op import Op, Optimizer


class BatchGD(Optimizer):
    def __init__(self, init_lr, model, weight_decay):
        super(BatchGD, self).__init__(init_lr=init_lr, model=model)
        self.weight_decay = weight_decay
    def gradient_descent(self, x, gradient_x, init_lr):
        x = (1 + self.weight_decay) * x - init_lr * gradient_x
        return x
    def step(self):
        for layer in self.model.layers:
            if isinstance(layer.params, dict):
                for key in layer.params.keys():
                    layer.params[key] = self.gradient_descent(layer.params[key], layer.grads[key], self.init_lr)
