"""Time to accuracy: the training seconds until a model first reaches a target accuracy on a
held-out split (`mnist_fast`'s figure, issue 7). The clock is `fit`'s wall time less the time
spent in these checks and in Keras' validation, so it counts training alone: graph tracing, the
input pipeline and the optimizer steps."""

import time

import keras


def predicted_classes(probs):
    """Class indices from a classifier's outputs: one sigmoid unit (> 0.5) or a softmax."""
    return (probs[:, 0] > 0.5).astype(int) if probs.shape[-1] == 1 else probs.argmax(1)


def accuracy(model, x, y, batch_size=1000):
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float((predicted_classes(probs) == y).mean())


class TimeToAccuracy(keras.callbacks.Callback):
    """Checks accuracy on (x, y) every `every_steps` batches and at each epoch's end; `checks`
    lists (step, seconds, accuracy) and `reached` the first check at or above `target`."""

    def __init__(self, x, y, target, every_steps=0, clock=time.perf_counter):
        super().__init__()
        self.x, self.y, self.target, self.every, self.clock = x, y, target, every_steps, clock
        self.checks, self.reached = [], None

    def on_train_begin(self, logs=None):
        self.start, self.paused, self.step = self.clock(), 0.0, 0

    def on_test_begin(self, logs=None):
        self.test_start = self.clock()

    def on_test_end(self, logs=None):
        self.paused += self.clock() - self.test_start

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.every and self.step % self.every == 0:
            self.check()

    def on_epoch_end(self, epoch, logs=None):
        if not (self.every and self.step % self.every == 0):  # not just checked
            self.check()

    def check(self):
        now = self.clock()
        seconds = now - self.start - self.paused
        acc = accuracy(self.model, self.x, self.y)
        self.paused += self.clock() - now
        self.checks.append((self.step, round(seconds, 2), acc))
        if self.reached is None and acc >= self.target:
            self.reached = self.checks[-1]
            print(f"\nReached accuracy {acc:.4f} >= {self.target} after {seconds:.1f} s of "
                  f"training ({self.step} steps)", flush=True)

    def summary(self):
        """What metrics.json records: the target, when it was reached (None: never), checks."""
        step, seconds, acc = self.reached or (None, None, None)
        return {"target_accuracy": self.target, "seconds_to_target": seconds,
                "steps_to_target": step, "accuracy_at_target": acc,
                "target_checks": [dict(zip(("step", "seconds", "accuracy"), c))
                                  for c in self.checks]}


def checks_every(config, steps_per_epoch):
    """Steps between checks: `target_every` if set, else eight checks an epoch."""
    return config.target_every or max(1, steps_per_epoch // 8)
