"""The lab's data: scikit-learn's ``make_moons`` with 300 noisy samples.

The first 200 samples train, the last 100 test. Features are float32 of shape
[N, 2]; labels are float32 of shape [N, 1] (float, so that ``1 - y`` and
``sigma(o) - y`` work on float32 logits without a dtype error).

:func:`make_moons` draws the same points as scikit-learn's for the same
``random_state`` (a test compares them), in numpy alone: importing
scikit-learn takes longer than grading a question.
"""

import numpy as np

N_SAMPLES = 300
NUM_TRAIN = 200
NOISE = 0.5
DATA_SEED = 0  # the lab's fixed random_state


def make_moons(n_samples, noise, random_state):
    """Two interleaving half circles with Gaussian noise, shuffled: ``(X, y)``,
    as ``sklearn.datasets.make_moons(n_samples, shuffle=True, noise=noise,
    random_state=random_state)`` gives them."""
    rng = np.random.RandomState(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer, inner = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(outer), 1 - np.cos(inner)),
                   np.append(np.sin(outer), 1 - np.sin(inner) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n_samples)
    rng.shuffle(order)
    X, y = X[order], y[order]
    return X + rng.normal(scale=noise, size=X.shape), y


def moons_arrays(seed=DATA_SEED, n_samples=N_SAMPLES, num_train=NUM_TRAIN, noise=NOISE):
    """Return ``(X_train, y_train, X_test, y_test)`` as numpy float32 arrays."""
    X, y = make_moons(n_samples, noise, seed)
    X = X.astype(np.float32)
    y = y.astype(np.float32).reshape([-1, 1])
    return X[:num_train], y[:num_train], X[num_train:], y[num_train:]


def load_moons(seed=DATA_SEED, **kwargs):
    """Return ``(X_train, y_train, X_test, y_test)`` as paddle float32 tensors."""
    import paddle

    return tuple(paddle.to_tensor(a) for a in moons_arrays(seed, **kwargs))
