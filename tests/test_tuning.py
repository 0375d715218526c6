"""Hyperparameter search (tuning/): grids run every point once, random search repeats with its
seed, an interrupted search resumes without repeating work, Hyperband continues its parents,
Bayesian proposals do not repeat, cross-validated scores are fold means, the report lists every
trial, the best model is exported as trained, nested CV. The command line, the spaces and a
distributed search are in test_tuning_cli.py.

Searches run on the 100-point 1-D regression set or 64 sample MNIST images, 1-4 epochs."""

import csv
import itertools
import json
import math
import statistics
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

from app.config import Config
from app.data import load_splits
from app.predict import load_predictor
from app.runs import load_model
from tuning import nested, report
from tuning.search import main, make_tuner, parser
from tuning.spaces import SPACES
from tuning.study import evaluate, kfold, make_study, subset, training_pool
from tuning.tuners import BayesianOracle

GRID = {"depth": "2", "width": "16", "activation": "elu,tanh", "learning_rate": "0.01,0.001"}


def regression(out, *args, epochs=2):
    return ["regression", "--out", str(out), "--epochs", str(epochs), *args]


def hp_flags(values):
    return [flag for name, text in values.items() for flag in ("--hp", f"{name}={text}")]


def trials(folder):
    """{trial id: (trial.json, run.json, [runs.jsonl entries])} of a search folder."""
    out = {}
    for path in sorted(Path(folder).glob("trial_*/trial.json")):
        runs = path.parent / "runs.jsonl"
        out[path.parent.name] = (json.loads(path.read_text()),
                                 json.loads((path.parent / "run.json").read_text()),
                                 [json.loads(line) for line in runs.read_text().splitlines()])
    return out


@pytest.fixture(scope="module")
def grid_search(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "search"
    assert main(regression(out, "--tuner", "grid", *hp_flags(GRID))) == 0
    return out


def test_grid_search_runs_each_point_of_the_space_once(grid_search):
    found = trials(grid_search)
    points = [dict(zip(GRID, combo)) for combo in itertools.product(
        *(text.split(",") for text in GRID.values()))]
    assert len(found) == len(points) == math.prod(len(t.split(",")) for t in GRID.values())
    seen = [{k: str(v) for k, v in t["hyperparameters"]["values"].items()}
            for t, _, _ in found.values()]
    assert sorted(map(sorted, map(dict.items, seen))) == sorted(map(sorted, map(dict.items,
                                                                                points)))
    for name, (trial, run, runs) in found.items():
        assert trial["status"] == "COMPLETED" and len(runs) == 1
        # Disk: one checkpoint per trial, no resume files left behind (#288).
        assert {p.name for p in (grid_search / name).iterdir()} == {
            "trial.json", "run.json", "runs.jsonl", "checkpoint.weights.h5",
            "build_config.json"}
        assert run["epochs"] == 2 and run["rss_mb"] > 0


def test_report_lists_every_trial_sorted_with_plots(grid_search, capsys):
    assert report.main([str(grid_search)]) == 0
    printed = capsys.readouterr().out
    with open(grid_search / "results.csv") as f:
        rows = list(csv.DictReader(f))
    found = trials(grid_search)
    assert sorted(r["trial"] for r in rows) == sorted(t["trial_id"] for t, _, _ in
                                                      found.values())
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)
    assert scores[0] == min(t["score"] for t, _, _ in found.values())
    assert all(f"| {r['trial']} |" in printed for r in rows)
    md = (grid_search / "results.md").read_text().splitlines()
    assert len(md) == 2 + len(rows)
    assert {p.name for p in (grid_search / "plots").iterdir()} == {
        f"score_vs_{name}.png" for name in GRID}


def test_random_search_with_a_seed_repeats_and_another_seed_differs(tmp_path):
    def run(seed, name):
        assert main(regression(tmp_path / name, "--tuner", "random", "--max-trials", "2",
                               "--seed", str(seed), epochs=1)) == 0
        found = trials(tmp_path / name).values()
        return ([t["hyperparameters"]["values"] for t, _, _ in found],
                [t["score"] for t, _, _ in found])

    values, scores = run(0, "a")
    again_values, again_scores = run(0, "b")
    assert again_values == values
    assert again_scores == pytest.approx(scores, rel=1e-6)  # training repeats too (#421)
    assert run(1, "c")[0] != values


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C after `after` epochs of the whole search: the state a killed process leaves."""

    def __init__(self, after):
        super().__init__()
        self.after, self.seen = after, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            raise KeyboardInterrupt


def test_interrupted_search_resumes_without_repeating_trials_or_epochs(tmp_path):
    argv = regression(tmp_path / "s", "--tuner", "grid", "--resume-every", "0",
                      *hp_flags({**GRID, "activation": "elu,tanh,gelu", "learning_rate": "0.01"}),
                      epochs=4)
    tuner, _, _ = make_tuner(parser().parse_args(argv))
    with pytest.raises(KeyboardInterrupt):
        tuner.search(callbacks=[Interrupt(after=6)])  # trial 0: 4 epochs, trial 1: 2 of 4
    cut = tmp_path / "s" / "trial_0001"
    assert json.loads((cut / "resume.json").read_text())["epoch"] == 2
    assert main(argv) == 0
    found = trials(tmp_path / "s")
    assert len(found) == 3 and all(t["status"] == "COMPLETED" for t, _, _ in found.values())
    assert len(found["trial_0000"][2]) == 1 and len(found["trial_0002"][2]) == 1
    runs = found["trial_0001"][2]
    assert [r["epoch"] for r in runs] == [0, 2]  # the second run started at epoch 2
    assert len(found["trial_0001"][1]["history"]["loss"]) == 4
    assert not list(cut.glob("resume*"))


def test_hyperband_promotes_trials_from_their_parents_weights(tmp_path):
    out = tmp_path / "hyperband"
    assert main(regression(out, "--tuner", "hyperband", *hp_flags(
        {**GRID, "activation": "elu,tanh,gelu,sigmoid", "learning_rate": "0.01"}),
        epochs=3)) == 0
    found = trials(out)
    promoted = [(t, run) for t, run, _ in found.values()
                if "tuner/trial_id" in t["hyperparameters"]["values"]]
    assert promoted and all(t["status"] == "COMPLETED" for t, _, _ in found.values())
    for trial, run in promoted:
        values = trial["hyperparameters"]["values"]
        assert values["tuner/initial_epoch"] > 0  # it continued its parent's training
        assert len(run["history"]["loss"]) == values["tuner/epochs"] - values[
            "tuner/initial_epoch"]


def test_bayesian_oracle_does_not_propose_a_tried_point_again(tmp_path):
    # 9 points; after its 6 random ones keras-tuner's oracle proposes the best, (2, 1), again.
    hp = keras_tuner.HyperParameters()
    hp.Choice("a", [1, 2, 3])
    hp.Choice("b", [1, 2, 3])
    oracle = BayesianOracle(objective=keras_tuner.Objective("score", "min"), max_trials=9,
                            seed=1, hyperparameters=hp)
    oracle._set_project_dir(str(tmp_path), "bayesian")
    seen = []
    for _ in range(9):
        trial = oracle.create_trial("tuner0")
        values = trial.hyperparameters.values
        seen.append((values["a"], values["b"]))
        oracle.update_trial(trial.trial_id, {"score": (values["a"] - 2) ** 2 + values["b"]})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert len(set(seen)) == 9


def test_cross_validated_score_is_the_mean_of_the_folds(tmp_path):
    out = tmp_path / "cv"
    assert main(regression(out, "--tuner", "grid", "--cv", "3",
                           *hp_flags({**GRID, "learning_rate": "0.01"}))) == 0
    found = trials(out)
    assert len(found) == 2
    for trial, run, _ in found.values():
        folds = [f["val_loss"] for f in run["folds"]]
        assert len(folds) == 3 and len(set(folds)) == 3
        assert sum(f["examples"] for f in run["folds"]) == 100  # each point validated once
        assert trial["score"] == pytest.approx(statistics.fmean(folds), rel=1e-6)
        assert not (out / f"trial_{trial['trial_id']}" / "checkpoint.weights.h5").exists()

    # The first fold's score is the validation loss of a model trained on that fold alone.
    trial, run, _ = found["trial_0000"]
    study = make_study(SPACES["regression"], Config(**json.loads(
        (out / "search.json").read_text())["config"]))
    hp = keras_tuner.engine.trial.Trial.load(str(out / "trial_0000" / "trial.json"))
    config = study.config_for(hp.hyperparameters)
    x, y = training_pool(config, study.splits)
    fit, val = kfold(x, y, 3, config.seed, 0)[0]
    fold = subset(study.splits, (x[fit], y[fit]), (x[val], y[val]))
    keras.backend.clear_session()
    model = study.build_for(config, fold)
    study.train(model, config, fold, val=False)
    val_loss = evaluate(model, study.datasets(config, fold)[1])["val_loss"]
    assert val_loss == pytest.approx(run["folds"][0]["val_loss"], rel=1e-4)


def test_best_model_is_exported_as_trained_and_predicts(tmp_path):
    out = tmp_path / "mnist"
    fixed = {"depth": "1", "width": "8,16", "activation": "relu", "dropout": "0.0",
             "l2": "0.0", "batchnorm": "false", "optimizer": "adam", "learning_rate": "0.001",
             "batch_size": "32"}
    assert main(["mnist_fc", "--data", "sample", "--limit", "64", "--epochs", "1", "--tuner",
                 "grid", "--out", str(out), *hp_flags(fixed)]) == 0
    run_dir = tmp_path / "best"
    assert report.main([str(out), "--export-best", "--out", str(run_dir)]) == 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["search"]["exported"] == "as trained"
    assert (run_dir / "saved_model" / "saved_model.pb").exists()

    # The exported model is the trial's best checkpoint, not a new training run.
    best = out / f"trial_{config['search']['trial']}" / "checkpoint.weights.h5"
    study = make_study(SPACES["mnist_fc"], Config(**config["config"]))
    hp = keras_tuner.HyperParameters()
    for name, value in config["search"]["values"].items():
        hp.Fixed(name, value)
    trained = study.build(hp)
    trained.load_weights(best)
    x = load_splits("mnist", data="sample", limit=64, progress=False).test[0][:16]
    exported = load_model(run_dir / "model.keras").predict(x, verbose=0)
    np.testing.assert_allclose(exported, trained.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    predict, shape, meta, sides = load_predictor(run_dir)  # what app.predict loads
    assert shape == (28, 28, 1) and meta["data"]["class_names"][0] == "0" and sides == ()
    np.testing.assert_allclose(predict(x.astype(np.float32)), exported, rtol=1e-5, atol=1e-6)


def test_nested_cross_validation_tests_each_outer_fold(tmp_path):
    out = tmp_path / "nested"
    assert nested.main(regression(out, "--tuner", "grid", "--outer", "2", "--inner", "2",
                                  *hp_flags({**GRID, "depth": "2,3", "activation": "elu",
                                             "learning_rate": "0.01"}), epochs=1)) == 0
    summary = json.loads((out / "nested.json").read_text())
    losses = [f["test_loss"] for f in summary["folds"]]
    assert len(losses) == 2 and sum(f["test"] for f in summary["folds"]) == 200
    assert summary["test_loss_mean"] == pytest.approx(statistics.fmean(losses))
    assert all(len(trials(out / f"outer_{k}")) == 2 for k in (1, 2))


def test_a_trial_trains_exactly_as_app_train_does(tmp_path):
    # One data path (the resumable stream): a trial and `app.train --seed 3` of the trial's
    # config see the same batches and end with the same weights.
    from app.training.run import run_experiment

    args = parser().parse_args(["mnist_fc", "--data", "sample", "--limit", "64", "--epochs", "1",
                                "--batch-size", "16", "--seed", "3", "--max-trials", "1",
                                "--out", str(tmp_path / "search")])
    tuner, study, _ = make_tuner(args)
    tuner.search()
    trial = tuner.oracle.get_best_trials(1)[0]
    config = study.config_for(trial.hyperparameters)
    assert config.deterministic  # --seed: deterministic ops, in both
    run_experiment(config, tmp_path / "run")
    searched = json.loads((tmp_path / "search" / f"trial_{trial.trial_id}" / "run.json")
                          .read_text())["history"]
    trained = json.loads((tmp_path / "run" / "history.json").read_text())
    assert searched["loss"] == pytest.approx(trained["loss"], rel=1e-6)
    model = study.build(trial.hyperparameters)
    model.load_weights(tmp_path / "search" / f"trial_{trial.trial_id}" /
                       "checkpoint.weights.h5")
    saved = load_model(tmp_path / "run" / "model.keras")
    for ours, theirs in zip(model.get_layer(saved.layers[-1].name).get_weights(),
                            saved.layers[-1].get_weights()):
        assert np.allclose(ours, theirs, atol=1e-6)
