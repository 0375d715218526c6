"""Losses and metrics per dataset, and class predictions from a classifier's outputs.

Two compilations of the same network: the training model's, whose labels may be mixup's dense
vectors, and the saved inference model's, with Keras' built-in losses and metrics on class
indices, so that `model.keras` loads and evaluates with Keras alone (no custom objects)."""

import keras

from app.models import at_side


def majority_accuracy(y_true, y_pred):
    """Binary accuracy against each mixed label's larger part. Keras' binary accuracy tests a
    mixup label such as 0.83 for equality with the 0/1 prediction, so it scored nearly every
    training example wrong (0.33-0.52 on cats vs dogs while validation was at 89%). Only the
    training model uses it: the saved model is compiled with Keras' own accuracy, which is right
    on the 0/1 labels it is evaluated on, so no saved file needs this function."""
    return keras.metrics.binary_accuracy(keras.ops.round(y_true), y_pred)


def loss_and_metrics(dataset, outputs, one_hot=False, label_smoothing=0.0):
    """Loss and metrics for a model with `outputs` units; one_hot: labels are dense vectors
    (mixup and label smoothing make them so) rather than class indices."""
    if dataset == "regression1d":
        return "mse", ["mae"]
    if outputs == 1:  # one sigmoid unit: the probability of the second class
        accuracy = keras.metrics.MeanMetricWrapper(majority_accuracy, name="accuracy") \
            if one_hot else "accuracy"
        return (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
                if label_smoothing else "binary_crossentropy"), [accuracy]
    metrics = ["accuracy"]
    if outputs > 5:
        top5 = keras.metrics.TopKCategoricalAccuracy if one_hot else \
            keras.metrics.SparseTopKCategoricalAccuracy
        metrics.append(top5(5, name="top5_accuracy"))
    if label_smoothing:  # Keras' sparse cross-entropy has none: smoothing takes one-hot labels
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), metrics
    return ("categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"), metrics


def mean_over_views(predict, views, tta=False):
    """The mean of `predict` (a function of an image batch) over the batches `views` (the same
    images at several sides), and with `tta` over each one's mirror images too: free accuracy
    for left-right symmetric data. Runs and app.predict average the same way."""
    probs = [predict(v) for images in views
             for v in ([images, images[:, :, ::-1]] if tta else [images])]
    return sum(probs) / len(probs)


def predict_probs(model, x, tta=False, views=None, batch_size=256):
    """`model`'s outputs on images `x`, averaged with those on `views` ({side: the same images
    at that side}, multi-scale testing); with `tta`, and on each one's mirror images."""
    by_side = {x.shape[1]: model} | {side: at_side(model, side) for side in views or {}}
    return mean_over_views(lambda v: by_side[v.shape[1]].predict(v, batch_size=batch_size,
                                                                 verbose=0),
                           [x, *(views or {}).values()], tta)


def predicted_classes(probs):
    """Class indices from a classifier's outputs: one sigmoid unit (> 0.5) or a softmax."""
    return (probs[:, 0] > 0.5).astype(int) if probs.shape[-1] == 1 else probs.argmax(1)


def accuracy(model, x, y, batch_size=1000):
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float((predicted_classes(probs) == y).mean())
