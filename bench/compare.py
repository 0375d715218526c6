"""Keras app vs plain PyTorch, in one run: `python bench/compare.py [--rounds 3] [MODEL ...]`.

Each model trains at the batch size its experiment uses (BATCH_SIZES; `--batch-size` sets one for
all).

Each side runs in its own process (so neither inherits the other's thread pools), interleaved
round by round, and each model's best round counts: the machine is noisy. Also prints numpy's
float32 matmul GFLOP/s and the images/s each model would train at if all its FLOPs ran at that
rate (training FLOPs taken as 3x the forward pass: forward, plus gradients of inputs and of
weights). A scale, not a ceiling: oneDNN's convolutions can beat numpy's BLAS, and on
2026-12-01 `cats_dogs_cnn` trained at 318 images/s against 266 at numpy's rate."""

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The three seed CNNs, then the nets of `mnist_fast`/`mnist_best` and `cats_dogs_plus` (issue 18).
MODELS = ("mnist_cnn", "cifar_cnn", "cats_dogs_cnn", "mnist_fast_cnn", "small_xception")
BATCH_SIZES = {"mnist_fast_cnn": 64, "small_xception": 32}  # the others: 128


def matmul_gflops(n=2048, repeats=5):
    """Best float32 n x n matmul rate with numpy's BLAS on all cores, in GFLOP/s."""
    a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def forward_flops(name):
    """Multiply-adds x 2 of one image's forward pass through the convolutions and dense layers."""
    import keras

    from app.models import build

    flops = 0
    for layer in build(name).layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            flops += 2 * kh * kw * cin * cout * np.prod(layer.output.shape[1:3])
        elif isinstance(layer, keras.layers.SeparableConv2D):  # depthwise, then 1x1 pointwise
            kh, kw, cin, _ = layer.depthwise_kernel.shape
            cout = layer.pointwise_kernel.shape[-1]
            flops += 2 * (kh * kw + cout) * cin * np.prod(layer.output.shape[1:3])
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * np.prod(layer.kernel.shape)
    return int(flops)


def last_json(command):
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("models", nargs="*", default=list(MODELS))
    p.add_argument("--rounds", type=int, default=3, help="the README's claims take 3")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, help="one batch size for every model")
    p.add_argument("--set", action="append", default=[], help="speed setting for the app side")
    args = p.parse_args()
    batch = {m: args.batch_size or BATCH_SIZES.get(m, 128) for m in args.models}
    rates = {(m, side): [] for m in args.models for side in ("app", "torch")}
    sets, settings = [f"--set={s}" for s in args.set], {}
    for round_ in range(args.rounds):
        for model in args.models:
            common = ["--steps", str(args.steps), "--batch-size", str(batch[model])]
            app = last_json([sys.executable, "-m", "app.bench", model, *common, *sets])
            torch = last_json([sys.executable, "bench/torch_reference.py", model, *common])
            settings = app["settings"] | {"backend": app["backend"]}
            for side, result in (("app", app), ("torch", torch)):
                rates[model, side].append(result["images_per_second"])
            print(f"round {round_ + 1} {model:<14} app {app['images_per_second']:>7.1f}  "
                  f"torch {torch['images_per_second']:>7.1f} images/s", flush=True)
    gflops = matmul_gflops()
    print(f"\n{date.today()}, best of {args.rounds} rounds (their range in brackets); "
          f"numpy float32 matmul {gflops:.0f} GFLOP/s; app settings {json.dumps(settings)}")
    print("| model | batch | app images/s | PyTorch images/s | ratio of bests (rounds) | "
          "images/s at numpy's matmul rate |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for model in args.models:
        at_matmul_rate = gflops * 1e9 / (3 * forward_flops(model))
        app, torch = rates[model, "app"], rates[model, "torch"]
        ratios = [a / t for a, t in zip(app, torch)]  # each round's two runs ran back to back
        print(f"| {model} | {batch[model]} | {spread(app)} | {spread(torch)} | "
              f"{max(app) / max(torch):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
              f"{at_matmul_rate:,.0f} |")


def spread(values):
    return f"{max(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


if __name__ == "__main__":
    main()
