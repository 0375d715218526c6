"""PNG plots: learning curves from a history dict, grids of images, confusion matrices and
2-D decision boundaries.

Figures are matplotlib `Figure` objects, not pyplot's: no global backend is switched (a notebook
that imports the app keeps its inline plots), no figure is left open, and matplotlib is imported
only when a plot is drawn (it takes seconds)."""

import numpy as np

from app.runs import atomic


def subplots(rows=1, columns=1, **kwargs):
    """(figure, axes) as pyplot.subplots makes them, on a Figure of its own."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(rows, columns, **kwargs)


def learning_curves(history, path):
    """One panel per metric (training and validation), plus the learning rate, saved to `path`."""
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    panels = names + (["learning_rate"] if "learning_rate" in history else [])
    fig, axes = subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5), squeeze=False)
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
    save(fig, path, dpi=100)


def image_grid(images, path, columns, titles=None, suptitle=None, cell=1.6):
    """Save uint8 images (N, H, W, C) as a grid `columns` wide, with optional per-image titles."""
    rows = -(-len(images) // columns)
    fig, axes = subplots(rows, columns, figsize=(cell * columns, cell * rows + 0.4),
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
    save(fig, path, dpi=100)


def confusion_matrix(y_true, y_pred, class_names, path, title="confusion matrix"):
    """Save scikit-learn's confusion-matrix display (rows: true class, columns: predicted)."""
    n = len(class_names)
    from sklearn.metrics import ConfusionMatrixDisplay  # late: scikit-learn takes seconds

    fig, ax = subplots(figsize=(1.5 + 0.55 * n, 1.0 + 0.55 * n))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=list(range(n)),
                                            display_labels=class_names, ax=ax, colorbar=False,
                                            xticks_rotation=45)
    ax.set_title(title)
    save(fig, path, dpi=100)


def decision_boundary(ax, xx, yy, field, level, points, title):
    """One panel of a 2-D classifier: `field` (a probability or a decision function on the grid
    xx, yy) shaded, its `level` contour drawn as the boundary, and the (x, y) `points` on top."""
    ax.contourf(xx, yy, field, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, field, levels=[level], colors="k", linewidths=1.2)
    ax.scatter(*points[0].T, c=points[1], cmap="bwr", edgecolors="w", linewidths=0.5, s=12)
    ax.set(title=title, xticks=[], yticks=[], aspect="equal")
    ax.title.set_fontsize(9)


def boundary_grid(limit, steps):
    """(xx, yy, points (steps^2, 2) float32) covering the square [-limit, limit]^2."""
    axis = np.linspace(-limit, limit, steps, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def decision_boundaries(xx, yy, panels, level, points, path, columns=0, cell=(4.2, 4.0),
                        dpi=90):
    """One decision_boundary subplot per (title, field shaped like xx) panel, `columns` to a row
    (0: all in one row), each `cell` inches; saved to `path`."""
    columns = columns or len(panels)
    rows = -(-len(panels) // columns)
    fig, axes = subplots(rows, columns, figsize=(cell[0] * columns, cell[1] * rows),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (title, field) in zip(axes.flat, panels):
        decision_boundary(ax, xx, yy, field, level, points, title)
    return save(fig, path, dpi)


def save(fig, path, dpi=100):
    """Lay out, write (atomically) and close a figure; returns the path."""
    fig.tight_layout()
    with atomic(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path
