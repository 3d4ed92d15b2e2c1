"""convnb.nn: a small, readable framework for building and training CNNs, shaped like torch.nn.

Every layer is a :class:`Module` with ``forward(x)`` and ``backward(dout) -> dx``; backward adds
parameter gradients to ``Parameter.grad``. Layer names, arguments, defaults, initialisation,
``state_dict`` keys and optimiser rules are PyTorch's, so a model written here reads the same in
PyTorch, and the two give the same numbers::

    import convnb.nn as nn

    nn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    criterion, optimizer = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:                      # x (N, 1, 8, 8) float32, y (N,) ints
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        model.backward(criterion.backward())
        optimizer.step()

Parameters are float32 by default, as in PyTorch (``dtype=np.float64`` on a layer, or
``model.double()``, for gradient checks). Random initial weights and dropout masks come from
``rng=`` (a NumPy Generator or a seed) where given, else from the generator
:func:`manual_seed` resets. ``model.to("gpu")`` moves parameters and buffers to CuPy arrays.
Ready models: :func:`lenet5`, :func:`mlp` and :class:`EncoderDecoder` (:mod:`convnb.nn.models`).
"""

from . import init as init
from .basic import Dropout, Flatten, Linear, ReLU, Tanh
from .container import Sequential
from .conv_layers import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d
from .init import manual_seed
from .loss import CrossEntropyLoss, MSELoss
from .models import EncoderDecoder, lenet5, mlp
from .module import Module, Parameter
from .norm import BatchNorm2d
from .optim import SGD, Adam, Optimizer

__all__ = [
    "SGD", "Adam", "AvgPool2d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "EncoderDecoder", "Flatten", "Linear", "MSELoss", "MaxPool2d", "Module",
    "Optimizer", "Parameter", "ReLU", "Sequential", "Tanh", "init", "lenet5", "manual_seed", "mlp",
]
