"""Pipeline features: resize modes, ZCA, augmentation placement and randomness, mixup, and the
`python -m app.data` check and preview commands."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from app.data.__main__ import main as data_main
from app.data.affine import RandomAffine
from app.data.augment import augment_layers, cutmix, mixup, place
from app.data.images import decode
from app.data.pipeline import train_stream
from app.data.preprocess import fit_preprocessing, zca_fit
from app.experiments import EXPERIMENTS
from app.train import main as train_main
from app.training.metrics import loss_and_metrics, majority_accuracy
from tests.test_data import _write_bad_folder


def test_resize_modes_keep_or_crop_the_aspect_ratio(tmp_path):
    image = np.full((20, 40, 3), 200, np.uint8)  # wide, bright
    image[:, :20] = 50  # left half dark
    Image.fromarray(image).save(tmp_path / "wide.png")
    pad, _ = decode(tmp_path / "wide.png", 20, resize="pad")
    crop, _ = decode(tmp_path / "wide.png", 20, resize="crop")
    squash, _ = decode(tmp_path / "wide.png", 20, resize="squash")
    assert pad[0].max() == 0 and pad[10, 2] == pytest.approx(50, abs=2)  # black bars top/bottom
    assert crop[:, 0].mean() == pytest.approx(50, abs=2) and crop.min() > 40  # center, no bars
    assert squash[:, 0].mean() == pytest.approx(50, abs=2) and squash.min() > 40
    assert pad.shape == crop.shape == squash.shape == (20, 20, 3)


def test_zca_whitens_the_training_data_and_is_saved_in_the_model(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 1)) * 40 + 128  # strongly correlated pixels
    x = np.clip(base[:, :, None, None] + rng.normal(size=(2000, 4, 4, 3)) * 10, 0, 255)
    x = x.astype(np.uint8)
    mean, matrix = zca_fit(x, epsilon=1e-8)
    white = (x.reshape(len(x), -1) / 255.0 - mean) @ matrix
    assert np.cov(white.T) == pytest.approx(np.eye(48), abs=0.05)
    block = fit_preprocessing(x, "zca")[0]
    assert [type(layer).__name__ for layer in block.layers] == [
        "Rescaling", "Flatten", "Dense", "Reshape"]  # Keras' own layers: loads without the app
    block.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    batch = x[:8].astype(np.float32)
    mean, matrix = zca_fit(x)  # all 2,000 images: fewer than fit_preprocessing's cap
    expected = (batch.reshape(8, -1) / 255.0 - mean) @ matrix
    assert np.allclose(again.predict(batch, verbose=0).reshape(8, -1), expected, atol=1e-4)


def test_augmented_views_change_every_epoch_and_repeat_with_the_seed():
    x = np.random.default_rng(0).integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)

    def two_epochs():
        ds = train_stream(x, np.zeros(1), 1, seed=5, epochs=2,
                          augment=augment_layers("cats_dogs", seed=5))
        return [batch[0].numpy() for batch in ds]

    first, second = two_epochs()
    assert not np.allclose(first, second)  # a new random view each epoch
    again = two_epochs()
    assert np.allclose(first, again[0]) and np.allclose(second, again[1])


def test_random_affine_is_one_warp_about_the_center():
    x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    assert np.allclose(RandomAffine(seed=1)(x, training=True), x, atol=1e-3)  # zero ranges
    m = RandomAffine(rotation=30, shear=10, zoom=0.2, shift=0.1, seed=3).matrices(2000, 32, 32)
    m = m.numpy()
    center = 15.5  # rotation, shear and zoom keep the center: it moves by the shift only
    assert np.abs(m[:, 0] * center + m[:, 1] * center + m[:, 2] - center).max() <= 3.2 + 1e-4
    determinant = m[:, 0] * m[:, 4] - m[:, 1] * m[:, 3]  # rotation and shear keep areas
    assert determinant.min() >= 0.8**2 - 1e-5 and determinant.max() <= 1.2**2 + 1e-5
    angle = np.degrees(np.arctan2(m[:, 3], m[:, 0]))
    assert np.abs(angle).max() <= 30 + 1e-3 and np.abs(angle).max() > 28  # spread over +-30


@pytest.mark.parametrize("name", ["shift_rotate", "digits_affine"])
def test_digit_augmentations_fill_with_black_and_keep_the_ink(name):
    # A digit's background is black: the pixels a warp brings in from outside must be too
    # ("nearest" would smear a stroke that touches the border across it), and a warp of at
    # most 10% zoom keeps the amount of ink within about 10-20%.
    def warp(images):
        for layer in augment_layers(name, seed=2):
            images = layer(images, training=True)
        return np.asarray(images)

    x = np.zeros((64, 28, 28, 1), np.float32)
    x[:, 8:20, 12:16] = 255  # a "1" in the middle
    ink = warp(x).sum((1, 2, 3)) / x[0].sum()
    assert 0.75 < ink.min() and ink.max() < 1.3
    full = np.full((64, 28, 28, 1), 255, np.float32)
    assert (warp(full)[:, [0, -1]][..., 0] < 128).any(axis=(1, 2)).mean() > 0.9


def test_mixup_mixes_images_and_labels():
    x = np.stack([np.zeros((8, 8, 3)), np.full((8, 8, 3), 255)]).astype(np.float32)
    y = np.eye(2, dtype=np.float32)
    mixed_x, mixed_y = mixup(0.4, seed=1)(x, y)
    mixed_y = mixed_y.numpy()
    assert mixed_y.sum(1) == pytest.approx([1, 1])
    assert mixed_x.numpy()[0].mean() == pytest.approx(255 * mixed_y[0, 1], rel=1e-4)


@pytest.mark.parametrize("seeded", [False, True])
def test_cutmix_pastes_a_box_and_mixes_labels_by_its_area(seeded):
    # Black and white images with one-unit labels 0 and 1: each mixed image's share of white
    # pixels is its label; the pasted part is one box (rows and columns of it all white).
    x = np.stack([np.zeros((64, 64, 3)), np.full((64, 64, 3), 255)] * 4).astype(np.float32)
    y = np.array([[0], [1]] * 4, np.float32)
    mix = cutmix(1.0, seed=3)
    mixed_x, mixed_y = mix(x, y, tf.constant([3, 4], tf.int64)) if seeded else mix(x, y)
    white = mixed_x.numpy()[..., 0] == 255
    # Keras weighs the labels by the box's real-valued area, and pastes the pixels whose
    # corners fall in it: they differ by at most a row and a column (2/64 of the image).
    assert white.mean(axis=(1, 2)) == pytest.approx(mixed_y.numpy()[:, 0], abs=2 / 64)
    for pasted in white != (x[..., 0] == 255):  # the pixels another image gave: one box
        rows, cols = np.nonzero(pasted.any(1))[0], np.nonzero(pasted.any(0))[0]
        if pasted.any():
            assert pasted[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()
    assert 0 < mixed_y.numpy().std()  # some images did mix


@pytest.mark.parametrize("experiment, changes, message", [
    ("cats_dogs_plus", {"cutmix": 1.0}, "mixed one way"),  # mixup is on in it
    ("cats_dogs_plus", {"cutmix": 2.0, "mixup": 0.0}, r"cutmix must be in \[0, 1\]"),
    ("cats_dogs_progressive", {"cutmix": 1.0, "mixup": 0.0}, "needs the image side known"),
])
def test_cutmix_settings_keras_cannot_run_are_refused_before_any_work(experiment, changes,
                                                                      message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(EXPERIMENTS[experiment], **changes).validate()


@pytest.mark.parametrize("mix", ["mixup=0.2", "cutmix=1.0"])
def test_cutout_mixup_and_model_side_augmentation_train(tmp_path, mix):
    run = tmp_path / "run"
    assert train_main(["cifar_cnn_aug", "--data", "sample", "--limit", "32", "--epochs", "1",
                       "--batch-size", "16", "--out", str(run), "--set", "cutout=0.5",
                       "--set", mix, "--set", "augment_on=model"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["augment_in_model"] == ["RandomFlip", "RandomTranslation"]
    assert config["model"]["params"] == 1_191_170
    model = keras.saving.load_model(run / "model.keras")
    # The saved model is the inference one: no training-only augmentation, and compiled with
    # Keras' loss on class indices (training used mixup's or cutmix's soft labels).
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Sequential", "Functional"]
    assert model.loss == "sparse_categorical_crossentropy"


def test_binary_accuracy_under_mixup_counts_each_labels_larger_part():
    y_true = np.array([[0.83], [0.1], [0.6]], np.float32)  # mixup's labels: mostly 1, 0, 1
    y_pred = np.array([[0.9], [0.2], [0.3]], np.float32)
    assert float(np.mean(keras.metrics.binary_accuracy(y_true, y_pred))) == 0  # Keras' own
    assert float(np.mean(majority_accuracy(y_true, y_pred))) == pytest.approx(2 / 3)
    # Compiled as the runner compiles a one-unit model trained with mixup.
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    loss, metrics = loss_and_metrics("cats_dogs", 1, one_hot=True)
    model.compile("adam", loss, metrics=metrics)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    y = np.array([[0.9], [0.2], [0.7], [0.4]], np.float32)
    scores = model.evaluate(x, y, return_dict=True, verbose=0)
    expected = np.mean((model.predict(x, verbose=0) > 0.5) == (y > 0.5))
    assert scores["accuracy"] == pytest.approx(expected)


@pytest.mark.parametrize("outputs", [10, 1])
def test_label_smoothing_makes_the_softened_target_the_best_prediction(outputs):
    loss = loss_and_metrics("mnist", outputs, one_hot=True, label_smoothing=0.2)[0]
    # The training loss is lowest at the smoothed target (0.82 and 0.02s of ten classes; 0.9 for
    # one sigmoid unit), not at the certain prediction plain cross-entropy drives towards.
    y = np.eye(10, dtype=np.float32)[[3]] if outputs == 10 else np.ones((1, 1), np.float32)

    def at(p):  # the loss of a prediction with probability p on the true class
        pred = np.full((1, 10), (1 - p) / 9, np.float32) if outputs == 10 else np.full((1, 1), p)
        pred[0, 3 if outputs == 10 else 0] = p
        return float(loss(y, pred.astype(np.float32)))

    best = 0.82 if outputs == 10 else 0.9
    assert at(best) < min(at(best - 0.05), at(best + 0.05), at(0.999))


def test_label_smoothing_trains_on_one_hot_labels_and_saves_a_plain_model(tmp_path):
    run = tmp_path / "run"
    assert train_main(["mnist_fast", "--data", "sample", "--limit", "64", "--batch-size", "16",
                       "--out", str(run), "--set", "label_smoothing=0.1"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["label_smoothing"] == 0.1
    model = keras.saving.load_model(run / "model.keras")
    assert model.loss == "sparse_categorical_crossentropy"  # evaluated on class indices


def test_only_geometric_augmentation_moves_into_the_model():
    pipeline_side, model_side = place(augment_layers("cats_dogs_color", cutout=0.5), "model")
    assert [type(layer).__name__ for layer in pipeline_side] == [
        "RandomBrightness", "RandomContrast", "RandomErasing"]
    assert [type(layer).__name__ for layer in model_side] == ["RandomAffine", "RandomFlip"]
    assert place(model_side, "pipeline") == (model_side, [])


def test_check_command_lists_every_bad_file(tmp_path, capsys):
    expected = _write_bad_folder(tmp_path / "train")
    assert data_main(["check", str(tmp_path / "train")]) == 1
    out = capsys.readouterr().out
    assert "cat                  4 readable      5 unusable" in out
    assert "dog                  1 readable      0 unusable" in out
    for name, reason in expected.items():
        assert f"{name}: {reason}" in out


def test_preview_writes_a_grid(tmp_path):
    assert data_main(["preview", "cifar_cnn_aug", "--out", str(tmp_path / "p.png")]) == 0
    assert Image.open(tmp_path / "p.png").size[0] > 500
    assert data_main(["preview", "nope"]) == 2


@pytest.mark.parametrize("argv, code, message", [
    (["throughput", "mnist_cnn", "--batches", "0"], 2, "--batches 0"),
    (["preview", "mnist_cnn", "--out", "{tmp}/grid.txt"], 2, "expected: a .png file"),
    (["preview", "mnist_cnn", "--out", "{tmp}/file/grid.png"], 2, "cannot make the folder"),
    (["preview", "mnist_cnn", "--out", "{tmp}/folder.png"], 2, "folder.png is a folder"),
])
def test_data_command_bad_flags_are_clear_errors(argv, code, message, tmp_path, capsys):
    (tmp_path / "file").write_text("a file where a folder was expected")
    (tmp_path / "folder.png").mkdir()
    assert data_main([a.format(tmp=tmp_path) for a in argv]) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_training_on_a_folder_with_bad_files_skips_exactly_them(tmp_path):
    expected = {}
    for split in ("train", "validation"):
        expected |= {f"{split}/{k}": v for k, v in
                     _write_bad_folder(tmp_path / "data" / "cats_dogs" / split).items()}
    run = tmp_path / "run"
    assert train_main(["cats_dogs", "--data-dir", str(tmp_path / "data"), "--epochs", "1",
                       "--out", str(run)]) == 0
    lines = (run / "skipped_files.txt").read_text().splitlines()
    skipped = {"/".join(path.split("/")[-3::2]): reason for path, reason in
               (line.split("\t") for line in lines)}
    assert set(skipped) == set(expected)
    for key, reason in expected.items():
        assert skipped[key].startswith(reason)
    assert json.loads((run / "config.json").read_text())["data"]["skipped"] == 10
