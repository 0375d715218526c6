"""Where training runs (config `strategy`, flag --strategy): `none`, one device; `mirrored`, the
GPUs of this machine (tf.distribute.MirroredStrategy); `multiworker`, several processes, on one
machine or several, each started with the same command and its own TF_CONFIG
(tf.distribute.MultiWorkerMirroredStrategy): README, "Surviving interruption, and several
workers". config.batch_size is the global batch, split among the replicas.

Every worker runs the whole program (the collective steps need them all); the chief (task 0)
writes the run folder and the checkpoints, the others write theirs in RUN/worker{N}/, and all
resume from the chief's checkpoints, so --out must be a folder every worker sees."""

import contextlib
import json
import os
from pathlib import Path

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name):
    """The tf.distribute strategy `name`, or None; call it before TensorFlow runs any op."""
    import tensorflow as tf

    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multiworker needs TF_CONFIG, the cluster's addresses "
                             "and this worker's index (see the README's TF_CONFIG example)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")


def task():
    """(type, index) of this process in TF_CONFIG; ('worker', 0) without it."""
    spec = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    return spec.get("type", "worker"), int(spec.get("index", 0))


def is_chief(strategy):
    """True for the one process that writes: the only one, TF_CONFIG's chief, or worker 0 of a
    cluster without a chief."""
    if strategy is None or not os.environ.get("TF_CONFIG"):
        return True
    kind, index = task()
    cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)


def run_folder(out_dir, strategy):
    """Where this process writes its run folder: `out_dir` for the chief, else a subfolder."""
    kind, index = task()
    return Path(out_dir) if is_chief(strategy) else Path(out_dir) / f"{kind}{index}"


def scope(strategy):
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def prepare(model, strategy, input_spec):
    """Work around two failures of Keras 3's fit and evaluate under MultiWorkerMirroredStrategy
    (keras-team/keras#20585); other strategies are left alone.

    1. Before training they average a real batch over the workers to build the model
       (`_maybe_symbolic_build`), which fails in eager mode ("Attempt to convert a value
       (PerReplica ...)"): the model, its metrics and optimizer are built here from the
       data's spec instead, and that step is skipped.
    2. They average each step's logs over the workers with `strategy.reduce("MEAN", v, axis=0)`,
       which fails on scalars ("Invalid reduction dimension 0"): the steps here return each
       log as a (1,) tensor, which that reduction turns back into the scalar mean."""
    import keras
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    with strategy.scope():
        model._symbolic_build(data_batch=input_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def one_element(step):
        return lambda data: keras.tree.map_structure(
            lambda value: keras.ops.reshape(value, (1,)), step(data))

    model.train_step, model.test_step = one_element(model.train_step), one_element(model.test_step)
