"""Ready-made networks: LeNet-5, a multilayer perceptron, and a tiny encoder-decoder.

* :func:`lenet5` and :func:`mlp` are :class:`~convnb.nn.Sequential` chains, built from the same
  layers (and PyTorch's default initialisation) as their ``torch.nn`` twins, so their
  ``state_dict`` loads into the PyTorch model written the same way and back.
* :class:`EncoderDecoder` predicts a class for every pixel (segmentation). Its skip connection
  sends one feature map along two paths, so it is not a chain: it is a :class:`Module` whose
  ``forward`` and ``backward`` say explicitly where the gradient of the shared map comes from.
"""

from __future__ import annotations

from .._checks import check_layer_input
from ..arithmetic import conv_output_size
from ..backend import get_array_module
from ..types import Array, RngLike
from .basic import Flatten, Linear, ReLU, Tanh
from .container import Sequential
from .conv_layers import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d
from .init import get_rng
from .module import Module

__all__ = ["EncoderDecoder", "lenet5", "mlp"]

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}
POOLINGS = {"max": MaxPool2d, "avg": AvgPool2d}


def _choice(fn: str, arg: str, value: str,
            table: dict[str, type[Module]]) -> type[Module]:
    if value not in table:
        raise ValueError(f"{fn}: {arg} must be one of {tuple(table)}, got {value!r}")
    return table[value]


def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 28,
           activation: str = "relu", pooling: str = "max", rng: RngLike = None) -> Sequential:
    """LeNet-5 (LeCun et al., 1998) in its common modern form, for 28x28 inputs::

        Conv2d(in_channels, 6, 5, padding=2) -> act -> pool 2x2   # 28x28x6 -> 14x14x6
        Conv2d(6, 16, 5)                     -> act -> pool 2x2   # 10x10x16 -> 5x5x16
        Flatten -> Linear(400, 120) -> act -> Linear(120, 84) -> act -> Linear(84, num_classes)

    The 1998 network read 32x32 images without padding; ``padding=2`` gives 28x28 MNIST images
    the same 28x28 first feature maps. Its squashing ``tanh``-like units and trainable average
    ("subsampling") layers are today usually ReLU and max pooling, the defaults here (they train
    faster); ``activation="tanh", pooling="avg"`` is closer to the original. Its sparse
    C3 connection table and RBF output layer are left out, as in most re-implementations.

    Parameters
    ----------
    num_classes : outputs of the last layer (logits; pair with :class:`CrossEntropyLoss`).
    in_channels : channels of the input images.
    input_size : height = width of the input; it sets the first Linear's ``in_features``
        (400 for 28). It must be at least 12 so that the second convolution fits; 8x8 images
        such as the digits are upsampled first (:func:`convnb.train.lenet_input`).
    activation : ``"relu"`` or ``"tanh"``.
    pooling : ``"max"`` or ``"avg"``.
    rng : generator or seed for the initial weights (default: :func:`manual_seed`'s).

    Shapes: x (N, in_channels, input_size, input_size) -> logits (N, num_classes).
    61,706 parameters for the defaults.
    """
    act = _choice("lenet5", "activation", activation, ACTIVATIONS)
    pool = _choice("lenet5", "pooling", pooling, POOLINGS)
    size = input_size // 2
    if size < 5:
        raise ValueError(f"lenet5: input_size must be at least 12 (the second 5x5 convolution "
                         f"needs 5x5 pooled maps), got {input_size}; upsample small images first")
    size = conv_output_size(size, 5) // 2
    rng = get_rng(rng)
    return Sequential(
        Conv2d(in_channels, 6, 5, padding=2, rng=rng), act(), pool(2),
        Conv2d(6, 16, 5, rng=rng), act(), pool(2),
        Flatten(),
        Linear(16 * size * size, 120, rng=rng), act(),
        Linear(120, 84, rng=rng), act(),
        Linear(84, num_classes, rng=rng),
    )


def mlp(in_features: int = 64, hidden: tuple[int, ...] = (128,), num_classes: int = 10,
        activation: str = "relu", rng: RngLike = None) -> Sequential:
    """A multilayer perceptron: ``Flatten`` then ``Linear -> act`` per hidden width, then a last
    ``Linear`` to ``num_classes`` logits.

    The leading :class:`Flatten` lets it take images (N, C, H, W) as they come, with
    ``in_features = C*H*W`` (64 for the 8x8 digits): the MLP sees a vector and nothing of the
    image's layout, which is what the pixel-shuffle experiment (:mod:`convnb.experiments`) shows.

    Shapes: x (N, in_features) or (N, C, H, W) with C*H*W = in_features -> logits (N, num_classes)
    """
    act = _choice("mlp", "activation", activation, ACTIVATIONS)
    rng = get_rng(rng)
    layers: list[Module] = [Flatten()]
    widths = (in_features, *hidden)
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [Linear(a, b, rng=rng), act()]
    layers.append(Linear(widths[-1], num_classes, rng=rng))
    return Sequential(*layers)


class EncoderDecoder(Module):
    """A tiny U-Net-like network (Ronneberger et al., 2015) that classifies every pixel::

        f = enc(x)              conv 3x3 -> ReLU                          (N, c1, H, W)
        d = down(f)             conv 3x3 stride 2 -> ReLU, conv 3x3 -> ReLU (N, c2, H/2, W/2)
        u = up(d)               ConvTranspose2d 2x2 stride 2 -> ReLU      (N, c1, H, W)
        out = head(join(u, f))  join: stack or add; head: conv 1x1        (N, num_classes, H, W)

    The encoder halves the resolution (a strided convolution) to see a wider context; the decoder
    restores it with a learned transposed convolution; the skip connection hands the decoder the
    full-resolution features, which the downsampling blurred. ``skip="concat"`` stacks the two
    maps along channels (U-Net's choice), ``skip="add"`` sums them (a residual-style join).

    Backward follows the two paths in reverse: the join's gradient splits into the decoder's part
    and the skip's part, and the gradient of the encoder's output is the *sum* of the skip's part
    and what comes back through ``down`` (a map used twice collects both gradients).

    Parameters
    ----------
    in_channels : channels of the input image.
    num_classes : classes per pixel (2 for foreground / background).
    channels : (c1, c2), the widths at full and at half resolution.
    skip : ``"concat"`` or ``"add"``.
    rng : generator or seed for the initial weights.

    Shapes: x (N, in_channels, H, W), H and W even -> logits (N, num_classes, H, W), ready for
    :class:`CrossEntropyLoss` with targets (N, H, W)
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2,
                 channels: tuple[int, int] = (8, 16), skip: str = "concat",
                 rng: RngLike = None) -> None:
        super().__init__()
        if skip not in ("concat", "add"):
            raise ValueError(f"EncoderDecoder: skip must be 'concat' or 'add', got {skip!r}")
        c1, c2 = channels
        rng = get_rng(rng)
        self.skip = skip
        self.enc = Sequential(Conv2d(in_channels, c1, 3, padding=1, rng=rng), ReLU())
        self.down = Sequential(Conv2d(c1, c2, 3, stride=2, padding=1, rng=rng), ReLU(),
                               Conv2d(c2, c2, 3, padding=1, rng=rng), ReLU())
        self.up = Sequential(ConvTranspose2d(c2, c1, 2, stride=2, rng=rng), ReLU())
        joined = 2 * c1 if skip == "concat" else c1
        self.head = Conv2d(joined, num_classes, 1, rng=rng)
        self._c1 = c1

    def forward(self, x: Array) -> Array:
        check_layer_input(type(self).__name__, x, self.head.weight.data,
                          "(N, C, H, W)")
        if x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"EncoderDecoder: H and W must be even (the decoder doubles the "
                             f"halved size back), got shape {tuple(x.shape)}")
        features = self.enc(x)                   # (N, c1, H, W), also the skip
        decoded = self.up(self.down(features))   # (N, c1, H, W)
        if self.skip == "concat":
            joined = get_array_module(x).concatenate([decoded, features], axis=1)
        else:
            joined = decoded + features
        return self.head(joined)

    def backward(self, dout: Array) -> Array:
        return self.enc.backward(self._features_grad(dout))

    def backward_params(self, dout: Array) -> None:
        """:meth:`backward`, but the encoder's first layer skips the input's gradient."""
        self.enc.backward_params(self._features_grad(dout))

    def _features_grad(self, dout: Array) -> Array:
        """Gradient of the encoder's output: back through the decoder, plus the skip's share.

        Shapes: dout (N, num_classes, H, W) -> (N, c1, H, W)
        """
        djoined = self.head.backward(dout)
        if self.skip == "concat":
            ddecoded, dskip = djoined[:, :self._c1], djoined[:, self._c1:]
        else:
            ddecoded = dskip = djoined
        return self.down.backward(self.up.backward(ddecoded)) + dskip
