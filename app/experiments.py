"""The experiment registry: name -> frozen Config. Settings follow the reports; where a report
is silent the choice is noted. `python -m app.train --list` prints this table."""

from dataclasses import replace

from app.config import Config

_mnist = Config("mnist", "", "mnist", "mnist_cnn", epochs=10)
_cifar = Config("cifar", "", "cifar10", "cifar_cnn", epochs=30, batch_size=128,
                optimizer="sgd", learning_rate=0.1)  # report 002's baseline: SGD 0.1, batch 128


def _variant(base, name, description, **changes):
    return replace(base, name=name, description=description, **changes)


# The CIFAR-10 improvement ladder of reports 000 and 002: each rung adds one thing.
_plain = _variant(_cifar, "cifar_cnn", "CIFAR-10 CNN (1.19M), plain SGD 0.1: ladder rung 1")
_std = _variant(_plain, "cifar_cnn_std", "+ per-channel standardization: rung 2",
                normalize="standardize")
_aug = _variant(_std, "cifar_cnn_aug", "+ random crop (pad 4) and horizontal flip: rung 3",
                augment="crop_flip")
# Momentum 0.9 multiplies the effective step by 10: the rate drops from 0.1 to 0.01.
_mom = _variant(_aug, "cifar_cnn_momentum", "+ SGD momentum 0.9 and a cosine schedule: rung 4",
                momentum=0.9, learning_rate=0.01, schedule="cosine")
_drop = _variant(_mom, "cifar_cnn_dropout", "+ dropout 0.5 before the dense layers: rung 5",
                 dropout=0.5)
_bn = _variant(_drop, "cifar_cnn_bn", "+ batchnorm after each conv: rung 6", batchnorm=True,
               learning_rate=0.05)
_adam = _variant(_bn, "cifar_cnn_adam", "rung 6 with Adam 1e-3 instead of SGD",
                 optimizer="adam", learning_rate=1e-3, momentum=0.0)

_EXPERIMENTS = [
    # Report 001's N(0, 1) row (97.15%): with Glorot init these settings gave 96.97% test here.
    _variant(_mnist, "mnist_mlp",
             "784-400-700-10 sigmoid MLP, N(0,1) init, SGD lr=4/(1+2e-3 t), L2 1e-4, batch 32 "
             "(report 001)", model="mlp_mnist", init="normal", optimizer="sgd", learning_rate=4.0,
             schedule="inverse_time", decay_rate=2e-3, l2=1e-4, batch_size=32),
    # Report 001 trained with SGD at a fixed 0.01. Measured here, SGD 0.01 with momentum 0.9 was
    # at 98.5% validation accuracy after 4 epochs; Adam with a cosine decay passes 99% sooner.
    _variant(_mnist, "mnist_cnn", "MNIST CNN (624k), Adam 1e-3, cosine decay, 6 epochs "
             "(report 001's network)", schedule="cosine", epochs=6),
    # Ours (issue 7): the training seconds to a first 99.0% test accuracy, checked 8 times an
    # epoch. Patchify stem, batchnorm, Adam with a one-cycle schedule over one epoch. Measured:
    # batch 64 reached 99.03% after 44 s; batch 128 ended at 98.93% (42 s), and 2 epochs at
    # batch 128 passed 99% after 66 s.
    _variant(_mnist, "mnist_fast", "MNIST to 99% test accuracy fast: 105k-param batchnorm CNN, "
             "Adam 1e-2 one-cycle, 1 epoch at batch 64", model="mnist_fast_cnn",
             learning_rate=0.01, schedule="onecycle", epochs=1, batch_size=64,
             target_accuracy=0.99, checkpoint=False, tensorboard=False),
    _variant(_mnist, "mnist_cnn_light", "light MNIST CNN (25k), Adam 1e-3 (report 001)",
             model="mnist_cnn_light"),
    # Ours (issue 17), aiming at report 004's 99.62% (its 2 x 128 5x5 CNN, augmentation, 32
    # epochs) within 10 minutes of training, one-cycle Adam over 12 epochs of 54,000 images.
    # Seed 0 each, 2026-12-01, 2 cores, test accuracy: mnist_fast_cnn (width 32) with shifts and
    # rotations 99.51% (seeds 1-2: 99.42%, 99.40%; dropout and all 60,000 images: 99.42%, train
    # accuracy 99.33%: it underfits); width 48 99.49% (train 99.59%: capacity alone does not
    # help); width 48 with one affine warp adding shear and zoom ("distortions", as report 004
    # did) 99.54%; and a 3x3 layer at the full 28x28 before the stem (mnist_best_cnn) 99.63%,
    # 99.62% first reached after 501 s; its 3 seeds 99.63 / 99.57 / 99.60%. Label smoothing 0.1:
    # 99.70 / 99.65 / 99.65%, 12 epochs in 594-614 s; with the fused batchnorm 99.66 / 99.69 /
    # 99.66% in 541-561 s (README, "MNIST past report 004's 99.62%").
    _variant(_mnist, "mnist_best", "MNIST, aiming at report 004's 99.62%: mnist_best_cnn (231k), "
             "shifts, rotations, shear and zoom, label smoothing 0.1, Adam 1e-2 one-cycle, "
             "12 epochs", model="mnist_best_cnn", width=48, augment="digits_affine",
             label_smoothing=0.1, learning_rate=0.01, schedule="onecycle", epochs=12,
             batch_size=128, target_accuracy=0.9962, target_every=211),  # twice an epoch
    _plain, _std, _aug, _mom, _drop, _bn, _adam,
    _variant(_cifar, "cifar_mlp", "3072-4096-4096-10 sigmoid MLP, SGD momentum (report 003)",
             model="cifar_mlp", normalize="standardize", learning_rate=0.01, momentum=0.9),
    _variant(_mom, "cifar_cnn_wide", "wider CIFAR CNN (17.4M) with crops, flips, momentum "
             "(report 003)", model="cifar_cnn_wide", batchnorm=True, learning_rate=0.05),
    _variant(_mom, "cifar_resnet18", "ResNet-18 (CIFAR stem), SGD 0.1 momentum, cosine, L2 5e-4 "
             "(report 003)", model="resnet18", learning_rate=0.1, l2=5e-4),
    # Dropout 0.25 before the dense layers (the report's own suggestion) measured 76.8% against
    # 75.5% without; Adam 1e-3 instead of 3e-4 never left chance level (loss 0.693). Per-channel
    # standardization learns faster than [0, 1] scaling for this batchnorm-free net (8 epochs:
    # 62.5-68.5% against 55.9-65.3% validation); batch 32 was no better per second. The best
    # weights are those of the most accurate epoch, as the report kept. 22-24 s an epoch here:
    # a 28-minute budget (plus loading and export) keeps the run within the 30.
    _variant(_mnist, "cats_dogs", "cats-vs-dogs CNN (1.5M) on 64x64, Adam 3e-4, "
             "ReduceLROnPlateau, report 001's augmentation, dropout 0.25", dataset="cats_dogs",
             model="cats_dogs_cnn", val_split=0.0, augment="cats_dogs", learning_rate=3e-4,
             normalize="standardize", dropout=0.25, batch_size=64, epochs=100, max_minutes=28,
             reduce_lr_patience=4, early_stopping_patience=15, best_metric="val_accuracy",
             feature_maps="1,10,50", tta=True),
    # Of our design: the documented best from scratch on 2,000 images is a small Xception-style
    # network; 128 px, mixup and a cosine schedule over a fixed budget (no early stopping).
    # 130 epochs took 52.5 minutes here (24 s an epoch with validation: 90.6%, 91.5% with
    # flips; seeds 1 and 2: 90.8%, 91.1% with flips in 33.7, 32.6 min on a faster day); the
    # 57-minute budget only guards the hour on a slower host, and would end the run
    # where the cosine has nearly reached 0.
    _plus := _variant(
        _mnist, "cats_dogs_plus", "small Xception-style net (603k) at 128 px, mixup, cosine "
        "schedule with warm-up", dataset="cats_dogs", model="small_xception", image_size=128,
        val_split=0.0, augment="cats_dogs", mixup=0.2, learning_rate=2e-3, schedule="cosine",
        warmup_epochs=3, batch_size=32, epochs=130, max_minutes=57, feature_maps="1,130",
        tta=True),
    # Progressive resizing (fastai's and FFCV's budget trick) spent on a larger final size:
    # 64 px growing to 160 px feeds 0.92x the pixels of cats_dogs_plus. Measured no better:
    # seeds 0 and 1 gave 91.8% and 89.7% with flips in 36-37 minutes (README).
    _variant(_plus, "cats_dogs_progressive", "cats_dogs_plus on 64 px images growing to 160 px "
             "(progressive resizing), tested at 160 px", image_size=160, progressive_from=64),
    # Label smoothing and 50 more epochs of the cosine, tested at 128 and 160 px with mirrors:
    # seeds 0-2 at a median 92.8% in 42-51 minutes, then 92.3% in 33-37 with the fused
    # batchnorm (README). 225 epochs: seed 0 no better (92.8%). Tested at 128, 160 and 176 px:
    # at least the 160-px views' accuracy on each of five finished models, mean +0.3 points
    # (chosen on validation, README).
    _best := _variant(
        _plus, "cats_dogs_best", "cats_dogs_plus with label smoothing 0.1 and 180 epochs, "
        "tested at 128, 160 and 176 px with mirrors (multi-scale testing)",
        label_smoothing=0.1, epochs=180, feature_maps="1,180", tta_sizes="160,176"),
    # Report 001's brightness and contrast jitter on top: seeds 0-2 at 92.8 / 91.3 / 92.8% with
    # flips at the last epoch (median 92.8%, the 92.5% aim) in 46-50 minutes (README).
    _variant(_best, "cats_dogs_jitter", "cats_dogs_best with brightness and contrast jitter "
             "(20% each) on top of its warps and mirrors", augment="cats_dogs_color"),
    # Pseudo-labels from the unlabeled test1/ images (self-training), inside the hour: a 60-epoch
    # teacher (15 min) labels them, then a fresh net trains 100 epochs on the 3,001 (32 min at a
    # quiet hour's rate). Measured no better: seed 0 gave 90.9% with flips (README).
    _variant(_plus, "cats_dogs_pseudo", "cats_dogs_plus, self-trained: a 60-epoch teacher "
             "labels the unlabeled test1/ images, then 100 epochs on labelled + pseudo-labelled",
             unlabeled="test1", teacher_fraction=0.6, epochs=100, feature_maps="1,100"),
    _variant(_mnist, "circles", "tanh MLP on 2-D circles (report 000)", dataset="circles",
             model="circles_mlp", width=10, learning_rate=0.01, batch_size=20, epochs=100),
    _variant(_mnist, "regression", "1-D regression MLP, 3 ELU layers, MSE, Adam (report 004)",
             dataset="regression1d", model="regression_mlp", depth=3, width=32,
             activation="elu", learning_rate=1e-3, batch_size=10, epochs=500),
]
EXPERIMENTS = {c.name: c for c in _EXPERIMENTS}


def listing():
    width = max(map(len, EXPERIMENTS))
    return "\n".join(f"  {name:<{width}}  {c.description}" for name, c in EXPERIMENTS.items())
