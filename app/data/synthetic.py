"""Small synthetic problems of the reports: 2-D circles (report 000) and 1-D regression (004).

Report 004's regression csv is not public; this set follows its description: 100 training and
100 test points with inputs on about (-5, 5), outputs within about (-4, 7), and no training
inputs in (-3, -1) and (2, 3), so the fit in the gaps is extrapolation the test points reveal."""

import numpy as np

TRAIN_GAPS = ((-3.0, -1.0), (2.0, 3.0))
NOISE_STD = 0.2  # of the regression targets; the best reachable test MSE is about 0.04


def target_function(x):
    return 1.5 + 0.5 * x + 2.0 * np.sin(1.5 * x) * np.exp(-0.05 * x**2)


def regression_1d(n_train=100, n_test=100, seed=0):
    """{'train': (x, y), 'test': (x, y)}, float32 arrays of shape (N, 1)."""
    rng = np.random.default_rng(seed)
    x_test = rng.uniform(-5, 5, n_test)
    x_train = rng.uniform(-5, 5, 4 * n_train)
    in_gap = np.zeros_like(x_train, bool)
    for low, high in TRAIN_GAPS:
        in_gap |= (x_train > low) & (x_train < high)
    x_train = np.sort(x_train[~in_gap][:n_train])  # sorted left to right, as the report's csv
    make = lambda x: (x[:, None].astype(np.float32),  # noqa: E731
                      (target_function(x) + rng.normal(0, NOISE_STD, x.shape))[:, None]
                      .astype(np.float32))
    return {"train": make(x_train), "test": make(x_test)}


# The circles have radius 1 and 0.4 (factor) plus noise 0.1: plots cover [-1.6, 1.6]^2.
CIRCLES_EXTENT = 1.6


def circles(n_train=200, n_test=200, noise=0.1, factor=0.4, seed=0):
    """Two concentric noisy circles from scikit-learn: {'train': (x, y), 'test': (x, y)}."""
    from sklearn.datasets import make_circles  # late: scikit-learn takes seconds to import

    x, y = make_circles(n_train + n_test, noise=noise, factor=factor, random_state=seed)
    x = x.astype(np.float32)
    return {"train": (x[:n_train], y[:n_train]), "test": (x[n_train:], y[n_train:])}
