"""The training engine: what `python -m app.train` and `tuning.search` run.

    run          run_experiment(config, out_dir): data, model, fit, evaluate, the run folder
    optim        optimizers and learning-rate schedules from a config
    metrics      losses and metrics per dataset, class predictions
    callbacks    the callbacks a config turns on (time budget, time to accuracy, best model)
    resume       checkpointing everything a run depends on, so a killed run resumes exactly
    checkpoints  checkpoint folders on disk, written atomically
    distribute   tf.distribute strategies (mirrored, multi-worker)
    speed        per-machine speed settings (thread pools, XLA), recorded in config.json
    export       the SavedModel for serving
    features     feature maps of convolution layers

The modules import TensorFlow; commands import them only once they have parsed their flags, so
that `--help` stays instant."""
