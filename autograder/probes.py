"""Probes of the hidden checks (child side): the student's class plugged into
the reference implementation of everything else (:mod:`autograder.reference`).

``REF`` holds the reference classes this process may use: in a question's
worker, every one but the class that question grades (:func:`load_reference`,
called by the worker before any student code runs).

The accuracy probes train the book's MLP on the training set and return the
logits on the training and test inputs; the test labels never reach the
child, and accuracy is computed by the parent.
"""

from autograder import reference
from nndl.checks import GRADED_CLASS
from nndl.checks.core import StudentError, call_student, student_class, to_numpy
from nndl.checks.probes import tensor, loss_and_grads, seed_everything, stack_params


REF = {}            # reference classes by name, never the one being graded here
_LOADED_FOR = []    # the question REF was loaded for


def load_reference(question):
    """Fill ``REF`` with every reference class except the one ``question``
    grades (whose module is not even imported)."""
    REF.clear()
    REF.update(reference.load(exclude=GRADED_CLASS.get(question)))
    _LOADED_FOR[:] = [question]


def _ref(question):
    if _LOADED_FOR != [question]:
        load_reference(question)
    return REF


def _mlp_from(params, relu_cls=None, model_cls=None, **kwargs):
    sizes = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
    model = (model_cls or REF["MLP_3L"])(sizes, relu_cls=relu_cls or REF["ReLU"], **kwargs)
    for layer, (W, b) in zip([model.fc1, model.fc2, model.fc3], params):
        layer.params["W"], layer.params["b"] = tensor(W), tensor(b)
    return model


def mlp_loss_and_grads(ns, inputs):
    """Like the public loss probe, on the book's MLP with the reference ReLU."""
    _ref("q3_l2")
    return loss_and_grads(ns, inputs, model=_mlp_from)


def setup(question, ns, inputs):
    """The model, loss and optimizer of ``question``'s accuracy run: the
    student's class for that question, the reference for the rest. Returns
    ``(model, loss_fn, optimizer, eval_args)``."""
    ref = _ref(question)
    seed_everything(inputs["seed"])
    params = stack_params(inputs)
    lr = float(inputs["lr"])
    if question == "q1_relu":
        ReLU = student_class(ns, "ReLU")
        call_student("ReLU()", ReLU)
        model = _mlp_from(params, relu_cls=ReLU)
    elif question == "q2_dropout":
        Dropout = student_class(ns, "Dropout")
        call_student("Dropout(drop_rate)", Dropout, float(inputs["p"]))
        model = _mlp_from(params, model_cls=ref["MLP_3L_dropout"], drop_rate=float(inputs["p"]),
                          dropout_cls=Dropout)
    else:
        model = _mlp_from(params)
    if question == "q3_l2":
        Loss = student_class(ns, "BinaryCrossEntropyWithLogits")
        loss = call_student("BinaryCrossEntropyWithLogits(model, lambd)", Loss, model,
                            float(inputs["lambd"]))
    else:
        loss = ref["BinaryCrossEntropyWithLogits"](model, 0.0)
    if question == "q4_weight_decay":
        BatchGD = student_class(ns, "BatchGD")
        opt = call_student("BatchGD(init_lr, model, weight_decay)", BatchGD, lr, model,
                           float(inputs["beta"]))
    else:
        opt = ref["BatchGD"](lr, model, 0.0)
    return model, loss, opt, (("dev",) if question == "q2_dropout" else ())


def train(ns, inputs, question, checkpoints=()):
    """Train for ``inputs['iterations']`` full-batch steps and return the train
    and test logits (and, for calibration, the logits at ``checkpoints``)."""
    model, loss_fn, optimizer, eval_args = setup(question, ns, inputs)
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
        raise StudentError(f"{GRADED_CLASS[question]} is not implemented yet") from None
    except StudentError:
        raise
    except Exception as e:  # noqa: BLE001
        raise StudentError(f"training with your {GRADED_CLASS[question]} raised "
                           f"{type(e).__name__}: {e}") from None
    return result


def train_relu(ns, inputs):
    """Baseline MLP (lambda = 0, no decay) with the student's ReLU."""
    return train(ns, inputs, "q1_relu")


def train_dropout(ns, inputs):
    """Dropout MLP (p = 0.3) with the student's Dropout, evaluated in 'dev' mode."""
    return train(ns, inputs, "q2_dropout")


def train_l2(ns, inputs):
    """MLP with the student's l2-regularized loss (lambda = 0.7)."""
    return train(ns, inputs, "q3_l2")


def train_decay(ns, inputs):
    """MLP with the student's BatchGD (weight decay 0.001)."""
    return train(ns, inputs, "q4_weight_decay")
