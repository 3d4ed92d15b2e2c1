"""Convolution and pooling layers: thin modules around convnb's operators.

Each layer keeps its options, calls the operator of the same name in ``forward`` (caching the
input; MaxPool2d caches the switches instead), and its backward operator in ``backward``.
Arguments, defaults and parameter shapes are those of ``torch.nn``'s layers of the same name.
The convolutions share one base, :class:`_ConvNd`, as in PyTorch. Every layer checks its arguments
when it is built, with the operator's wording and the layer's name.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .._checks import (
    check_dout,
    check_layer_input,
    check_padding_mode,
    pair,
    resolve_padding,
)
from ..conv import conv2d, conv2d_backward, conv2d_weight_backward
from ..pool import avg_pool2d, avg_pool2d_backward, flat_indices, route_to_max, switches
from ..pool_windows import pool_geometry, pool_options
from ..transposed import conv_transpose2d, conv_transpose2d_backward
from ..types import Array, IntOrPair, RngLike
from .init import default_init_
from .module import Module, Parameter

__all__ = ["AvgPool2d", "Conv2d", "ConvTranspose2d", "MaxPool2d"]


class _ConvNd(Module):
    """The base of the convolution layers, as PyTorch's ``_ConvNd``: it checks the arguments
    (errors name the layer), creates ``weight`` and ``bias``, initialises them as PyTorch does
    (:meth:`reset_parameters`) and prints the arguments that differ from their defaults.

    A convolution's weight is (out_channels, in_channels/groups, KH, KW); a transposed one's is
    (in_channels, out_channels/groups, KH, KW), as it is the transpose of the convolution that
    maps out_channels to in_channels. Forward caches the input ``x``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair, padding: IntOrPair | str, dilation: IntOrPair, transposed: bool,
                 output_padding: IntOrPair, groups: int, bias: bool, padding_mode: str,
                 dtype: DTypeLike, rng: RngLike) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise ValueError(f"{name}: {arg} must be divisible by groups, got {arg}={value} "
                                 f"and groups={groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.dilation = pair(dilation, "dilation", name)
        if isinstance(padding, str) and not transposed:  # "valid", "same" or "full"
            resolve_padding(padding, self.kernel_size, self.dilation, self.stride, name)
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", name, minimum=0)
        self.transposed = transposed
        self.output_padding = pair(output_padding, "output_padding", name, minimum=0)
        self.padding_mode = check_padding_mode(padding_mode, name)
        channels = (in_channels, out_channels) if transposed else (out_channels, in_channels)
        weight_shape = (channels[0], channels[1] // groups, *self.kernel_size)
        self.weight = Parameter(np.zeros(weight_shape, dtype=dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(rng)
        self._x = None

    def reset_parameters(self, rng: RngLike = None) -> None:
        """PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and
        bias, ``fan_in = weight.shape[1] * KH * KW``."""
        default_init_(self.weight, self.bias, rng)

    def _b(self) -> Array | None:
        return None if self.bias is None else self.bias.data

    def _accumulate(self, dw: Array, db: Array) -> None:
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)

    def _checked(self, x: Array) -> Array:
        """``x``, checked and cached for backward."""
        check_layer_input(type(self).__name__, x, self.weight.data, "(N, C, H, W)")
        self._x = x
        return x

    def extra_repr(self) -> str:
        """PyTorch's: channels, kernel_size and stride always; the rest only when not default."""
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) layer, as ``torch.nn.Conv2d``.

    ``padding`` may be an int, a pair, ``"valid"``, ``"same"`` or ``"full"``; ``padding_mode`` is
    ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``. Weights and bias start as
    PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), ``fan_in = in_channels/groups * KH * KW``.
    Forward caches the input ``x``.

    Shapes: x (N, in_channels, H, W) -> out (N, out_channels, H_out, W_out);
    weight (out_channels, in_channels/groups, KH, KW), bias (out_channels,)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype: DTypeLike = np.float32, rng: RngLike = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         transposed=False, output_padding=0, groups=groups, bias=bias,
                         padding_mode=padding_mode, dtype=dtype, rng=rng)

    def _options(self) -> dict[str, IntOrPair | str | bool]:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode)

    def forward(self, x: Array) -> Array:
        return conv2d(self._checked(x), self.weight.data, self._b(), **self._options())

    def backward(self, dout: Array) -> Array:
        dx, dw, db = conv2d_backward(dout, self.cached("_x"), self.weight.data, **self._options())
        self._accumulate(dw, db)
        return dx

    def backward_params(self, dout: Array) -> None:
        if type(self).backward is not Conv2d.backward:  # a subclass's own backward comes first
            return super().backward_params(dout)
        dw, db = conv2d_weight_backward(dout, self.cached("_x"), self.weight.data,
                                        **self._options())
        self._accumulate(dw, db)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    Every input pixel stamps its weights, scaled, onto the output, ``stride`` pixels apart; the
    output is cropped by ``padding`` on each side and extended by ``output_padding`` at the
    bottom/right. Default initialisation as PyTorch's, whose fan_in for the weight layout
    (in_channels, out_channels/groups, KH, KW) is ``out_channels/groups * KH * KW``.
    Forward caches the input ``x``.

    Shapes: x (N, in_channels, H, W) -> out (N, out_channels, H_out, W_out),
    ``H_out = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1``;
    weight (in_channels, out_channels/groups, KH, KW), bias (out_channels,)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOrPair = 1,
                 dtype: DTypeLike = np.float32, rng: RngLike = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         transposed=True, output_padding=output_padding, groups=groups,
                         bias=bias, padding_mode="zeros", dtype=dtype, rng=rng)

    def _options(self) -> dict[str, IntOrPair | str | bool]:
        return dict(stride=self.stride, padding=self.padding, output_padding=self.output_padding,
                    groups=self.groups, dilation=self.dilation)

    def forward(self, x: Array) -> Array:
        return conv_transpose2d(self._checked(x), self.weight.data, self._b(), **self._options())

    def backward(self, dout: Array) -> Array:
        dx, dw, db = conv_transpose2d_backward(dout, self.cached("_x"), self.weight.data,
                                               **self._options())
        self._accumulate(dw, db)
        return dx


class MaxPool2d(Module):
    """2-D max pooling layer, as ``torch.nn.MaxPool2d`` (``stride`` defaults to the window).

    With ``return_indices=True`` forward returns ``(out, indices)`` as PyTorch does (so it cannot
    sit inside a :class:`Sequential`). Forward caches the switches (where each window's maximum
    is); backward sends each ``dout`` entry to its switch, adding where overlapping windows chose
    the same input, instead of searching the windows again.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        pool_options("MaxPool2d", kernel_size, stride, padding, dilation, ceil_mode)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as PyTorch stores it
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        self._switches = None  # (geometry, out, offset) of the last forward pass

    def forward(self, x: Array) -> Array | tuple[Array, Array]:
        g = pool_geometry("MaxPool2d", x, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode)
        out, offset = switches(x, g)
        self._switches = (g, out, offset)
        return (out, flat_indices(out, offset, g)) if self.return_indices else out

    def backward(self, dout: Array) -> Array:
        g, out, offset = self.cached("_switches")
        check_dout("MaxPool2d.backward", dout, tuple(out.shape), out, "(N, C, H_out, W_out)")
        return route_to_max(dout, out, offset, g)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """2-D average pooling layer, as ``torch.nn.AvgPool2d`` (``stride`` defaults to the window).

    Forward caches the input ``x`` (backward needs only its shape, and the window sizes).

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        pool_options("AvgPool2d", kernel_size, stride, padding, 1, ceil_mode)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self._x = None

    def _options(self) -> dict[str, IntOrPair | str | bool]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)

    def forward(self, x: Array) -> Array:
        self._x = x
        return avg_pool2d(x, **self._options())

    def backward(self, dout: Array) -> Array:
        return avg_pool2d_backward(dout, self.cached("_x"), **self._options())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
