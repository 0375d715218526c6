"""`python -m app.scratch COMMAND`: the reports' from-scratch numpy MLP.

    python -m app.scratch mnist --data-dir ../shared/data       report 001's 784-400-700-10 MLP
    python -m app.scratch gradcheck --data-dir ../shared/data   finite differences vs backprop
    python -m app.scratch circles                               numpy vs Keras on 2-D circles
"""

import sys

from app import cli

COMMANDS = {
    "mnist": ("train report 001's 784-400-700-10 sigmoid MLP in numpy",
              "app.scratch.mnist:main"),
    "gradcheck": ("finite-difference check of backprop on 10 weights of W2",
              "app.scratch.gradcheck:main"),
    "circles": ("numpy MLP and Keras circles_mlp on 2-D circles, boundaries",
              "app.scratch.circles:main"),
}


def main(argv=None):
    return cli.dispatch("python -m app.scratch", argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
