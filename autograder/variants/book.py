"""The book's own code for the four graded classes (section 7.6): the base every variant
modifies. Hard-coded float32 casts and all."""
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
        return paddle.multiply(outputs_grads, paddle.to_tensor(self.inputs > 0, dtype='float32'))

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
        return paddle.multiply(outputs_grad, self.mask) / (1 - self.drop_rate)

class BinaryCrossEntropyWithLogits(Op):
    def __init__(self, model, lambd):
        self.predicts = None
        self.labels = None
        self.data_size = None
        self.model = model
        self.logistic = op.Logistic()
        self.lambd = lambd
    def __call__(self, logits, labels):
        return self.forward(logits, labels)
    def forward(self, logits, labels):
        self.predicts = self.logistic(logits)
        self.labels = labels
        self.data_size = self.predicts.shape[0]
        loss = -1. / self.data_size * (paddle.matmul(self.labels.t(), paddle.log(self.predicts)) + paddle.matmul((1 - self.labels.t()), paddle.log(1 - self.predicts)))
        loss = paddle.squeeze(loss, axis=1)
        regularization_loss = 0
        for layer in self.model.layers:
            if isinstance(layer, op.Linear):
                regularization_loss += paddle.sum(paddle.square(layer.params['W']))
        loss += self.lambd * regularization_loss / (2 * self.data_size)
        return loss
    def backward(self):
        inputs_grads = 1./ self.data_size * (self.predicts - self.labels)
        self.model.backward(inputs_grads)
        for layer in self.model.layers:
            if isinstance(layer, op.Linear) and isinstance(layer.grads, dict):
                layer.grads['W'] += self.lambd * layer.params['W'] / self.data_size

class BatchGD(Optimizer):
    def __init__(self, init_lr, model, weight_decay):
        super(BatchGD, self).__init__(init_lr=init_lr, model=model)
        self.weight_decay = weight_decay
    def gradient_descent(self, x, gradient_x, init_lr):
        x = (1 - self.weight_decay) * x - init_lr * gradient_x
        return x
    def step(self):
        for layer in self.model.layers:
            if isinstance(layer.params, dict):
                for key in layer.params.keys():
                    layer.params[key] = self.gradient_descent(layer.params[key], layer.grads[key], self.init_lr)
