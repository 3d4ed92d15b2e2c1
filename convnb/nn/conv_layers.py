"""Convolution and pooling layers: thin modules around convnb's operators.

Each layer keeps its options, calls the operator of the same name in ``forward`` (caching the
input; MaxPool2d caches the switches instead), and its backward operator in ``backward``.
Arguments, defaults and parameter shapes are those of ``torch.nn``'s layers of the same name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .._checks import check_dout, pair
from ..conv import conv2d, conv2d_backward, conv2d_weight_backward
from ..pool import (
    avg_pool2d,
    avg_pool2d_backward,
    flat_indices,
    pool_geometry,
    switches,
    to_switches,
)
from ..transposed import conv_transpose2d, conv_transpose2d_backward
from .init import default_init_
from .module import Module, Parameter, check_input

__all__ = ["AvgPool2d", "Conv2d", "ConvTranspose2d", "MaxPool2d"]


def _channels(name: str, in_channels: int, out_channels: int, groups: int) -> None:
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name}: {arg} must be divisible by groups, got {arg}={value} "
                             f"and groups={groups}")


class _Conv(Module):
    """Shared by both convolutions: weight, optional bias, PyTorch's default initialisation."""

    def __init__(self, weight_shape: tuple[int, ...], out_channels: int, bias: bool,
                 dtype: DTypeLike, rng: Any) -> None:
        super().__init__()
        self.weight = Parameter(np.zeros(weight_shape, dtype=dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=dtype)) if bias else None
        default_init_(self.weight, self.bias, rng)
        self._x = None

    def _b(self) -> Any:
        return None if self.bias is None else self.bias.data

    def _accumulate(self, dw: Any, db: Any) -> None:
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) layer, as ``torch.nn.Conv2d``.

    ``padding`` may be an int, a pair, ``"valid"``, ``"same"`` or ``"full"``; ``padding_mode`` is
    ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``. Weights and bias start as
    PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), ``fan_in = in_channels/groups * KH * KW``.
    Forward caches the input ``x``.

    Shapes: x (N, in_channels, H, W) -> out (N, out_channels, H_out, W_out);
    weight (out_channels, in_channels/groups, KH, KW), bias (out_channels,)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike = np.float32,
                 rng: Any = None) -> None:
        _channels("Conv2d", in_channels, out_channels, groups)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", "Conv2d",
                                                                     minimum=0)
        self.dilation = pair(dilation, "dilation", "Conv2d")
        self.padding_mode = padding_mode
        super().__init__((out_channels, in_channels // groups, *self.kernel_size), out_channels,
                         bias, dtype, rng)

    def _options(self) -> dict[str, Any]:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.padding_mode)

    def forward(self, x: Any) -> Any:
        check_input(self, x, self.weight.data, 4)
        self._x = x
        return conv2d(x, self.weight.data, self._b(), **self._options())

    def backward(self, dout: Any) -> Any:
        dx, dw, db = conv2d_backward(dout, self.cached("_x"), self.weight.data, **self._options())
        self._accumulate(dw, db)
        return dx

    def backward_params(self, dout: Any) -> None:
        if type(self).backward is not Conv2d.backward:  # a subclass's own backward comes first
            return super().backward_params(dout)
        dw, db = conv2d_weight_backward(dout, self.cached("_x"), self.weight.data,
                                        **self._options())
        self._accumulate(dw, db)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class ConvTranspose2d(_Conv):
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

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, dtype: DTypeLike = np.float32, rng: Any = None) -> None:
        name = "ConvTranspose2d"
        _channels(name, in_channels, out_channels, groups)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name, minimum=0)
        self.output_padding = pair(output_padding, "output_padding", name, minimum=0)
        self.dilation = pair(dilation, "dilation", name)
        super().__init__((in_channels, out_channels // groups, *self.kernel_size), out_channels,
                         bias, dtype, rng)

    def _options(self) -> dict[str, Any]:
        return dict(stride=self.stride, padding=self.padding, output_padding=self.output_padding,
                    groups=self.groups, dilation=self.dilation)

    def forward(self, x: Any) -> Any:
        check_input(self, x, self.weight.data, 4)
        self._x = x
        return conv_transpose2d(x, self.weight.data, self._b(), **self._options())

    def backward(self, dout: Any) -> Any:
        dx, dw, db = conv_transpose2d_backward(dout, self.cached("_x"), self.weight.data,
                                               **self._options())
        self._accumulate(dw, db)
        return dx

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class MaxPool2d(Module):
    """2-D max pooling layer, as ``torch.nn.MaxPool2d`` (``stride`` defaults to the window).

    With ``return_indices=True`` forward returns ``(out, indices)`` as PyTorch does (so it cannot
    sit inside a :class:`Sequential`). Forward caches the switches (where each window's maximum
    is); backward sends each ``dout`` entry to its switch, adding where overlapping windows chose
    the same input, instead of searching the windows again.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as PyTorch stores it
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        self._switches = None  # (geometry, out, offset) of the last forward pass

    def forward(self, x: Any) -> Any:
        g = pool_geometry("MaxPool2d", x, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode)
        out, offset = switches(x, g)
        self._switches = (g, out, offset)
        return (out, flat_indices(out, offset, g)) if self.return_indices else out

    def backward(self, dout: Any) -> Any:
        g, out, offset = self.cached("_switches")
        check_dout("MaxPool2d.backward", dout, tuple(out.shape), out, "(N, C, H_out, W_out)")
        return to_switches(dout, out, offset, g)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """2-D average pooling layer, as ``torch.nn.AvgPool2d`` (``stride`` defaults to the window).

    Forward caches the input ``x`` (backward needs only its shape, and the window sizes).

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self._x = None

    def _options(self) -> dict[str, Any]:
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)

    def forward(self, x: Any) -> Any:
        self._x = x
        return avg_pool2d(x, **self._options())

    def backward(self, dout: Any) -> Any:
        return avg_pool2d_backward(dout, self.cached("_x"), **self._options())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
