"""The benchmarked nets written the ordinary way in plain PyTorch, timed like `python -m app.bench`:
same architectures, batch size, optimizer (SGD, momentum 0.9) and loss, synthetic data, warm-up,
fastest of several passes. Prints one JSON line per model.

    python bench/torch_reference.py mnist_cnn cifar_cnn cats_dogs_cnn --batch-size 128
"""

import argparse
import json
import time

import torch
from torch import nn


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 128, 64), nn.ReLU(), nn.Linear(64, 10))


def cifar_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 1000), nn.ReLU(), nn.Linear(1000, 10))


def cats_dogs_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 64, 8, stride=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 128, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
        nn.Linear(128, 1))


def bn(channels):
    # momentum 0.1 here is Keras' 0.9 (PyTorch weighs the new batch, Keras the old average)
    return nn.BatchNorm2d(channels, momentum=0.1)


def bn_relu(channels):
    return [bn(channels), nn.ReLU()]


def mnist_fast_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 2, stride=2, bias=False), *bn_relu(32),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), *bn_relu(64), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1, bias=False), *bn_relu(128), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3 * 3 * 128, 10))


def separable(cin, cout):
    """Keras' SeparableConv2D without bias: a depthwise 3x3, then a pointwise 1x1."""
    return [nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False)]


class EntryBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=2)
        self.main = nn.Sequential(
            nn.ReLU(), *separable(cin, cout), bn(cout),
            nn.ReLU(), *separable(cout, cout), bn(cout),
            nn.MaxPool2d(3, stride=2, padding=1))

    def forward(self, x):
        return self.main(x) + self.shortcut(x)


def small_xception(widths=(96, 192, 384)):
    blocks = [EntryBlock(cin, cout) for cin, cout in zip((32, *widths), widths)]
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), *bn_relu(32), nn.MaxPool2d(2),
        *blocks, *separable(widths[-1], 512), *bn_relu(512),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1))  # no dropout, as trained


MODELS = {"mnist_cnn": (mnist_cnn, (1, 28, 28), 10), "cifar_cnn": (cifar_cnn, (3, 32, 32), 10),
          "cats_dogs_cnn": (cats_dogs_cnn, (3, 64, 64), 1),
          "mnist_fast_cnn": (mnist_fast_cnn, (1, 28, 28), 10),
          "small_xception": (small_xception, (3, 128, 128), 1)}
# Keras' counts, which include batchnorm's moving mean and variance (PyTorch's buffers).
PARAMS = {"mnist_cnn": 624_202, "cifar_cnn": 1_191_170, "cats_dogs_cnn": 1_496_001,
          "mnist_fast_cnn": 104_714, "small_xception": 602_593}


def keras_count(model):
    moving = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("mean", "var")))
    return sum(p.numel() for p in model.parameters()) + moving


def bench(name, batch_size=128, steps=20, passes=3):
    torch.manual_seed(0)
    make, shape, classes = MODELS[name]
    model = make()
    assert keras_count(model) == PARAMS[name], keras_count(model)  # the same network
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch_size, *shape)
    if classes == 1:
        loss_fn, y = nn.BCEWithLogitsLoss(), torch.randint(0, 2, (batch_size, 1)).float()
    else:
        loss_fn, y = nn.CrossEntropyLoss(), torch.randint(0, classes, (batch_size,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    model.train()
    for _ in range(max(2, steps // 4)):  # warm-up
        step()
    seconds = []
    for _ in range(passes):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds.append(time.perf_counter() - start)
    return {"model": name, "batch_size": batch_size,
            "images_per_second": round(batch_size * steps / min(seconds), 1),
            "backend": f"torch {torch.__version__}", "threads": torch.get_num_threads()}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", choices=list(MODELS))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--passes", type=int, default=3)
    args = p.parse_args()
    for name in args.models:
        print(json.dumps(bench(name, args.batch_size, args.steps, args.passes)), flush=True)


if __name__ == "__main__":
    main()
