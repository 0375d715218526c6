"""PNG plots of a run: learning curves from a history dict."""

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt


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
