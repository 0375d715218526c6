"""`python -m app.baselines COMMAND`: the classical baselines of the reports, with scikit-learn.

    python -m app.baselines svm-circles                      SVM kernels on the 2-D circles
    python -m app.baselines mnist --data-dir ../shared/data  logistic regression and SVM on pixels
"""

import sys

from app import subcommands
from app.baselines import circles, mnist

COMMANDS = {
    "svm-circles": ("linear, polynomial (degrees 1-8) and RBF SVMs on circles", circles.main),
    "mnist": ("logistic regression and RBF SVM on MNIST pixels", mnist.main),
}


def main(argv=None):
    return subcommands.dispatch("python -m app.baselines", argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
