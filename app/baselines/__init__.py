"""Classical baselines with scikit-learn, for the comparisons the reports made: SVM kernels on the
2-D circles (`circles`, report 000) and logistic regression / SVM on MNIST pixels (`mnist`).
Run `python -m app.baselines --help`."""
