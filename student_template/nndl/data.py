"""The lab's data: scikit-learn's ``make_moons`` with 300 noisy samples.

The first 200 samples train, the last 100 test. Features are float32 of shape
[N, 2]; labels are float32 of shape [N, 1] (float, so that ``1 - y`` and
``sigma(o) - y`` work on float32 logits without a dtype error).
"""

import numpy as np

N_SAMPLES = 300
NUM_TRAIN = 200
NOISE = 0.5
DATA_SEED = 0  # the lab's fixed random_state


def moons_arrays(seed=DATA_SEED, n_samples=N_SAMPLES, num_train=NUM_TRAIN, noise=NOISE):
    """Return ``(X_train, y_train, X_test, y_test)`` as numpy float32 arrays."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, shuffle=True, noise=noise, random_state=seed)
    X = X.astype(np.float32)
    y = y.astype(np.float32).reshape([-1, 1])
    return X[:num_train], y[:num_train], X[num_train:], y[num_train:]


def load_moons(seed=DATA_SEED, **kwargs):
    """Return ``(X_train, y_train, X_test, y_test)`` as paddle float32 tensors."""
    import paddle

    return tuple(paddle.to_tensor(a) for a in moons_arrays(seed, **kwargs))
