"""BatchGD written as x - lr*g - beta*x, iterating over params.items()."""
from nndl.op import Optimizer


class BatchGD(Optimizer):
    def __init__(self, init_lr, model, weight_decay):
        super().__init__(init_lr, model)
        self.weight_decay = weight_decay

    def gradient_descent(self, x, gradient_x, init_lr):
        return x - init_lr * gradient_x - self.weight_decay * x

    def step(self):
        for layer in self.model.layers:
            if layer.params is None:
                continue
            for name, value in list(layer.params.items()):
                layer.params[name] = self.gradient_descent(value, layer.grads[name], self.init_lr)
