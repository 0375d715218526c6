"""Users cross process boundaries: they train in one shell, then load `model.keras` in a notebook
or predict and inspect from another shell. Every registered experiment (plus a run with its
augmentation inside the model and one with mixup) is trained for one step here; then fresh
processes load what it saved: plain Keras in a process that cannot import the app, and the
app's own `predict` and `inspect errors` commands."""

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import runs
from app.data import load_splits
from app.experiments import EXPERIMENTS
from app.train import main as train

ROOT = Path(__file__).parents[1]
# name -> (experiment, extra flags): every experiment, and the two ways a saved model could
# carry training-only parts: augmentation layers inside the model, and mixup's soft labels.
RUNS = {name: (name, []) for name in EXPERIMENTS} | {
    "cats_dogs+augment_on=model": ("cats_dogs", ["--set", "augment_on=model"]),
    "cifar_cnn_aug+mixup": ("cifar_cnn_aug", ["--set", "mixup=0.2"]),
}
IMAGE_RUNS = [name for name, (exp, _) in RUNS.items()
              if EXPERIMENTS[exp].dataset not in ("circles", "regression1d")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{run name: (folder, {file: (inputs, predictions of the live model that was saved)})}:
    each run trained for one step in this process; save_model is wrapped to record what the
    model in memory predicts on random raw inputs, just before it is saved."""
    folder = tmp_path_factory.mktemp("journeys")
    live = {}
    save = runs.files.save_model  # every model a run saves goes through it (RunFolder's)

    def recording_save(model, path):
        x = np.random.default_rng(0).uniform(0, 255, (4, *model.input_shape[1:]))
        x = x.astype(np.float32)
        live[str(path)] = (x, model.predict(x, verbose=0))
        return save(model, path)

    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs.files, "save_model", recording_save)
        for name, (experiment, flags) in RUNS.items():
            out = folder / name
            # 16 examples at batch size 16: one optimizer step, then 16 held-out examples.
            code = train([experiment, "--data", "sample", "--limit", "16", "--epochs", "1",
                          "--batch-size", "16", "--out", str(out), *flags])
            results[name] = (out, code, {Path(p).name: v for p, v in live.items()
                                         if Path(p).parent == out})
    return results


@pytest.mark.parametrize("name", list(RUNS))
def test_every_experiment_runs_one_step(name, trained):
    out, code, _ = trained[name]
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["examples"] == 16 and np.isfinite(metrics["loss"])
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["name"] == RUNS[name][0] and config["data"]["source"] == "sample"
    assert (out / "saved_model" / "saved_model.pb").exists()
    assert (out / "best.keras").exists() == config["config"]["checkpoint"]


PLAIN_KERAS = textwrap.dedent("""
    # A notebook's view: the app is not importable, Keras alone loads what a run saved.
    import json, sys
    import numpy as np
    try:
        import app
        sys.exit("the app is importable in this process")
    except ImportError:
        pass
    import keras
    jobs, out = json.loads(sys.argv[1]), {}
    for path, x_file in jobs:
        model = keras.saving.load_model(path)  # safe mode, no custom objects
        x = np.load(x_file)
        out[path] = {"predictions": model.predict(x, verbose=0).tolist(),
                     "optimizer_steps": int(model.optimizer.iterations.numpy()),
                     "layers": [type(layer).__name__ for layer in model.layers]}
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def plain_keras(trained, tmp_path_factory):
    """What one fresh `python -I` process (no app on its path) gets from every saved model."""
    folder = tmp_path_factory.mktemp("inputs")
    jobs = []
    for name, (out, _, live) in trained.items():
        for file, (x, _) in live.items():
            np.save(folder / f"{name}-{file}.npy", x)
            jobs.append((str(out / file), str(folder / f"{name}-{file}.npy")))
    done = subprocess.run([sys.executable, "-I", "-c", PLAIN_KERAS, json.dumps(jobs)],
                          cwd=folder, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(RUNS))
def test_saved_models_load_with_keras_alone_and_predict_as_trained(name, trained, plain_keras):
    out, _, live = trained[name]
    assert set(live) == {"model.keras", "best.keras"} & {p.name for p in out.iterdir()}
    examples = json.loads((out / "config.json").read_text())["data"]["train"]  # 32: pseudo
    for file, (_, expected) in live.items():
        loaded = plain_keras[str(out / file)]
        assert np.allclose(loaded["predictions"], expected, atol=1e-5), file
        # Inference only: no augmentation layer travels in the saved model...
        assert loaded["layers"] == ["InputLayer", "Sequential", "Functional"], file
        # ...but the optimizer's state does, so training can go on from the file.
        assert loaded["optimizer_steps"] == -(-examples // 16), file  # batches of 16


COMMANDS = textwrap.dedent("""
    # `python -m MODULE ARGS...` for each [MODULE, *ARGS] in turn, as `python -m` runs them
    # (runpy, __main__), in this one fresh process: one TensorFlow import for both commands.
    import json, runpy, sys
    codes = []
    for argv in json.loads(sys.argv[1]):
        sys.argv = argv
        try:
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
        except SystemExit as exit:
            codes.append(exit.code)
    print(json.dumps(codes))
""")


@pytest.fixture(scope="module")
def fresh_commands(trained, tmp_path_factory):
    """{run name: (exit codes, stderr of its process, folder)}: `python -m app.predict RUN`
    and `python -m app.inspect RUN errors` on every image run, in fresh processes (not the one
    that trained it)."""
    folder = tmp_path_factory.mktemp("commands")
    jobs = {}
    for name in IMAGE_RUNS:
        out = trained[name][0]
        config = EXPERIMENTS[RUNS[name][0]]
        images = folder / name / "images"
        images.mkdir(parents=True)
        x = load_splits(config.dataset, data="sample", limit=3, val_split=0, progress=False,
                        image_size=config.image_size).test[0]
        for i, image in enumerate(x):
            Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
                images / f"{i + 1}.png")
        jobs[name] = [
            ["app.predict", str(out), "--images", str(images),
             "--out", str(folder / name / "submission.csv")],
            ["app.inspect", str(out), "errors", "--out", str(folder / name / "inspect")]]

    def run(names):
        argvs = [argv for name in names for argv in jobs[name]]
        done = subprocess.run([sys.executable, "-c", COMMANDS, json.dumps(argvs)],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        codes = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 \
            else [done.returncode] * len(argvs)
        return {name: (codes[2 * i:2 * i + 2], done.stderr, folder / name)
                for i, name in enumerate(names)}

    # Two fresh processes (one a core), each running its half of the runs' commands in turn:
    # none of them is the process that trained, and TensorFlow is imported twice, not 36 times.
    names = list(jobs)
    with ThreadPoolExecutor(2) as pool:
        return {k: v for part in pool.map(run, [names[0::2], names[1::2]])
                for k, v in part.items()}


@pytest.mark.parametrize("name", IMAGE_RUNS)
def test_predict_and_inspect_a_run_in_a_fresh_process(name, fresh_commands):
    codes, stderr, folder = fresh_commands[name]
    assert codes == [0, 0], stderr[-3000:]
    assert "Traceback" not in stderr
    rows = (folder / "submission.csv").read_text().splitlines()
    assert rows[0] == "id,label" and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert (folder / "inspect" / "misclassified.png").exists() or \
        (folder / "inspect" / "hardest.png").exists()
