"""RandomAffine: rotation, shear, zoom and shift drawn per image and applied in one warp.

Keras offers these as four layers (RandomRotation, RandomShear, RandomZoom, RandomTranslation),
each of which resamples the whole image; composing the four matrices first does the same
geometry in one resampling pass, about a quarter of the work, and blurs the image once instead
of four times. The augmentation runs on the same 2 cores that train the model, so its cost is
training time."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="app")
class RandomAffine(keras.layers.Layer):
    """rotation and shear in degrees (uniform in +-value), zoom and shift as fractions of the
    image size (uniform in +-value); pixels from outside the image are filled by `fill_mode`."""

    def __init__(self, rotation=0.0, shear=0.0, zoom=0.0, shift=0.0, fill_mode="nearest",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.shear, self.zoom, self.shift = rotation, shear, zoom, shift
        self.fill_mode, self.seed = fill_mode, seed
        self.generator = keras.random.SeedGenerator(seed)

    def matrices(self, n, height, width, seed=None):
        """(n, 8) transforms mapping output pixels to input pixels, as
        keras.ops.image.affine_transform takes them; `seed` a SeedGenerator (default the
        layer's own)."""
        seed = seed or self.generator

        def uniform(limit):
            return keras.random.uniform((n,), -limit, limit, seed=seed)

        theta = uniform(math.radians(self.rotation))
        shear = ops.tan(uniform(math.radians(self.shear)))
        scale = 1.0 + uniform(self.zoom)  # > 1 samples a larger area: zooms out
        tx, ty = uniform(self.shift) * width, uniform(self.shift) * height
        cos, sin = ops.cos(theta), ops.sin(theta)
        # A = rotation @ shear (x += shear * y) @ scale, about the image center (cx, cy).
        a00, a01 = cos * scale, (cos * shear - sin) * scale
        a10, a11 = sin * scale, (sin * shear + cos) * scale
        cx, cy = (width - 1) / 2, (height - 1) / 2
        a02 = cx - a00 * cx - a01 * cy + tx
        a12 = cy - a10 * cx - a11 * cy + ty
        zeros = ops.zeros_like(theta)
        return ops.stack([a00, a01, a02, a10, a11, a12, zeros, zeros], axis=1)

    def call(self, images, training=True, seed=None):
        if not training:
            return images
        shape = ops.shape(images)  # sizes unknown until run time under progressive resizing
        height, width = (ops.cast(side, "float32") for side in shape[1:3])
        transform = self.matrices(shape[0], height, width, seed)
        return ops.image.affine_transform(images, transform, fill_mode=self.fill_mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "shear": self.shear,
                "zoom": self.zoom, "shift": self.shift, "fill_mode": self.fill_mode,
                "seed": self.seed}
