"""Export and prediction: the SavedModel matches the Keras model, the bytes endpoint matches the
array one, a .keras round trip keeps the optimizer, and the CSV has one row per readable image."""

import csv
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from app.data.errors import DataError
from app.predict import load_predictor
from app.predict import main as predict_main
from app.runs import load_model
from app.train import main as train_main
from app.training.export import decode_resize


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert train_main(["cats_dogs", "--data", "sample", "--limit", "40", "--epochs", "1",
                       "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_saved_model_equals_keras_model(run, batch):
    model = load_model(run / "model.keras")
    served = tf.saved_model.load(str(run / "saved_model"))
    x = np.random.default_rng(batch).uniform(0, 255, (batch, 64, 64, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    assert np.allclose(served.serve(tf.constant(x)).numpy(), expected, atol=1e-5)


def test_bytes_endpoint_agrees_with_array_endpoint(run, tmp_path):
    served = tf.saved_model.load(str(run / "saved_model"))
    rng = np.random.default_rng(0)
    files = []
    for i, size in enumerate([(120, 90), (64, 64), (30, 200)]):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png")
        files.append((tmp_path / f"{i}.png").read_bytes())
    from_bytes = served.serve_bytes(tf.constant(files)).numpy()
    arrays = tf.stack([decode_resize(f, 64, 64, 3) for f in files])
    assert np.allclose(from_bytes, served.serve(arrays).numpy(), atol=1e-6)


def test_keras_round_trip_keeps_weights_and_optimizer_state(run, tmp_path):
    model = load_model(run / "model.keras")
    model.save(tmp_path / "again.keras")
    again = load_model(tmp_path / "again.keras")
    for a, b in zip(model.weights, again.weights):
        assert np.array_equal(a.numpy(), b.numpy())
    assert again.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() > 0
    for a, b in zip(model.optimizer.variables, again.optimizer.variables):
        assert np.array_equal(a.numpy(), b.numpy())


def test_csv_has_one_row_per_readable_image(run, tmp_path, capsys):
    images = tmp_path / "test1"
    images.mkdir()
    for i in (1, 2, 10):
        Image.new("RGB", (50, 40), (i * 20, 100, 50)).save(images / f"{i}.jpg")
    (images / "3.jpg").write_bytes(b"broken")
    for source in (run, run / "saved_model"):
        out = tmp_path / "submission.csv"
        # Exit 1: the broken image is a listed skip, not a row.
        assert predict_main([str(source), "--images", str(images), "--out", str(out),
                             "--tta"]) == 1
        rows = list(csv.reader(out.open()))
        assert rows[0] == ["id", "label"]
        assert [r[0] for r in rows[1:]] == ["1", "2", "10"]  # numeric order, broken one left out
        assert all(0.005 <= float(r[1]) <= 0.995 for r in rows[1:])
        assert "3.jpg: not an image" in capsys.readouterr().err
        assert "3.jpg\tnot an image" in (tmp_path / "submission.csv.log").read_text()


def test_wrong_model_path_says_what_is_there(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert predict_main([str(tmp_path), "--images", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no model.keras or saved_model.pb" in err and "notes.txt" in err


def test_a_config_asking_for_sides_the_model_cannot_take_is_a_clear_error(run, tmp_path, capsys):
    edited = tmp_path / "edited"
    edited.mkdir()
    shutil.copy(run / "model.keras", edited)
    meta = json.loads((run / "config.json").read_text())
    meta["config"]["tta_sizes"] = "96"  # cats_dogs_cnn has a Flatten: 64 px only
    (edited / "config.json").write_text(json.dumps(meta))
    assert predict_main([str(edited), "--images", str(tmp_path), "--out",
                         str(tmp_path / "out.csv"), "--tta"]) == 2
    err = capsys.readouterr().err
    assert "tta_sizes='96'" in err and "takes 64 px only" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()
    # Without --tta the other sides are not built: the same folder predicts at 64 px.
    predict, shape, _, sides = load_predictor(edited)
    assert shape == (64, 64, 3) and sides == ()
    assert predict(np.zeros((2, *shape), np.float32)).shape == (2, 1)
    meta["config"]["tta_sizes"] = "96px"  # junk is refused, not dropped
    (edited / "config.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="image sides in pixels"):
        load_predictor(edited, tta=True)
