"""PNG plots: learning curves from a history dict, and grids of images."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt
import numpy as np


def learning_curves(history, path):
    """One panel per metric (training and validation), plus the learning rate, saved to `path`."""
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    panels = names + (["learning_rate"] if "learning_rate" in history else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5), squeeze=False)
    for ax, name in zip(axes[0], panels):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="train" if name != "learning_rate" else "rate")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        if name == "learning_rate" and min(history[name]) > 0:
            ax.set_yscale("log")
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def image_grid(images, path, columns, titles=None, suptitle=None, cell=1.6):
    """Save uint8 images (N, H, W, C) as a grid `columns` wide, with optional per-image titles."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell * columns, cell * rows + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            image = images[i]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
            if titles and titles[i]:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(matrix, class_names, path, title="confusion matrix"):
    """Save a confusion matrix (rows: true class, columns: predicted) with its counts."""
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.55 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > matrix.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
