"""The Python API for notebooks (app/api.py, issue 19): train returns a Run with the files read
back and the model loaded lazily, predict returns probabilities by image id, search returns the
best trial, `from app import train` stays the function, and notebooks/quickstart.ipynb runs in
a Jupyter kernel. One light MNIST run (256 sample images, 2 epochs) serves the Run tests."""

import os
import sys
from datetime import datetime
from pathlib import Path

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from app import predict, search, train
from app.api import Run
from app.data import load_splits
from app.runs import table

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    return train("mnist_cnn_light", epochs=2, limit=256, data="sample", export=False,
                 tensorboard=False, out=out)


def test_train_returns_the_run_with_its_files_read_back(run):
    assert isinstance(run, Run) and (run.folder / "model.keras").is_file()
    assert run.config["epochs"] == 2 and run.config["limit"] == 256
    assert len(run.history["loss"]) == len(run.history["val_accuracy"]) == 2
    assert {"loss", "accuracy", "epochs_run"} <= set(run.metrics)
    # The two fields `python -m app.runs` shows as minutes and date.
    assert run.metrics["seconds"] > 0 and datetime.fromisoformat(run.metrics["finished"])
    assert Run.load(run.folder) == run
    assert "model" not in vars(Run.load(run.folder))  # not loaded until used
    assert isinstance(run.model, keras.Model) and run.model is run.model
    assert run.model.input_shape == (None, 28, 28, 1)


def test_plot_is_a_figure_of_the_metric_and_its_validation(run):
    fig = run.plot("accuracy")
    assert isinstance(fig, Figure)
    assert [line.get_label() for line in fig.axes[0].lines] == ["accuracy", "val_accuracy"]
    with pytest.raises(ValueError, match="val_accuracy"):
        run.plot("auc")


def test_predict_gives_each_image_its_probabilities(run, tmp_path):
    x = load_splits("mnist", data="sample", limit=4, progress=False).test[0]
    for i, image in enumerate(x):
        Image.fromarray(image[..., 0]).save(tmp_path / f"{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="broken.png"):
        found = predict(run, tmp_path)
    assert sorted(found) == ["0", "1", "2", "3"]
    expected = run.model.predict(x.astype(np.float32), verbose=0)
    assert np.allclose([found[str(i)] for i in range(4)], expected, atol=1e-5)
    with pytest.warns(UserWarning):
        mirrored = predict(str(run.folder), tmp_path, tta=True)
    assert np.allclose(sum(mirrored["0"]), 1, atol=1e-5)


def test_runs_table_shows_minutes_and_date_of_a_new_run(run):
    rows, _ = table.load(run.folder.parent)
    assert rows[0].cells["minutes"] > 0 and rows[0].cells["date"][:4].isdigit()
    assert "epochs=2" in rows[0].cells["changes"] and "limit=256" in rows[0].cells["changes"]


def test_bad_names_are_errors_before_any_work():
    with pytest.raises(ValueError, match=r"valid keys: .*learning_rate"):
        train("mnist_cnn_light", learning_rat=0.1)
    with pytest.raises(ValueError, match="takes a value of type int"):
        train("mnist_cnn_light", epochs=1.5)
    with pytest.raises(ValueError, match="choose one of"):
        train("mnist_cnn_heavy")
    with pytest.raises(ValueError, match=r"tuning\.search does not take"):
        search("regression", trials=3)


def test_importing_the_commands_keeps_the_functions():
    # app/train.py and app/predict.py share these names; importing them must not rebind them.
    import app
    from app.predict import main as predict_main
    from app.train import main as train_main

    assert callable(train_main) and callable(predict_main)
    from app import predict as again

    assert again is predict and app.train is train and train.__module__ == "app"


def test_search_returns_the_best_trial_and_its_folder(tmp_path):
    grid = {"depth": 2, "width": 8, "activation": "elu", "learning_rate": [0.01, 0.001]}
    found = search("regression", tuner="grid", epochs=1, out=tmp_path / "s", hp=grid)
    assert found.folder == tmp_path / "s" and (found.folder / "search.json").is_file()
    assert len(found.rows) == 2 and found.best is found.rows[0]
    assert found.best["score"] == min(row["score"] for row in found.rows)
    assert {row["learning_rate"] for row in found.rows} == {0.01, 0.001}


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    # The kernel imports `app` from this checkout and writes its run under tmp_path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *sys.path]))
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:  # no kernel here (no ipykernel, no kernelspec, no sockets): nothing to test
        client.km = client.create_kernel_manager()
        client.start_new_kernel()
        client.start_new_kernel_client()
    except Exception as error:  # jupyter_client raises many kinds here
        pytest.skip(f"no Jupyter kernel could start: {error}")
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot was shown
    assert list((tmp_path / "saved_models" / "mnist_cnn_light").glob("*/model.keras"))


def test_a_failed_train_leaves_no_empty_default_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):  # before the run opens its folder
        train("circles", epochs=1, strategy="multiworker")
    assert not (tmp_path / "saved_models").exists()  # nor the parents made for it
