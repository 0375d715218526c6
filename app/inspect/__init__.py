"""Inspection plots for any run folder: `python -m app.inspect RUN_DIR VIEW`. `run.RunFolder`
reads the folder; `views.VIEWS` registers the views (weights, activations, kernels, curves)."""
