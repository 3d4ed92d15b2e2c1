"""Checks for lab05_train_cnn: layers with a forward and a backward pass, the loss, one step of
SGD, the assembled CNN, its training on real digits, and the pixel-shuffle experiment.

The answer key is convnb: ``convnb.nn``'s Conv2d, ReLU, MaxPool2d, Flatten, Linear and
CrossEntropyLoss, and ``convnb.data``'s digits and held-out split. In parts, each short enough to
read whole:

* :mod:`.given` -- the lab's given code (``Layer``, ``Sequential``, ``init_uniform``), its
  network, and convnb's layers behind that interface;
* :mod:`.layers` -- the layer checks, one part of a layer per case (``out``, ``dx``, a gradient);
* :mod:`.loss_and_step` -- the loss, one step of SGD, ``build_cnn``;
* :mod:`.models` -- the trained CNN, rebuilt from its parameters and measured by the grader;
* :mod:`.experiment` -- ``shuffle_pixels`` and the pixel-shuffle experiment.

The lab's test cells import the checks from here: ``from autograder.checks.lab05 import ...``;
the other names imported below (the lab's given code, its data, how the grader measures a model)
are here for the tests of these checks.
"""

from .experiment import check_shuffle_experiment, check_shuffle_pixels
from .experiment import experiment_accuracies as experiment_accuracies
from .experiment import record_experiment as record_experiment
from .given import PERM_SEED as PERM_SEED
from .given import Layer as Layer
from .given import Sequential as Sequential
from .given import flat_parameters as flat_parameters
from .given import init_uniform as init_uniform
from .given import linear_layer as linear_layer
from .layers import LAYER_PARTS as LAYER_PARTS
from .layers import check_conv, check_flatten, check_linear, check_maxpool, check_relu
from .loss_and_step import check_build_cnn, check_softmax_cross_entropy, check_train_step
from .models import check_cnn_accuracy
from .models import cnn_logits as cnn_logits
from .models import digits_split as digits_split
from .models import heldout_accuracy as heldout_accuracy

__all__ = [
    "check_build_cnn", "check_cnn_accuracy", "check_conv", "check_flatten", "check_linear",
    "check_maxpool", "check_relu", "check_shuffle_experiment", "check_shuffle_pixels",
    "check_softmax_cross_entropy", "check_train_step",
]
