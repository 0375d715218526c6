"""The optimizer of a config, with its learning-rate schedule (schedules count optimizer steps,
that is batches)."""

import math

import keras

OPTIMIZERS = ("sgd", "rmsprop", "adam")
SCHEDULES = ("constant", "inverse_time", "step", "cosine", "onecycle")


def learning_rate(config, steps_per_epoch):
    """A float or a keras LearningRateSchedule; schedules count optimizer steps (batches)."""
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "inverse_time":  # lr0 / (1 + d * t), t in steps: report 001's alpha_t
        return keras.optimizers.schedules.InverseTimeDecay(lr, 1, config.decay_rate)
    if config.schedule == "step":
        boundaries = [steps_per_epoch * e for e in
                      range(config.step_epochs, config.epochs, config.step_epochs)]
        values = [lr * config.step_factor**i for i in range(len(boundaries) + 1)]
        if not boundaries:
            return lr
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    total = steps_per_epoch * config.epochs
    if config.schedule == "cosine":
        return _warm_cosine(lr, total, steps_per_epoch * config.warmup_epochs)
    if config.schedule == "onecycle":  # warm up over the first quarter, then down: one cycle
        return _warm_cosine(lr, total, total // 4)
    raise ValueError(f"unknown schedule {config.schedule!r}; expected one of {SCHEDULES}")


def _warm_cosine(lr, total, warmup):
    """A cosine from lr down to 0 over `total` steps, the first `warmup` of them a linear rise
    from lr/10 (Adam's early steps on a fresh batchnorm net are the least reliable ones)."""
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(lr, total)
    return keras.optimizers.schedules.CosineDecay(
        lr / 10, max(total - warmup, 1), warmup_target=lr, warmup_steps=warmup)


def make_optimizer(config, steps_per_epoch):
    lr = learning_rate(config, steps_per_epoch)
    # Decoupled weight decay (Keras applies w -= w * weight_decay * lr at each step, before the
    # gradient update: AdamW's rule, for every optimizer); None rather than 0 keeps the decay
    # step out of the graph.
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov,
                                         weight_decay=decay)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(lr, weight_decay=decay)
    elif config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(lr, weight_decay=decay)
    else:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; expected one of {OPTIMIZERS}")
    if decay:
        # Kernels only: decaying biases and batchnorm's scale and shift only shrinks what the
        # normalization sets (the usual AdamW practice; variable names are Keras'). Keras does
        # not save this list (by design, keras-team/keras#16274): a resumed run rebuilds it
        # here, but model.keras loaded with Keras alone and trained on decays every variable.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def steps_per_epoch(num_examples, batch_size):
    return max(1, math.ceil(num_examples / batch_size))
