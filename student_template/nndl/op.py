"""Hand-written operators in the style of the book's ``nndl.op`` (no autograd).

Every operator keeps what its backward pass needs from the forward pass.
Operators with parameters expose ``params`` and ``grads`` dicts keyed ``'W'``
and ``'b'``; operators without parameters have ``params = None``.
"""

import paddle


class Op:
    """Base class of an operator: ``forward`` computes, ``backward`` returns the
    gradient with respect to the forward's input."""

    params = None

    def __call__(self, inputs):
        return self.forward(inputs)

    def forward(self, inputs):
        raise NotImplementedError

    def backward(self, outputs_grads):
        raise NotImplementedError


class Linear(Op):
    """Affine layer ``Z = X W + b``.

    ``W`` (input_size x output_size) is drawn from a standard normal
    distribution and ``b`` (1 x output_size) starts at zero, as in the book.

    Backward, for upstream gradient ``G = dR/dZ``::

        dR/dW = X^T G        dR/db = sum over rows of G        dR/dX = G W^T
    """

    def __init__(self, input_size, output_size, name=None,
                 weight_init=paddle.standard_normal, bias_init=paddle.zeros):
        self.params = {
            "W": weight_init(shape=[input_size, output_size]),
            "b": bias_init(shape=[1, output_size]),
        }
        self.grads = {}
        self.inputs = None
        self.name = name

    def forward(self, inputs):
        self.inputs = inputs
        return paddle.matmul(inputs, self.params["W"]) + self.params["b"]

    def backward(self, grads):
        self.grads["W"] = paddle.matmul(self.inputs.t(), grads)
        self.grads["b"] = paddle.sum(grads, axis=0, keepdim=True)
        return paddle.matmul(grads, self.params["W"].t())


class Logistic(Op):
    """Logistic (sigmoid) function ``sigma(z) = 1 / (1 + exp(-z))``;
    backward: ``dR/dz = dR/da * a * (1 - a)``."""

    def __init__(self):
        self.inputs = None
        self.outputs = None

    def forward(self, inputs):
        self.inputs = inputs
        self.outputs = 1.0 / (1.0 + paddle.exp(-inputs))
        return self.outputs

    def backward(self, grads):
        return paddle.multiply(grads, paddle.multiply(self.outputs, 1.0 - self.outputs))


class Optimizer:
    """Base class of an optimizer: keeps the learning rate and the model whose
    layers' ``params`` it updates from their ``grads`` in ``step()``."""

    def __init__(self, init_lr, model):
        self.init_lr = init_lr
        self.model = model

    def step(self):
        raise NotImplementedError
