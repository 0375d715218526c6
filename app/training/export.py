"""Export a trained model as a TensorFlow SavedModel for serving.

The model already starts with its normalization layer, so the endpoints take raw inputs:
  serve        float32 pixels (N, H, W, C) in 0-255 (for feature models: (N, features))
  serve_bytes  image models only: encoded JPEG/PNG/BMP/GIF files as a string tensor (N,),
               decoded, converted to the model's channels and resized with TensorFlow's
               antialiased bilinear resize
Load with `tf.saved_model.load(path).serve(x)`, or serve it with TF Serving."""

import keras
import tensorflow as tf

from app.runs import atomic


def decode_resize(data, height, width, channels):
    """Encoded image bytes -> float32 (height, width, channels) in 0-255."""
    image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    image = tf.image.resize(tf.cast(image, tf.float32), (height, width), antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def export_saved_model(model, path):
    """Write `model` (raw input) to `path` with the `serve` and, for images, `serve_bytes`
    endpoints."""
    shape = model.input_shape[1:]
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(inputs):
        return model(inputs, training=False)

    archive.add_endpoint("serve", serve, input_signature=[
        tf.TensorSpec((None, *shape), tf.float32, name="inputs")])
    if len(shape) == 3:
        add_bytes_endpoint(archive, model, *shape)
    with atomic(path) as tmp:  # a folder: swapped in whole
        archive.write_out(str(tmp), verbose=False)
    return path


def add_bytes_endpoint(archive, model, height, width, channels):
    def serve_bytes(files):
        images = tf.map_fn(lambda data: decode_resize(data, height, width, channels), files,
                           fn_output_signature=tf.TensorSpec((height, width, channels),
                                                             tf.float32))
        return model(images, training=False)

    archive.add_endpoint("serve_bytes", serve_bytes, input_signature=[
        tf.TensorSpec((None,), tf.string, name="files")])
