"""The book's full-batch training loop, ``train_model``."""

from dataclasses import dataclass, field

from .i18n import N_, say
from .metrics import accuracy_logits


@dataclass
class TrainResult:
    """What ``train_model`` returns: the loss every ``log_every`` iterations and
    the final train/test accuracy."""

    losses: list = field(default_factory=list)
    train_acc: float = float("nan")
    test_acc: float = float("nan")


def train_model(X_train, y_train, X_test, y_test, model, optimizer, loss_fn,
                num_iters, *args, log_every=100, verbose=True):
    """Train ``model`` for ``num_iters`` full-batch steps.

    Each step: forward, loss, ``loss_fn.backward()`` (which back-propagates
    through the model), ``optimizer.step()``. ``args`` are passed to the model
    when the accuracy is evaluated (``'dev'`` puts a dropout model in
    evaluation mode, as in the book).
    """
    result = TrainResult()
    for i in range(num_iters):
        logits = model(X_train)
        loss = loss_fn(logits, y_train)
        loss_fn.backward()
        optimizer.step()
        if i % log_every == 0:
            result.losses.append(float(loss.reshape([-1])[0].item()))
    result.train_acc = float(accuracy_logits(model(X_train, *args), y_train).item())
    result.test_acc = float(accuracy_logits(model(X_test, *args), y_test).item())
    if verbose:
        print(say(N_("train accuracy: %(accuracy)s"), accuracy=f"{result.train_acc:.3f}"))
        print(say(N_("test accuracy:  %(accuracy)s"), accuracy=f"{result.test_acc:.3f}"))
    return result
