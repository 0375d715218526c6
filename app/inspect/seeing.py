"""What the trained network sees and where it fails (report 001, section 3.3): feature maps of a
convolution layer for any image, and grids of the misclassified and hardest-to-decide
held-out images with their scores."""

from pathlib import Path

import numpy as np

from app import plots
from app.cli import Progress
from app.data import load_splits
from app.data.errors import DataError
from app.data.images import decode

GRID = 24  # images per error grid: 4 rows of 6


def feature_maps(run, out, args):
    """Feature maps of --layer (default: the first convolution) for --image, or for the first
    held-out image of each class."""
    from app.training.features import feature_extractor, save_feature_maps  # TensorFlow

    extract, layer = feature_extractor(run.model, args.layer)
    size = run.model.input_shape[1]
    if args.image:
        image, reason = decode(args.image, size, blank_std=-1,
                               resize=run.config.get("resize", "squash"))
        if image is None:
            raise DataError(f"cannot read --image {args.image}: {reason}", "a JPEG or PNG image")
        named = [(Path(args.image).stem, image)]
    else:
        x, y = run.held_out_inputs(len(run.json("config.json")["data"]["class_names"]),
                                   args.data_dir, args.seed)
        names = run.json("config.json")["data"]["class_names"]
        named = [(names[int(label)], image) for image, label in zip(x, y)]
    paths, bar = [], Progress(len(named), "images")
    for name, image in named:
        path = out / f"feature_maps_{layer}_{name}.png"
        save_feature_maps(extract, image.astype(np.float32), path, f"{layer}: {name}")
        paths.append(path)
        bar.update(len(paths))
    bar.close()
    return paths


def decisions(probs):
    """(predicted class, score shown, margin): the score is P(second class) for one sigmoid
    output, else the top probability; the margin is how far the decision was from a tie."""
    if probs.shape[-1] == 1:
        score = probs[:, 0]
        return (score > 0.5).astype(int), score, np.abs(score - 0.5)
    top2 = np.sort(probs, 1)[:, -2:]
    return probs.argmax(1), top2[:, 1], top2[:, 1] - top2[:, 0]


def errors(run, out, args):
    """Two grids over the run's held-out split: the most confident mistakes, and the images
    closest to a tie, each titled with its index, score and true class."""
    config = run.config
    splits = load_splits(config["dataset"], data_dir=args.data_dir, limit=config["limit"],
                         val_split=0, seed=config["seed"], image_size=config["image_size"],
                         resize=config["resize"])
    x, y = splits.test
    predicted, score, margin = decisions(run.model.predict(x.astype(np.float32), verbose=0))
    names = splits.class_names
    wrong = np.flatnonzero(predicted != y)
    print(f"  {len(wrong)} of {len(y)} misclassified ({1 - len(wrong) / len(y):.2%} accuracy)")
    grids = {"misclassified": (wrong[np.argsort(-margin[wrong])][:GRID],
                               f"the most confident {{}} of {len(wrong)} mistakes"),
             "hardest": (np.argsort(margin)[:GRID], "the {} closest to a tie")}
    paths = []
    for kind, (index, caption) in grids.items():
        if not len(index):
            continue
        path = out / f"{kind}.png"
        titles = [f"#{i} {score[i]:.3f}\ntrue {names[y[i]]}" for i in index]
        plots.image_grid(x[index], path, columns=6, titles=titles, suptitle=caption.format(
            len(index)) + f" among {len(y)} {splits.eval_split} images (score, true class)")
        paths.append(path)
    return paths
