"""Sandbox side of the accuracy tests and of the checks on the book's MLP:
build the model from :data:`autograder.reference.PARTS` with the student's
class in its slot, and train it.

The accuracy probe trains the book's MLP on the training set and returns the
logits on the training and test inputs; the test labels never reach the
sandbox, and accuracy is computed by the grader (``accuracy.py``).
"""

from nndl.checks.core import StudentError, call_student, seed_everything, stack_params, tensor
from nndl.checks.core import student_class, to_numpy

from . import PARTS
from .models import MLP_3L, MLP_3L_dropout


def part(slot):
    """The reference class of ``slot``, or a clear error (it is the graded one)."""
    if slot not in PARTS:
        raise StudentError(f"the reference {slot} is not available here")
    return PARTS[slot]


def mlp_from(params, model="mlp", activation=None, dropout=None, drop_rate=0.0):
    """The book's MLP with the given weights ``[(W, b), ...]``; the activation
    and dropout classes default to the reference parts."""
    sizes = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
    relu_cls = activation or part("activation")
    if model == "mlp_dropout":
        net = MLP_3L_dropout(sizes, drop_rate, relu_cls=relu_cls,
                             dropout_cls=dropout or part("dropout"))
    else:
        net = MLP_3L(sizes, relu_cls=relu_cls)
    for layer, (W, b) in zip([net.fc1, net.fc2, net.fc3], params):
        layer.params["W"], layer.params["b"] = tensor(W), tensor(b)
    return net


def _plugged(ns, inputs, slot):
    """The student's class if it fills ``slot``, else the reference part."""
    if str(inputs["slot"]) != slot:
        return part(slot)
    name = str(inputs["graded_class"])
    cls = student_class(ns, name)
    if slot == "activation":             # fail early, with the constructor named
        call_student(f"{name}()", cls)
    elif slot == "dropout":
        call_student(f"{name}(drop_rate)", cls, float(inputs["p"]))
    return cls


def setup(ns, inputs):
    """Model, loss and optimizer of an accuracy run: the student's class (named
    ``inputs['graded_class']``) in slot ``inputs['slot']``, the reference parts
    elsewhere. Returns ``(model, loss_fn, optimizer, eval_args)``."""
    model_kind = str(inputs["model"])
    lr, p, lambd, beta = (float(inputs[key]) for key in ("lr", "p", "lambd", "beta"))
    activation = _plugged(ns, inputs, "activation")
    dropout = _plugged(ns, inputs, "dropout") if model_kind == "mlp_dropout" else None
    loss_cls, opt_cls = _plugged(ns, inputs, "loss"), _plugged(ns, inputs, "optimizer")
    seed_everything(inputs["seed"])
    try:
        net = mlp_from(stack_params(inputs), model_kind, activation, dropout, p)
    except Exception as e:  # noqa: BLE001 - the student's class inside the model
        raise StudentError(f"building the model with your {inputs['graded_class']} raised "
                           f"{type(e).__name__}: {e}") from None
    loss_fn = call_student(f"{loss_cls.__name__}(model, lambd)", loss_cls, net, lambd)
    optimizer = call_student(f"{opt_cls.__name__}(init_lr, model, weight_decay)", opt_cls, lr,
                             net, beta)
    return net, loss_fn, optimizer, (("dev",) if model_kind == "mlp_dropout" else ())


def train(ns, inputs, checkpoints=()):
    """The accuracy probe of the book's parts: :func:`setup`, then :func:`run_training`."""
    return run_training(setup(ns, inputs), inputs, checkpoints)


def run_training(built, inputs, checkpoints=()):
    """Train ``built`` = ``(model, loss_fn, optimizer, eval_args)`` for
    ``inputs['iterations']`` full-batch steps and return the train and test
    logits (and, for calibration, the logits at ``checkpoints``). A question's
    own training probe builds its model and calls this."""
    name = str(inputs["graded_class"])
    model, loss_fn, optimizer, eval_args = built
    X_train, y_train = tensor(inputs["X_train"]), tensor(inputs["y_train"])
    X_test = tensor(inputs["X_test"])
    result = {}
    try:
        for i in range(1, int(inputs["iterations"]) + 1):
            loss_fn(model(X_train), y_train)
            loss_fn.backward()
            optimizer.step()
            if i in checkpoints:
                result[f"train_logits_{i}"] = to_numpy(model(X_train, *eval_args))
                result[f"test_logits_{i}"] = to_numpy(model(X_test, *eval_args))
        result["train_logits"] = to_numpy(model(X_train, *eval_args))
        result["test_logits"] = to_numpy(model(X_test, *eval_args))
    except NotImplementedError:
        raise StudentError(f"{name} is not implemented yet") from None
    except StudentError:
        raise
    except Exception as e:  # noqa: BLE001
        raise StudentError(f"training with your {name} raised {type(e).__name__}: {e}") from None
    return result
