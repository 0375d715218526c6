"""`python -m app.baselines COMMAND`: the classical baselines of the reports, with scikit-learn.

    python -m app.baselines svm-circles                      SVM kernels on the 2-D circles
    python -m app.baselines mnist --data-dir ../shared/data  logistic regression and SVM on pixels
"""

import sys

from app import cli

COMMANDS = {
    "svm-circles": ("linear, polynomial (degrees 1-8) and RBF SVMs on circles",
              "app.baselines.circles:main"),
    "mnist": ("logistic regression and RBF SVM on MNIST pixels",
              "app.baselines.mnist:main"),
}


def main(argv=None):
    return cli.dispatch("python -m app.baselines", argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
