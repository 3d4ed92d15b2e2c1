"""The algorithms behind :func:`convnb.conv2d` and its gradients, one module each.

Every module offers the same three functions for a convolution with zero padding (other padding
modes are padded first by :mod:`convnb.conv`), checked by its caller:

* ``forward(x, w, g, b=None)`` -> out (N, F, H_out, W_out), plus the bias ``b`` (F,) if given
* ``input_grad(dout, w, g)`` -> dx (N, C, H, W), a transposed convolution
* ``weight_grad(dout, x, g)`` -> dw (F, C/groups, KH, KW)

``g`` is the layer's :class:`~convnb.conv.ConvGeometry`; :func:`.choose.choose_algo` picks the
algorithm for ``"auto"``, by a fixed rule or, after :func:`.measured.set_benchmark` ``(True)``,
by timing them (as cuDNN's benchmark mode).
"""

from . import choose, direct, fft, flat, im2col, measured, winograd

ALGORITHMS = {"direct": direct, "im2col": im2col, "flat": flat, "fft": fft,
              "winograd": winograd}
ALGOS = ("auto", *ALGORITHMS)

set_benchmark = measured.set_benchmark

__all__ = ["ALGORITHMS", "ALGOS", "choose", "measured", "set_benchmark"]
