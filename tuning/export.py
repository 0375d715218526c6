"""The best trial of a search as a normal run folder (config.json, metrics.json, model.keras,
saved_model/, preprocessing.json) that `app.predict` and `app.inspect` take.

A trial that kept its weights (every search without cross-validation) is exported as trained
(keras-team/keras-tuner#548): the model is rebuilt from its hyperparameters on the search's data
and given the weights of its best epoch, so its held-out metrics are those of the model the
search scored. A cross-validated trial trained K models and kept none: its configuration is
retrained by `app.runner.run_experiment`, on every training example when no callback watches
the validation loss (as report 004 retrained its best regression networks)."""

import dataclasses
import json
from pathlib import Path

import keras_tuner

from app import models
from app.config import Config
from app.data.preprocess import Normalize
from app.export import export_saved_model
from app.runner import classifier_reports, environment, prepare_out_dir, run_experiment, write_json
from tuning.report import load
from tuning.spaces import SPACES
from tuning.study import evaluate, make_study


def best_trial(search_dir):
    """(search.json, the best completed trial's row); ValueError if none completed."""
    meta, rows = load(search_dir)
    done = [r for r in rows if r["status"] == "COMPLETED"]
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
    path = Path(out_dir) / "config.json"
    record = json.loads(path.read_text())
    write_json(path, {**record, "search": {**provenance, "exported": "retrained"}})
    return Path(out_dir)


def reload(study, config, hp, checkpoint, out_dir, provenance):
    """The run folder of the trial's model with its best epoch's weights."""
    out_dir = prepare_out_dir(out_dir)
    model = study.build(hp)  # normalization fitted on the same training split as in the search
    model.load_weights(checkpoint)
    splits = study.splits
    test = study.datasets(config, splits)[2]
    results = {**{k[4:]: v for k, v in evaluate(model, test).items()},
               "split": splits.eval_split, "examples": len(splits.test[0])}
    if splits.class_names:
        results |= classifier_reports(model, *splits.test, splits.class_names, out_dir,
                                      config.tta)
    write_json(out_dir / "metrics.json", results)
    normalize = next(layer for layer in model.layers if isinstance(layer, Normalize))
    write_json(out_dir / "preprocessing.json", normalize.stats())
    write_json(out_dir / "config.json", {
        "config": dataclasses.asdict(config),
        "data": {"source": splits.source, "train": len(splits.train[0]),
                 "val": len(splits.val[0]), splits.eval_split: len(splits.test[0]),
                 "input_shape": splits.input_shape, "class_names": splits.class_names},
        "model": {"name": config.model, "params": models.core_of(model).count_params(),
                  "outputs": study.outputs},
        "search": {**provenance, "exported": "as trained"}, "environment": environment()})
    model.save(out_dir / "model.keras")
    if config.export:
        export_saved_model(model, out_dir / "saved_model")
    print(f"{config.name}: {splits.eval_split} " + ", ".join(
        f"{k}={v:.4f}" for k, v in results.items() if isinstance(v, float)))
    return out_dir
