"""Report 003: CIFAR MLP 3072-4096-4096-n, a wider CNN with and without batchnorm, flips and
crops, ResNet-18. Its CNN figures (42-43%) come from a data set with more classes than CIFAR-10
(its first losses, 3.6, are above ln 10 = 2.3): compare the effects, not the levels."""

from app.reports.rows import Row, metric, train

TITLE = "003: CIFAR MLP, wide CNN, ResNet-18"

# Quick: the wide CNN on 3,000 training images for 5 epochs (3 minutes a row here); ResNet-18
# trains at about 15 images/s on 2 cores, so its quick row is a 3-epoch smoke run on 1,000 at
# batch 16: 171 steps, enough for batchnorm's moving statistics (momentum 0.99) to leave their
# start; at batch 128 (16 steps) the row sat at chance on every seed (8.7-9.2%).
WIDE_QUICK = ("--epochs", "5", "--limit", "3000")

ROWS = [
    Row("cifar_mlp", "MLP 3072-4096-4096-10 (29.4M parameters)",
        "slower and less accurate than the CNN",
        (train("cifar_mlp", quick=("--epochs", "4"), minutes=(1.5, 10.0)),), metric()),
    Row("wide_no_aug", "the wide CNN without crops and flips",
        "31% test, overfitting; flips gave 36% and crops 39% (its data set)",
        (train("cifar_cnn_wide", "--set", "augment=none",
               quick=WIDE_QUICK, minutes=(3.0, 60.0)),),
        metric()),
    Row("wide_bn", "wide CNN (17.4M) with batchnorm, crops and flips",
        "42-43% with and without batchnorm (its data set, no augmentation)",
        (train("cifar_cnn_wide", quick=WIDE_QUICK, minutes=(3.0, 60.0)),), metric(),
        against="wide_no_aug"),
    Row("wide_no_bn", "the same without batchnorm (SGD 0.01: 0.05 needs batchnorm)",
        "about the same as with batchnorm",
        (train("cifar_cnn_wide", "--set", "batchnorm=false", "--set", "learning_rate=0.01",
               quick=WIDE_QUICK, minutes=(3.0, 60.0)),),
        metric(), against="wide_bn"),
    Row("resnet18", "ResNet-18 with crops and flips", "79% test at epochs 4-7, 74% at 10",
        (train("cifar_resnet18", quick=("--epochs", "3", "--limit", "1000", "--batch-size", "16"),
               minutes=(3.0, 120.0)),), metric()),
]
