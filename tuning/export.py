"""The best trial of a search as a normal run folder (config.json, metrics.json, model.keras,
saved_model/, preprocessing.json) that `app.predict` and `app.inspect` take.

A trial that kept its weights (every search without cross-validation) is exported as trained
(keras-team/keras-tuner#548): the model is rebuilt from its hyperparameters on the search's data
and given the weights of its best epoch, so its held-out metrics are those of the model the
search scored. A cross-validated trial trained K models and kept none: its configuration is
retrained by `app.training.run.run_experiment`, on every training example when no callback watches
the validation loss (as report 004 retrained its best regression networks)."""

import dataclasses
from pathlib import Path

import keras_tuner

from app import models, runs
from app.config import Config
from app.data.preprocess import fit_preprocessing
from app.training.export import export_saved_model
from app.training.run import (
    classifier_reports,
    data_summary,
    inference_model,
    run_experiment,
)
from tuning.report import completed, load
from tuning.spaces import SPACES
from tuning.study import evaluate, make_study


def best_trial(search_dir):
    """(search.json, the best completed trial's row); ValueError if none completed."""
    meta, rows = load(search_dir)
    done = completed(rows)
    if not done:
        raise ValueError(f"{search_dir} has no completed trial to export")
    return meta, done[0]


def export_best(search_dir, out_dir, data_dir=None):
    """Write the best trial of `search_dir` as a run folder in `out_dir`; returns out_dir."""
    search_dir = Path(search_dir)
    meta, row = best_trial(search_dir)
    study = make_study(SPACES[meta["experiment"]], Config(**meta["config"]),
                       data_dir or meta.get("data_dir"))
    trial_dir = search_dir / f"trial_{row['trial']}"
    hp = keras_tuner.engine.trial.Trial.load(str(trial_dir / "trial.json")).hyperparameters
    config = study.config_for(hp)
    provenance = {"dir": str(search_dir), "trial": row["trial"], "objective": meta["objective"],
                  "score": row["score"], "values": dict(hp.values)}
    checkpoint = trial_dir / "checkpoint.weights.h5"
    if checkpoint.exists():
        return reload(study, config, hp, checkpoint, out_dir, provenance)
    watched = config.early_stopping_patience or config.reduce_lr_patience
    retrain = config if watched else dataclasses.replace(config, val_split=0.0)
    run_experiment(retrain, out_dir, data_dir or meta.get("data_dir"))
    with runs.RunFolder.open(out_dir) as run:
        run.write_json("config.json", {**run.json("config.json"),
                                       "search": {**provenance, "exported": "retrained"}})
    return Path(out_dir)


def reload(study, config, hp, checkpoint, out_dir, provenance):
    """The run folder of the trial's model with its best epoch's weights."""
    with runs.RunFolder.open(out_dir) as run:
        model = study.build(hp)  # preprocessing fitted on the training split the search used
        model.load_weights(checkpoint)
        splits = study.splits
        test = study.datasets(config, splits)[2]
        inference = inference_model(model, config.dataset, study.outputs, splits.input_shape)
        results = {**{k[4:]: v for k, v in evaluate(model, test).items()},
                   "split": splits.eval_split, "examples": len(splits.test[0])}
        if splits.class_names:
            results |= classifier_reports(inference, *splits.test, splits.class_names, run.path,
                                          config.tta, views=splits.views)
        run.write_json("metrics.json", results)
        run.write_json("preprocessing.json",
                       fit_preprocessing(splits.train[0], config.normalize, config.seed)[1])
        run.write_config(config, data_summary(splits),
                         {"name": config.model, "params": models.core_of(model).count_params(),
                          "outputs": study.outputs},
                         search={**provenance, "exported": "as trained"})
        run.save_model(inference)
        if config.export:
            export_saved_model(inference, run / "saved_model")
    print(f"{config.name}: {splits.eval_split} " + ", ".join(
        f"{k}={v:.4f}" for k, v in results.items() if isinstance(v, float)))
    return Path(out_dir)
