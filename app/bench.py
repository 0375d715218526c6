"""Training-speed benchmark: `python -m app.bench MODEL [--batch-size 128] [--steps N]`.

Times `model.fit` steps of a registered model on synthetic in-memory data after a warm-up
(SGD with momentum 0.9, the model's usual loss), and prints one JSON line last:
{"model", "batch_size", "images_per_second", "backend", "settings"}. `--all` runs the three seed
models in turn and prints a table. The figure is the fastest of `--passes` timed epochs: this
machine is noisy, and the fastest epoch is the one least disturbed by other work."""

import argparse
import json
import sys
import time

import numpy as np

from app import cli

SEED_MODELS = ("mnist_cnn", "cifar_cnn", "cats_dogs_cnn")


def synthetic_batch(model, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *model.input_shape[1:]), dtype=np.float32)
    units = model.output_shape[-1]
    y = rng.integers(0, max(units, 2), batch_size)
    return x, (y.astype(np.float32)[:, None] if units == 1 else y)


def bench(name, batch_size=128, steps=20, passes=3, settings=None):
    """Images per second of training `name`; returns the JSON-ready result dict."""
    import keras
    import tensorflow as tf

    from app.models import build, output_units
    from app.training.speed import (
        apply_speed_settings,
        fuse_batchnorm,
        speed_settings,
        steps_per_call,
    )

    settings = apply_speed_settings(settings or speed_settings())
    # As in training (app.training.run.compiled_model): calls that divide the timed steps.
    settings = {**settings, "steps_per_execution": steps_per_call(
        settings["steps_per_execution"], steps)}
    keras.utils.set_random_seed(0)
    classes = 10 if output_units(name, 10) == 10 else 2
    model = build(name, num_classes=output_units(name, classes))
    if settings["fused_batchnorm"]:
        fuse_batchnorm(model)
    loss = "binary_crossentropy" if model.output_shape[-1] == 1 else \
        "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), loss,
                  jit_compile=settings["jit_compile"],
                  steps_per_execution=settings["steps_per_execution"])
    x, y = synthetic_batch(model, batch_size)
    # One batch repeated: the benchmark measures the model, not the input pipeline.
    data = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(2)
    starts, seconds = [], []  # wall time of each epoch's training steps
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: starts.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(time.perf_counter() - starts[-1]))
    model.fit(data, epochs=1, steps_per_epoch=2 * settings["steps_per_execution"],
              shuffle=False, verbose=0)  # warm-up: graph tracing
    model.fit(data, epochs=passes, steps_per_epoch=steps, callbacks=[timer], shuffle=False,
              verbose=0)
    rate = batch_size * steps / min(seconds)
    return {"model": name, "batch_size": batch_size, "images_per_second": round(rate, 1),
            "backend": keras.backend.backend(), "settings": settings}


def parser():
    p = argparse.ArgumentParser(prog="python -m app.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="a registered model (`python -m app.models`)")
    p.add_argument("--all", action="store_true", help=f"run {', '.join(SEED_MODELS)}")
    p.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per pass")
    p.add_argument("--passes", type=int, default=3, help="timed passes; the fastest counts")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a speed setting (see app/training/speed.py), e.g. "
                   "jit_compile=true")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from app.models import MODELS  # late: Keras takes seconds to import
    from app.training.speed import speed_settings

    names = SEED_MODELS if args.all else [args.model]
    if not args.all and args.model not in MODELS:
        print(f"error: unknown model {args.model!r}; choose one of {', '.join(MODELS)}",
              file=sys.stderr)
        return 2
    for flag in ("batch_size", "steps", "passes"):
        if getattr(args, flag) < 1:
            name = f"--{flag.replace('_', '-')}"
            return cli.error(f"{name} {getattr(args, flag)}", "a positive integer",
                             f"pass {name} 1 or more")
    try:
        settings = speed_settings(args.set)
    except ValueError as error:  # an unknown key, or a value not of the setting's type
        return cli.error(f"--set: {error}", "KEY=VALUE, a setting of app/training/speed.py",
                         "e.g. --set steps_per_execution=4")
    results = []
    for name in names:
        results.append(bench(name, args.batch_size, args.steps, args.passes, settings))
        print(f"{name:<16} {results[-1]['images_per_second']:>9,.1f} images/s", flush=True)
    for result in results:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
