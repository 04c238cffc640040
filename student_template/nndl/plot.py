"""Decision-boundary plot, saved as a PNG."""

import numpy as np


def show_class_boundary(model, X_train, y_train, *args, fig_name="boundary.png", title=None):
    """Colour the plane by the model's predicted class and overlay the training
    points; save the figure to ``fig_name`` and return it.

    ``args`` go to the model (``'dev'`` for a dropout model in evaluation mode).
    """
    import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves
    import paddle

    x1, x2 = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-3, 3, 200))
    grid = np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)
    logits = model(paddle.to_tensor(grid), *args)
    pred = (np.asarray(logits.numpy()).reshape(x1.shape) > 0).astype(int)

    X = np.asarray(X_train.numpy() if hasattr(X_train, "numpy") else X_train)
    y = np.asarray(y_train.numpy() if hasattr(y_train, "numpy") else y_train).ravel()

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.contourf(x1, x2, pred, levels=[-0.5, 0.5, 1.5], colors=["#f19ec2", "#f5f5f5"])
    ax.scatter(X[y == 0, 0], X[y == 0, 1], marker="*", c="#000000", label="class 0")
    ax.scatter(X[y == 1, 0], X[y == 1, 1], marker="*", c="#e4007f", label="class 1")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    fig.savefig(fig_name, dpi=80, bbox_inches="tight")
    return fig
