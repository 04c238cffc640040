"""Reference optimizer:  theta <- (1 - beta) theta - alpha g.

Written for speed (it is in every other question's accuracy run): no decay
work when beta is 0."""


class BatchGD:
    def __init__(self, init_lr, model, weight_decay=0.0):
        self.init_lr = init_lr
        self.model = model
        self.weight_decay = weight_decay

    def gradient_descent(self, x, gradient_x, init_lr):
        if self.weight_decay:
            x = (1 - self.weight_decay) * x
        return x - init_lr * gradient_x

    def step(self):
        for layer in self.model.layers:
            if isinstance(layer.params, dict):
                for key in layer.params:
                    layer.params[key] = self.gradient_descent(
                        layer.params[key], layer.grads[key], self.init_lr)
