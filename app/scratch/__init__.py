"""From scratch: the reports' MLP in numpy alone with manual backpropagation (`mlp`), its
finite-difference gradient check (`gradcheck`), MNIST training (`mnist`) and the 2-D circles
comparison with Keras (`circles`). Run `python -m app.scratch --help`."""
