"""The experiment config: one frozen dataclass, and `--set key=value` overrides applied with
`dataclasses.replace`, checked against each field's type.

Imports nothing heavy: `python -m app.train --list` and `--help` read the registry without
loading TensorFlow; `validate` imports the registries it checks names against."""

import dataclasses
import math
from dataclasses import dataclass
from pathlib import PurePath


def choices():
    """{field: its valid values} for the fields that name something registered elsewhere."""
    from app.data import DATASETS, SOURCES
    from app.data.augment import AUGMENTATIONS
    from app.data.images import RESIZE
    from app.data.preprocess import NORMALIZATIONS
    from app.models import MODELS
    from app.models.mlp import ACTIVATIONS, INITIALIZERS
    from app.training.distribute import STRATEGIES
    from app.training.optim import OPTIMIZERS, SCHEDULES

    return {"dataset": DATASETS, "model": MODELS, "data": SOURCES, "resize": RESIZE,
            "normalize": NORMALIZATIONS, "augment": AUGMENTATIONS,
            "augment_on": ("auto", "pipeline", "model"), "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES, "strategy": STRATEGIES,
            "best_metric": ("val_loss", "val_accuracy"), "activation": ACTIVATIONS,
            "init": tuple(INITIALIZERS)}


def _at_least(low):
    return lambda value: value >= low


# Numeric fields and the values each takes: (test, the values in words). Checked before any work,
# so that a typo costs a second, not a run that fails or means nothing (a negative rate).
BOUNDS = {
    **{key: (_at_least(1), "at least 1") for key in ("epochs", "batch_size", "image_size",
                                                      "width", "kernel_size", "step_epochs")},
    "depth": (_at_least(0), "0 (no hidden layer) or more"),
    "step_factor": (lambda v: v > 0, "above 0"),
    "reduce_lr_factor": (lambda v: 0 < v < 1, "in (0, 1)"),
    "min_lr": (_at_least(0), "0 or more"),
    "val_split": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "learning_rate": (lambda v: v > 0, "above 0"),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "cutout": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1) (0: off)"),
    # Keras' CutMix draws its alpha from a range inside [0, 1] (the paper's alpha is 1).
    "cutmix": (lambda v: 0 <= v <= 1, "in [0, 1] (0: off)"),
    "target_accuracy": (lambda v: 0 <= v <= 1, "in [0, 1] (0: off)"),
    **{key: (_at_least(0), "0 (off) or more") for key in (
        "checkpoint_every_steps", "max_minutes", "warmup_epochs", "mixup", "l2", "weight_decay",
        "decay_rate", "reduce_lr_patience", "early_stopping_patience", "target_every",
        "histogram_freq", "progressive_from", "teacher_fraction")},
}


def parse_sides(text):
    """Image sides in pixels from a tta_sizes text such as "128,160"; () for ""; a ValueError
    with the fix for anything else."""
    sides = str(text).replace(" ", "").split(",") if str(text).strip() else []
    if not all(side.isdigit() and 16 <= int(side) <= 1024 for side in sides):
        raise ValueError(f"tta_sizes takes image sides in pixels (16-1024) such as 160 or "
                         f"128,160, got {text!r}. Fix: --set tta_sizes=160.")
    return tuple(int(side) for side in sides)


def with_defaults(saved):
    """A config dict saved by an earlier version, with the fields added since at their defaults
    (new fields default to the old behaviour), so it compares equal to the same config now."""
    return {**{f.name: f.default for f in dataclasses.fields(Config)
               if f.default is not dataclasses.MISSING}, **saved}


@dataclass(frozen=True)
class Config:
    name: str
    description: str
    dataset: str  # a name in app.data.DATASETS
    model: str  # a name in app.models.MODELS
    # Data
    data: str = "auto"  # auto | dir | tfds | sample (see app.data.resolve_source)
    limit: int = 0  # at most this many train and held-out examples; 0 = all
    val_split: float = 0.1  # stratified validation fraction of train; 0 = source's own split
    image_size: int = 64  # pixels, for image-folder datasets
    # Progressive resizing (fastai, FFCV): train on images of this side in pixels first, growing
    # them to image_size over the first 3/4 of the epochs; 0 = off. Image folders only.
    progressive_from: int = 0
    # Pseudo-labels (self-training): a teacher, this config trained for teacher_fraction x epochs
    # in RUN/teacher/, labels the images of this folder of the dataset (cats_dogs/test1), and the
    # run trains on them beside the labelled ones; "" = off. Image folders only.
    unlabeled: str = ""
    teacher_fraction: float = 0.0
    resize: str = "squash"  # image folders: squash | pad (keep aspect) | crop (center crop)
    normalize: str = "scale"  # scale to [0, 1] | standardize per channel | zca whitening
    augment: str = "none"  # a name in app.data.augment.AUGMENTATIONS
    augment_on: str = "auto"  # pipeline (tf.data) | model (inside it) | auto (model on a GPU)
    cutout: float = 0.0  # probability of erasing a random patch of each training image
    mixup: float = 0.0  # MixUp's alpha; 0 = off
    cutmix: float = 0.0  # CutMix's alpha (pastes a box of another image, Beta(a, a) of it); 0 = off
    label_smoothing: float = 0.0  # train on targets 1 - s + s/classes and s/classes; 0 = off
    # Model hyperparameters, passed to the builder when it takes them
    init: str = "glorot"
    l2: float = 0.0
    dropout: float = 0.0
    batchnorm: bool = False
    width: int = 32
    depth: int = 2
    activation: str = "tanh"
    kernel_size: int = 3  # convolution kernel side in pixels, for builders that take it
    # Optimisation
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"  # sgd | rmsprop | adam
    learning_rate: float = 1e-3
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0  # decoupled (AdamW-style) decay of kernels per unit rate; 0 = off
    nesterov: bool = False
    schedule: str = "constant"  # constant | inverse_time | step | cosine | onecycle
    decay_rate: float = 0.0  # inverse_time: lr = lr0 / (1 + decay_rate * step)
    step_epochs: int = 10  # step: multiply the rate by step_factor every step_epochs
    step_factor: float = 0.1
    warmup_epochs: int = 0  # cosine: rise linearly from lr/10 to lr over these epochs first
    # Callbacks
    reduce_lr_patience: int = 0  # ReduceLROnPlateau on val_loss; 0 = off
    reduce_lr_factor: float = 0.5
    min_lr: float = 1e-6
    early_stopping_patience: int = 0  # EarlyStopping on best_metric with best weights; 0 = off
    checkpoint: bool = True  # keep the best-on-validation model as best.keras
    # What "best on validation" means for early stopping and best.keras: val_loss, or
    # val_accuracy as report 001 chose (its Kaggle submission was its most accurate epoch).
    best_metric: str = "val_loss"
    max_minutes: float = 0.0  # stop after the last epoch that fits in this time; 0 = no limit
    tensorboard: bool = True
    histogram_freq: int = 0  # epochs between TensorBoard histograms of the weights; 0 = none
    export: bool = True  # also write the model as a SavedModel (saved_model/) for serving
    tta: bool = False  # also report held-out metrics averaged with mirrored images
    # With tta, also average the predictions on the held-out images decoded at these sides in
    # pixels, e.g. "160" (multi-scale testing); a network of any size, image folders only.
    tta_sizes: str = ""
    feature_maps: str = ""  # epochs, e.g. "1,10,50": save feature maps of one image per class
    feature_maps_layer: str = ""  # a conv layer name; default the first convolution
    target_accuracy: float = 0.0  # record training seconds until held-out accuracy first
    target_every: int = 0  # reaches this (0 = off), checked every N steps (0: 8 times an epoch)
    seed: int = 0
    # Surviving interruption and several workers (app/training/resume.py, distribute.py)
    deterministic: bool = False  # deterministic TensorFlow ops (--seed sets it): same weights
    checkpoint_every_steps: int = 0  # also checkpoint every N batches inside an epoch; 0 = off
    strategy: str = "none"  # none | mirrored (local GPUs) | multiworker (TF_CONFIG)

    def dense_labels(self):
        """Whether training takes one-hot labels: mixup and cutmix mix them, smoothing softens
        them."""
        return bool(self.mixup or self.cutmix or self.label_smoothing)

    def model_kwargs(self):
        """The config fields that the model builder takes as hyperparameters."""
        from app.models import hyperparameters

        return {k: getattr(self, k) for k in hyperparameters(self.model) if hasattr(self, k)}

    def tta_sides(self):
        """tta_sizes as a tuple of sides in pixels; () when it is off."""
        return parse_sides(self.tta_sizes)

    def validate(self):
        """self, or a ValueError naming the bad value, what is valid and the fix."""
        for key, valid in choices().items():
            if getattr(self, key) not in valid:
                raise ValueError(f"{key}={getattr(self, key)!r} is not one of {list(valid)}. "
                                 f"Fix: --set {key}=<one of those>.")
        if self.schedule != "constant" and self.reduce_lr_patience:
            raise ValueError(
                f"{self.name}: schedule={self.schedule!r} and reduce_lr_patience="
                f"{self.reduce_lr_patience} cannot both drive the learning rate (Keras cannot "
                "set the rate of an optimizer built on a schedule). Fix: --set schedule=constant "
                "or --set reduce_lr_patience=0.")
        for key, (ok, valid) in BOUNDS.items():
            if not ok(getattr(self, key)):
                raise ValueError(f"{key} must be {valid}, got {getattr(self, key)}. Fix: --set "
                                 f"{key}=<a value {valid}>.")
        if self.limit < 0 or self.limit == 1:
            raise ValueError(f"limit must be 0 (all) or at least 2, got {self.limit}: a run "
                             "needs a training and a validation example. Fix: --limit N, N >= 2.")
        if self.mixup and self.cutmix:
            raise ValueError(
                f"mixup={self.mixup} and cutmix={self.cutmix}: a batch is mixed one way. Fix: "
                "--set mixup=0 or --set cutmix=0.")
        if self.cutmix and self.progressive_from:
            raise ValueError(
                f"cutmix={self.cutmix} with progressive_from={self.progressive_from}: Keras' "
                "CutMix needs the image side known when the pipeline is built, and progressive "
                "resizing changes it by epoch. Fix: --set cutmix=0, or --set mixup=0.2 instead.")
        if self.progressive_from:
            self._check_progressive()
        if self.unlabeled or self.teacher_fraction:
            self._check_pseudo_labels()
        if self.tta_sizes:
            self._check_tta_sizes()
        epochs = self.feature_maps.replace(" ", "").split(",") if self.feature_maps else []
        if not all(e.isdigit() and int(e) >= 1 for e in epochs):
            raise ValueError(f"feature_maps takes epoch numbers such as 1,10,50, got "
                             f"{self.feature_maps!r}. Fix: --set feature_maps=1,10.")
        return self

    def _check_progressive(self):
        if self.dataset != "cats_dogs" or self.progressive_from > self.image_size:
            raise ValueError(
                f"progressive_from={self.progressive_from} needs an image-folder dataset "
                f"(cats_dogs) and at most image_size={self.image_size} px: it is the side "
                "training starts at. Fix: --set progressive_from=0, or a size <= image_size.")
        self._check_any_size("progressive_from", "--set progressive_from=0")

    def _check_any_size(self, key, off):
        from app.models import takes_any_size

        if self.normalize == "zca" or not takes_any_size(self.model):
            raise ValueError(
                f"{key} needs a network for images of any size, but {self.model} with "
                f"normalize={self.normalize} takes one size only (a Flatten, or ZCA's matrix). "
                f"Fix: {off}, or a model with global pooling such as small_xception.")

    def _check_tta_sizes(self):
        parse_sides(self.tta_sizes)
        if not self.tta or self.dataset != "cats_dogs" or self.data == "tfds":
            raise ValueError(
                f"tta_sizes={self.tta_sizes!r} needs tta on and an image-folder dataset "
                f"(cats_dogs, not tfds), got tta={self.tta}, dataset={self.dataset}, "
                f"data={self.data}: its held-out images are decoded again at each side. Fix: "
                "--set tta=true, or --set tta_sizes= for none.")
        self._check_any_size("tta_sizes", "--set tta_sizes=")

    def _check_pseudo_labels(self):
        if not (self.unlabeled and self.teacher_fraction) or self.data == "tfds" or (
                self.dataset, self.strategy) != ("cats_dogs", "none"):
            raise ValueError(
                f"unlabeled={self.unlabeled!r} and teacher_fraction={self.teacher_fraction} go "
                "together, on image folders (cats_dogs, not tfds) and without a strategy: the "
                "teacher trained for that fraction of the epochs labels that folder. Fix: --set "
                "unlabeled=test1 --set teacher_fraction=0.6, or both off (--set unlabeled= --set "
                "teacher_fraction=0).")
        if PurePath(self.unlabeled).name != self.unlabeled or self.unlabeled in (
                ".", "..", "train", "validation"):
            raise ValueError(
                f"unlabeled={self.unlabeled!r} must name a folder beside train/ and validation/ "
                "in cats_dogs/ (such as test1): labelled or held-out images would otherwise "
                "train again, or leak into training. Fix: --set unlabeled=test1.")


def parse_value(name, kind, text):
    """`text` as a value of type `kind` (bool takes 1/0, true/false, yes/no, on/off); the one
    parser of `--set key=value` for configs and speed settings, so junk is refused alike."""
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} takes true or false, got {text!r}")
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} takes a value of type {kind.__name__}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{name} takes a finite number, got {text!r}")
    return value


def apply_overrides(config, pairs):
    """`config` with each 'key=value' of `pairs` applied; errors list the valid keys."""
    fields = {f.name: f for f in dataclasses.fields(config) if f.name != "name"}
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--set takes key=value, got {pair!r}")
        key = key.strip().replace("-", "_")
        if key not in fields:
            valid = ", ".join(sorted(fields))
            raise ValueError(f"unknown config key {key!r} for {config.name}; valid keys: {valid}")
        changes[key] = parse_value(key, fields[key].type, value.strip())
    return dataclasses.replace(config, **changes)
