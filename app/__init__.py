"""A Keras 3 / TensorFlow toolkit that trains, inspects and tunes the networks of five
deep-learning course reports. Entry points: `python -m app.train`, `python -m app.models`."""

import os

# TensorFlow's C++ start-up notices (CPU instruction sets, oneDNN) are noise for users; errors and
# warnings that matter still show. Set before any module imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
