"""Probes of the hidden checks (child side): the student's class plugged into
the reference implementation of everything else (:mod:`autograder.reference`).

The accuracy probes train the book's MLP on the training set and return the
logits on the training and test inputs; the test labels never reach the
child, and accuracy is computed by the parent.
"""

from autograder import reference as ref
from nndl.checks.core import StudentError, call_student, student_class, to_numpy
from nndl.checks.probes import _tensor, loss_and_grads, seed_everything, stack_params


def _mlp_from(params, relu_cls=ref.ReLU, model_cls=ref.MLP_3L, **kwargs):
    sizes = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
    model = model_cls(sizes, relu_cls=relu_cls, **kwargs)
    for layer, (W, b) in zip([model.fc1, model.fc2, model.fc3], params):
        layer.params["W"], layer.params["b"] = _tensor(W), _tensor(b)
    return model


def mlp_loss_and_grads(ns, inputs):
    """Like the public loss probe, on the book's MLP with the reference ReLU."""
    return loss_and_grads(ns, inputs, model=_mlp_from)


def _train(model, loss_fn, optimizer, inputs, *eval_args):
    X_train, y_train = _tensor(inputs["X_train"]), _tensor(inputs["y_train"])
    X_test = _tensor(inputs["X_test"])
    for _ in range(int(inputs["iterations"])):
        logits = model(X_train)
        loss_fn(logits, y_train)
        loss_fn.backward()
        optimizer.step()
    return {"train_logits": to_numpy(model(X_train, *eval_args)),
            "test_logits": to_numpy(model(X_test, *eval_args))}


def _init(inputs):
    seed_everything(inputs["seed"])
    return stack_params(inputs)


def train_relu(ns, inputs):
    """Baseline MLP (lambda = 0, no decay) with the student's ReLU."""
    ReLU = student_class(ns, "ReLU")
    params = _init(inputs)
    call_student("ReLU()", ReLU)
    model = _mlp_from(params, relu_cls=ReLU)
    loss = ref.BinaryCrossEntropyWithLogits(model, 0.0)
    opt = ref.BatchGD(float(inputs["lr"]), model, 0.0)
    return _guard(lambda: _train(model, loss, opt, inputs), "ReLU")


def train_dropout(ns, inputs):
    """Dropout MLP with the student's Dropout, evaluated in 'dev' mode."""
    Dropout = student_class(ns, "Dropout")
    params = _init(inputs)
    call_student("Dropout(drop_rate)", Dropout, float(inputs["p"]))
    model = _mlp_from(params, model_cls=ref.MLP_3L_dropout, drop_rate=float(inputs["p"]),
                      dropout_cls=Dropout)
    loss = ref.BinaryCrossEntropyWithLogits(model, 0.0)
    opt = ref.BatchGD(float(inputs["lr"]), model, 0.0)
    return _guard(lambda: _train(model, loss, opt, inputs, "dev"), "Dropout")


def train_l2(ns, inputs):
    """MLP with the student's l2-regularized loss."""
    Loss = student_class(ns, "BinaryCrossEntropyWithLogits")
    model = _mlp_from(_init(inputs))
    loss = call_student("BinaryCrossEntropyWithLogits(model, lambd)", Loss, model,
                        float(inputs["lambd"]))
    opt = ref.BatchGD(float(inputs["lr"]), model, 0.0)
    return _guard(lambda: _train(model, loss, opt, inputs), "BinaryCrossEntropyWithLogits")


def train_decay(ns, inputs):
    """MLP with the student's BatchGD and weight decay."""
    BatchGD = student_class(ns, "BatchGD")
    model = _mlp_from(_init(inputs))
    loss = ref.BinaryCrossEntropyWithLogits(model, 0.0)
    opt = call_student("BatchGD(init_lr, model, weight_decay)", BatchGD, float(inputs["lr"]),
                       model, float(inputs["beta"]))
    return _guard(lambda: _train(model, loss, opt, inputs), "BatchGD")


def _guard(run, what):
    try:
        return run()
    except NotImplementedError:
        raise StudentError(f"{what} is not implemented yet") from None
    except StudentError:
        raise
    except Exception as e:  # noqa: BLE001
        raise StudentError(f"training with your {what} raised {type(e).__name__}: {e}") from None


