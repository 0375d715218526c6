"""A multilayer perceptron in numpy alone, hand-written on purpose: it is the reports' from-scratch
exercise (001 section 1, 000 section 1.2.1), kept to check and explain what Keras does for the
rest of the app. Forward pass, manual backward pass (backpropagation) for sigmoid, tanh or relu
hidden layers and a softmax + cross-entropy output, the L2 penalty lambda * sum ||W||^2, zero /
normal / Glorot initialisation, and mini-batch SGD with report 001's rate a0 / (1 + d t).

Weights use Keras' layout, kernel (fan_in, fan_out) and x @ W + b, so `to_keras` copies them into
an `app.models.mlp.mlp` network unchanged. Report 001 writes W (fan_out, fan_in): its row r of W2
is column r of ours."""

import itertools
import json

import numpy as np
from threadpoolctl import threadpool_limits


def _sigmoid(z):
    # 0.5 (1 + tanh(z / 2)) is the sigmoid exactly, without exp(-z) overflowing for large -z.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# Each activation and its derivative written in terms of its output a = f(z): backprop keeps a.
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype)),
}
INITS = ("zero", "normal", "glorot")
EVAL_CHUNK = 2000  # examples per forward pass when evaluating: bounds memory to ~10 MB


def init_kernel(fan_in, fan_out, init, rng, dtype):
    """Report 001's three schemes: zeros, N(0, 1), Glorot U(-d, d), d = sqrt(6 / (in + out))."""
    if init == "zero":
        return np.zeros((fan_in, fan_out), dtype)
    if init == "normal":
        return rng.standard_normal((fan_in, fan_out)).astype(dtype)
    if init == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype)
    raise ValueError(f"unknown init {init!r}; expected one of {INITS}")


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)  # shift by the max: exp cannot overflow
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def inverse_time_rate(a0, decay, step):
    """Report 001's alpha_t = a0 / (1 + d t), t counting mini-batch updates from 0."""
    return a0 / (1.0 + decay * step)


class MLP:
    """sizes = (inputs, hidden..., classes); biases start at zero whatever the init."""

    def __init__(self, sizes, activation="sigmoid", init="glorot", l2=0.0, seed=0,
                 dtype=np.float32):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of "
                             f"{list(ACTIVATIONS)}")
        rng = np.random.default_rng(seed)
        self.sizes, self.activation, self.l2 = tuple(sizes), activation, l2
        self.weights = [init_kernel(i, o, init, rng, dtype) for i, o in itertools.pairwise(sizes)]
        self.biases = [np.zeros(o, dtype) for o in sizes[1:]]

    @property
    def params(self):
        """[W1, b1, W2, b2, ...]: the arrays themselves (updates are in place), in the order of
        Keras' `model.get_weights()`."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def count_params(self):
        return sum(p.size for p in self.params)

    def astype(self, dtype):
        """A copy in another float type (the gradient check compares float64 and float32)."""
        copy = MLP(self.sizes, self.activation, "zero", self.l2, dtype=dtype)
        for mine, theirs in zip(copy.params, self.params):
            mine[...] = theirs
        return copy

    def forward(self, x):
        """(activations [x, a1, ..., a_{L-1}], output log-probabilities (N, classes))."""
        f = ACTIVATIONS[self.activation][0]
        acts = [x]
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            acts.append(f(acts[-1] @ w + b))
        return acts, log_softmax(acts[-1] @ self.weights[-1] + self.biases[-1])

    def penalty(self):
        return self.l2 * sum(float(np.sum(w * w)) for w in self.weights)

    def objective(self, logp, y):
        """Mean cross-entropy of integer labels `y` plus the L2 penalty: report 001's R-hat."""
        return -float(logp[np.arange(len(y)), y].mean()) + self.penalty()

    def loss(self, x, y):
        return self.objective(self.forward(x)[1], y)

    def backward(self, acts, logp, y):
        """Gradients [dW1, db1, ...] of `objective` from the saved forward pass."""
        derivative = ACTIVATIONS[self.activation][1]
        delta = np.exp(logp)  # softmax; d(mean CE)/d(logits) = (softmax - onehot) / N
        delta[np.arange(len(y)), y] -= 1.0
        delta /= len(y)
        grads = []
        for layer in reversed(range(len(self.weights))):
            w, a_in = self.weights[layer], acts[layer]
            grads[:0] = [a_in.T @ delta + 2.0 * self.l2 * w, delta.sum(axis=0)]
            if layer:  # the input layer needs no delta: skipping it saves a 784-wide product
                delta = (delta @ w.T) * derivative(a_in)
        return grads

    def gradients(self, x, y):
        """(objective, gradients) on a batch."""
        acts, logp = self.forward(x)
        return self.objective(logp, y), self.backward(acts, logp, y)

    def step(self, grads, rate):
        for p, g in zip(self.params, grads):
            p -= rate * g

    def evaluate(self, x, y):
        """(objective, accuracy) over all of x, in chunks."""
        logp = np.concatenate([self.forward(x[i:i + EVAL_CHUNK])[1]
                               for i in range(0, len(x), EVAL_CHUNK)])
        return self.objective(logp, y), float((logp.argmax(1) == y).mean())

    def predict_proba(self, x):
        return np.exp(self.forward(x)[1])

    def save(self, path):
        """Weights and the architecture in one .npz."""
        meta = json.dumps({"sizes": self.sizes, "activation": self.activation, "l2": self.l2})
        np.savez(path, *self.params, meta=meta)

    @classmethod
    def load(cls, path):
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            arrays = [f[f"arr_{i}"] for i in range(2 * (len(meta["sizes"]) - 1))]
        model = cls(meta["sizes"], meta["activation"], "zero", meta["l2"], dtype=arrays[0].dtype)
        for mine, saved in zip(model.params, arrays):
            mine[...] = saved
        return model


def train(model, train_xy, val_xy, epochs, batch_size, a0, decay, seed=0, on_batch=None,
          on_epoch=None):
    """Mini-batch SGD on reshuffled batches; returns a Keras-style history dict (loss and accuracy
    are means over the epoch's batches, taken before each update, as Keras reports them).
    on_batch(epoch, batch, batches, mean_loss) and on_epoch(epoch, logs) report progress."""
    x, y = train_xy
    rng = np.random.default_rng(seed)
    batches = -(-len(x) // batch_size)
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")}
    step = 0
    # One BLAS thread: a 32-row batch is too small to split, and on a busy 2-core machine a second
    # thread made each step 50x slower (see app.cli.one_blas_thread). Not imported from
    # there: this module stays numpy-only, without TensorFlow.
    with threadpool_limits(limits=1, user_api="blas"):
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            total_loss = correct = seen = 0
            for batch in range(batches):
                index = order[batch * batch_size:(batch + 1) * batch_size]
                acts, logp = model.forward(x[index])
                total_loss += model.objective(logp, y[index]) * len(index)
                correct += int((logp.argmax(1) == y[index]).sum())
                seen += len(index)
                model.step(model.backward(acts, logp, y[index]),
                           inverse_time_rate(a0, decay, step))
                step += 1
                if on_batch:
                    on_batch(epoch, batch + 1, batches, total_loss / seen)
            val_loss, val_accuracy = model.evaluate(*val_xy)
            logs = {"loss": total_loss / len(x), "accuracy": correct / len(x),
                    "val_loss": val_loss, "val_accuracy": val_accuracy,
                    "learning_rate": inverse_time_rate(a0, decay, step)}
            for key, value in logs.items():
                history[key].append(value)
            if on_epoch:
                on_epoch(epoch, logs)
    return history


def to_keras(model, input_shape, name="scratch_mlp"):
    """The same network as a Keras model (`app.models.mlp.mlp`) holding the same weights, in the
    model's float type; it can be saved as model.keras and read by `python -m app.inspect`."""
    import keras  # late: TensorFlow takes seconds to import

    from app.models.mlp import mlp

    # The builder takes no dtype: its Input follows floatx and its layers the global dtype
    # policy, so set both for the build and put both back (the policy outlives set_floatx).
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    dtype = np.dtype(model.weights[0].dtype).name
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        net = mlp(tuple(input_shape), model.sizes[-1], model.sizes[1:-1], model.activation,
                  l2=model.l2, name=name)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
    net.set_weights(model.params)
    return net
