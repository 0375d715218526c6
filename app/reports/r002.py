"""Report 002, a CIFAR-10 CNN practical: learning rate and batch size, top-1 and top-5,
standardization against ZCA, augmentation, SGD / momentum / Adam, dropout, batchnorm. Its
figures are read off its curves (test accuracy plateaus at 70%, then >70%, ~80%, >80%)."""

from app.reports.rows import Row, metric, top5, train

TITLE = "002: CIFAR-10 CNN practical"

# Every CIFAR row: the 1.19M-parameter CNN on ../shared/data's CIFAR-10 subset (5,170 training
# images, 10% of them validating, and 1,017 test images). Quick: 4 epochs, 2 for the learning
# rate and batch size rows; full: 30 (the config). With 6 and 3 the 16 rows took 15.4 minutes
# on 2026-11-30 and 20.1 on 2026-12-01 (the same machine, slower that day): over the 15 aimed at.
QUICK, SHORT = ("--epochs", "4"), ("--epochs", "2")


def cifar(*args, quick=QUICK, minutes=(0.9, 6.0)):
    return train(*args, quick=quick, minutes=minutes)


def ladder(claims):
    """The improvement ladder shared with report 000: each rung adds one thing to the one before
    (app/experiments.py). `claims`: the report's words for each rung."""
    rungs = ["cifar_cnn", "cifar_cnn_std", "cifar_cnn_aug", "cifar_cnn_momentum",
             "cifar_cnn_dropout", "cifar_cnn_bn"]
    settings = ["baseline: SGD 0.1, batch 128", "+ per-channel standardization",
                "+ random crop and horizontal flip", "+ momentum 0.9 and a schedule",
                "+ dropout 0.5 before the dense layers", "+ batchnorm after each convolution"]
    return [Row(name, setting, claim, (cifar(name),), metric(), against=previous,
                why=WHY.get(name, ""))
            for name, setting, claim, previous in zip(rungs, settings, claims, ["", *rungs])]


# Why a rung may not help in a short run: what it fixes shows only once the rung below overfits
# (report 000: after 6-7 epochs on 50,000 images), or it needs more steps to settle.
WHY = {"cifar_cnn_aug": "harder examples slow the first epochs; it pays once the net overfits",
       "cifar_cnn_dropout": "dropout slows fitting; it pays once the net overfits",
       "cifar_cnn_bn": "its rate (0.05) and batch statistics need more epochs to settle"}


ROWS = [
    Row("top5", "baseline: top-1 and top-5 (Prec@1, Prec@5)",
        "first batch 7.8% / 50.8% (chance); test top-1 plateaus at 70%",
        (cifar("cifar_cnn"),), top5),
    *[Row(f"lr{lr}", f"learning rate {lr}, batch 128", claim,
          (cifar("cifar_cnn", "--set", f"learning_rate={lr}", quick=SHORT,
                 minutes=(0.5, 6.0)),), metric())
      for lr, claim in (("1", "too high: diverges or stalls"),
                        ("0.001", "too low: slow"), ("1e-05", "too low: hardly learns"))],
    *[Row(f"batch{b}", f"batch {b}, learning rate 0.1", claim,
          (cifar("cifar_cnn", "--batch-size", b, quick=SHORT, minutes=minutes),), metric())
      for b, claim, minutes in (("8", "noisy; 37 s an epoch on its GPU", (1.2, 15.0)),
                                ("32", "noisier than 128", (0.6, 8.0)),
                                ("256", "smoother, fewer steps", (0.5, 5.0)))],
    *ladder(["test accuracy plateaus at 70%; test loss U-shaped (overfits)",
             "slightly above 70%, lowest test loss under 1.0",
             "almost 80%, test loss falls for longer",
             "higher test accuracy, steadier test loss",
             "less overfitting: a notable gain", "improved again: over 80%, loss 0.6"]),
    Row("zca", "ZCA whitening instead of standardization", "very bad: low, oscillating accuracy",
        (cifar("cifar_cnn", "--set", "normalize=zca"),), metric(), against="cifar_cnn_std"),
    Row("adam_0.01", "Adam 0.01 on top of augmentation (the report's)", "performed poorly",
        (cifar("cifar_cnn_aug", "--set", "optimizer=adam", "--set", "learning_rate=0.01"),),
        metric(), against="cifar_cnn_aug"),
    Row("cifar_cnn_adam", "ours: every rung with Adam 1e-3 instead of SGD", "(not in the report)",
        (cifar("cifar_cnn_adam"),), metric(), against="cifar_cnn_bn"),
]
