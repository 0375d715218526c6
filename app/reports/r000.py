"""Report 000: a tanh MLP on 2-D circles by hand and with autograd, SVM kernels on the circles,
and the CIFAR-10 CNN ladder. Its figures are plots; the claims are in its words."""

from app.reports.r002 import ladder
from app.reports.rows import Row, Step, circles, svm

TITLE = "000: MLP, SVM and the CIFAR-10 CNN ladder"

ROWS = [
    Row("circles", "tanh MLP on circles: manual backprop against a framework's layers",
        "test error falls to 'about 0.15%'; the framework versions give similar results",
        (Step("app.scratch", ("circles",), minutes=(0.5, 0.5), takes=("epochs",)),), circles),
    Row("svm", "SVM kernels on circles: linear, polynomial, RBF",
        "linear and degree-1 fail; polynomial works from degree 6",
        (Step("app.baselines", ("svm-circles",), minutes=(0.3, 0.3), takes=()),), svm),
    *ladder(["overfits after 6-7 epochs", "faster convergence, better in train and test",
             "less overfitting, slower convergence", "less overfitting, more stable",
             "less overfitting, slower convergence", "faster convergence"]),
]
