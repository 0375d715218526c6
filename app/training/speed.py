"""Speed settings chosen per machine (CPU or GPU), applied to every training run and recorded in
its config.json. They change how fast the same math runs, never what is computed.
`python -m app.bench` measures them; the README has the table."""

import os

import tensorflow as tf

# Defaults by machine kind. On this 2-core CPU XLA (jit_compile) was slower for the small CNNs,
# and TensorFlow's default thread pools (0 = one per core) were as fast as any fixed choice:
# mnist_cnn 253 images/s against 223 with intra 2 / inter 1 and 165 with intra 1 / inter 2.
# steps_per_execution is the most steps one call of Keras' train function may run (see
# steps_per_call): one Python round trip for several steps. On this CPU its gain was within the
# machine's noise (mnist_fast: 33.7 against 34.0 ms a step; README, "Training speed").
DEFAULTS = {
    "cpu": {"jit_compile": False, "steps_per_execution": 8, "intra_op_threads": 0,
            "inter_op_threads": 0},
    "gpu": {"jit_compile": True, "steps_per_execution": 1, "intra_op_threads": 0,
            "inter_op_threads": 0},
}


def machine():
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def _parse(value, default):
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    return type(default)(value)


def speed_settings(overrides=()):
    """The defaults for this machine with `key=value` overrides applied."""
    settings = dict(DEFAULTS[machine()])
    for pair in overrides:
        key, _, value = pair.partition("=")
        if key not in settings:
            raise ValueError(f"unknown speed setting {key!r}; valid: {', '.join(settings)}")
        settings[key] = _parse(value, settings[key])
    # Fixed at import time by app/__init__.py (TensorFlow reads it once): recorded, not settable.
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"
    return {"machine": machine(), **settings, "onednn": onednn}


def steps_per_call(limit, steps_per_epoch, *every):
    """The most steps, at most `limit`, that one call of Keras' train function can run without
    changing the training: a divisor of the epoch's steps and of every interval in `every` (in
    steps; 0 = none) at which a callback acts. Keras runs steps_per_execution steps a call
    whatever the epoch has left, so on app.train's one stream over all epochs a call that does
    not divide the epoch takes batches of the next one, and callbacks see only each call's
    last step."""
    return max(k for k in range(1, max(1, limit) + 1)
               if steps_per_epoch % k == 0 and all(n % k == 0 for n in every if n))


def apply_speed_settings(settings):
    """Set the thread pools (possible only before TensorFlow runs its first op)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(settings["intra_op_threads"])
        tf.config.threading.set_inter_op_parallelism_threads(settings["inter_op_threads"])
    except RuntimeError:  # already initialized in this process: the pools stay as they are
        pass
    return settings
