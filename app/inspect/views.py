"""The inspection views of a run folder, as report 004 drew them: weight histograms per layer,
hidden-layer activation profiles for a few inputs, first-layer kernels as images, and the
learning curves. `VIEWS` is the registry `python -m app.inspect` reads: a new view (feature maps,
misclassified examples) is a function `view(run, out, args) -> [paths written]` and one entry."""

import math
from dataclasses import dataclass

import numpy as np

from app import plots
from app.data.errors import DataError
from app.inspect import seeing

MAX_KERNELS = 64  # tiles in the kernel grid: enough to see the patterns, small enough to read


def kernel_layers(model):
    """Layers with a weight kernel (Dense, Conv2D), in order."""
    return [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]


def weights(run, out, args):
    """One histogram per layer with a kernel; the title gives its shape, mean and std."""
    import keras  # late: TensorFlow takes seconds to import

    layers = kernel_layers(run.core)
    columns = min(4, len(layers))
    rows = math.ceil(len(layers) / columns)
    fig, axes = plots.subplots(rows, columns, figsize=(3.6 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    for ax, layer in zip(axes.flat, layers):
        values = keras.ops.convert_to_numpy(layer.kernel).ravel()
        ax.hist(values, bins=60, color="tab:blue")
        ax.set_title(f"{layer.name} {tuple(layer.kernel.shape)}\nmean {values.mean():.3g}, "
                     f"std {values.std():.3g}", fontsize=8)
        ax.tick_params(labelsize=7)
    return [plots.save(fig, out / "weights.png", dpi=80)]


def hidden_layers(model):
    """The Dense layers before the output layer: their outputs are the hidden activations."""
    import keras  # late: TensorFlow takes seconds to import

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) < 2:
        raise DataError(f"{model.name} has no hidden dense layer (layers: "
                        f"{[layer.name for layer in model.layers]})",
                        "a network with a fully connected hidden layer, such as mlp_mnist",
                        "use `weights` or `kernels` for this run")
    return dense[:-1]


def activation_profiles(run, x):
    """{layer name: activations (N, units)} of the hidden dense layers for raw inputs x."""
    import keras  # late: TensorFlow takes seconds to import

    layers = hidden_layers(run.core)
    probe = keras.Model(run.core.input, [layer.output for layer in layers])
    outputs = probe(run.prepare(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {layer.name: keras.ops.convert_to_numpy(a) for layer, a in zip(layers, outputs)}


def _show_input(ax, x, label):
    if x.ndim == 3:  # an image
        ax.imshow(x[..., 0] if x.shape[-1] == 1 else x.astype(np.uint8), cmap="gray")
        ax.axis("off")
    else:
        ax.text(0.5, 0.5, "\n".join(f"{v:.3g}" for v in x[:6]), ha="center", va="center")
        ax.set(xticks=[], yticks=[])
    ax.set_title(f"input, label {label:.3g}", fontsize=8)


def activations(run, out, args):
    """A row per input: the input, then the activation of every unit of each hidden layer."""
    hidden_layers(run.core)  # fail before loading data when there is nothing to show
    x, y = run.held_out_inputs(args.inputs, args.data_dir, args.seed)
    profiles = activation_profiles(run, x)
    columns = 1 + len(profiles)
    fig, axes = plots.subplots(len(x), columns, figsize=(2.2 + 4 * len(profiles), 1.9 * len(x)),
                             squeeze=False, gridspec_kw={"width_ratios": [1] + [3] * len(profiles)})
    for i in range(len(x)):
        _show_input(axes[i, 0], x[i], np.ravel(y[i])[0])
        for ax, (name, values) in zip(axes[i, 1:], profiles.items()):
            ax.bar(np.arange(values.shape[1]), values[i], width=1.0, color="tab:green")
            ax.set_title(f"{name}: {values.shape[1]} units", fontsize=8)
            ax.tick_params(labelsize=7)
    return [plots.save(fig, out / "activations.png", dpi=80)]


def first_kernels(model):
    """(layer name, tiles (K, h, w, channels)) of the first layer with a kernel: a Conv2D's
    filters, or a Dense layer's per-unit weights over an image input (its receptive fields)."""
    import keras  # late: TensorFlow takes seconds to import

    layer = kernel_layers(model)[0]
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    if kernel.ndim == 4:  # (h, w, in channels, filters)
        return layer.name, np.moveaxis(kernel, -1, 0)[:MAX_KERNELS]
    image_shape = tuple(model.input_shape[1:])
    if len(image_shape) != 3:
        raise DataError(f"the first layer of {model.name}, {layer.name}, has a {kernel.shape} "
                        f"kernel over inputs of shape {image_shape}: not images",
                        "a convolutional network, or an MLP on images such as mlp_mnist",
                        "use `weights` to see this run's kernels as histograms")
    return layer.name, kernel.T[:MAX_KERNELS].reshape(-1, *image_shape)


def kernels(run, out, args):
    """The first layer's kernels as a grid of images, each scaled to its own range (colour
    filters shown as RGB, single-channel ones on a blue-white-red scale centred on 0)."""
    name, tiles = first_kernels(run.core)
    columns = min(8, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    fig, axes = plots.subplots(rows, columns, figsize=(1.2 * columns, 1.2 * rows + 0.4),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, tile in zip(axes.flat, tiles):
        if tile.shape[-1] == 3:
            ax.imshow((tile - tile.min()) / (np.ptp(tile) or 1.0), interpolation="nearest")
        else:
            limit = np.abs(tile).max() or 1.0
            ax.imshow(tile[..., 0], cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
    fig.suptitle(f"{name}: {len(tiles)} kernels of {tiles.shape[1]}x{tiles.shape[2]}",
                 fontsize=10)
    return [plots.save(fig, out / "kernels.png", dpi=80)]


def curves(run, out, args):
    """The learning curves from history.json, as the training command draws them."""
    path = out / "learning_curves.png"
    plots.learning_curves(run.json("history.json"), path)
    return [path]


@dataclass(frozen=True)
class View:
    function: object  # view(run, out, args) -> [paths]
    needs: tuple  # files the run folder must hold
    help: str


VIEWS = {
    "weights": View(weights, ("model.keras",), "histogram of each layer's kernel weights"),
    "activations": View(activations, ("model.keras", "config.json"),
                        "hidden-layer activation profiles of a few held-out inputs"),
    "kernels": View(kernels, ("model.keras",), "the first layer's kernels as images"),
    "curves": View(curves, ("history.json",), "training and validation curves"),
    "feature-maps": View(seeing.feature_maps, ("model.keras", "config.json"),
                         "a conv layer's feature maps (--layer) of --image or held-out images"),
    "errors": View(seeing.errors, ("model.keras", "config.json"),
                   "grids of the misclassified and hardest-to-decide held-out images"),
}
