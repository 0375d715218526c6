"""`python -m app.scratch COMMAND`: the reports' from-scratch numpy MLP.

    python -m app.scratch mnist --data-dir ../shared/data       report 001's 784-400-700-10 MLP
    python -m app.scratch gradcheck --data-dir ../shared/data   finite differences vs backprop
    python -m app.scratch circles                               numpy vs Keras on 2-D circles
"""

import sys

from app import subcommands
from app.scratch import circles, gradcheck, mnist

COMMANDS = {
    "mnist": ("train report 001's 784-400-700-10 sigmoid MLP in numpy", mnist.main),
    "gradcheck": ("finite-difference check of backprop on 10 weights of W2", gradcheck.main),
    "circles": ("numpy MLP and Keras circles_mlp on 2-D circles, boundaries", circles.main),
}


def main(argv=None):
    return subcommands.dispatch("python -m app.scratch", argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
