"""``Sequential``: a network that is a chain of layers."""

from __future__ import annotations

from collections.abc import Iterator

from ..types import Array
from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply ``modules`` in order, as ``torch.nn.Sequential``; backward runs them in reverse,
    each layer turning the gradient of its output into that of its input.

    Layers are attributes named ``"0"``, ``"1"``, ..., so parameter names read ``"0.weight"``.
    Index it (``model[0]``, ``model[-1]``, ``model[1:3]``), iterate over it, ``append`` to it.

    Shapes: x (what the first layer takes) -> out (what the last layer gives)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: every layer must be a Module, got "
                            f"{type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def _layers(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def __len__(self) -> int:
        return len(self.named_children())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._layers()[index])
        return self._layers()[index]

    def forward(self, x: Array) -> Array:
        for layer in self._layers():
            x = layer(x)
        return x

    def backward(self, dout: Array) -> Array:
        for layer in reversed(self._layers()):
            dout = layer.backward(dout)
        return dout

    def backward_params(self, dout: Array) -> None:
        """:meth:`backward` without the input's gradient. Layers before the first one with
        parameters are skipped (nothing below them needs a gradient, as in PyTorch's autograd);
        that layer gets ``backward_params``, so it may skip its own input gradient."""
        layers = self._layers()
        learned = [i for i, layer in enumerate(layers) if layer.parameters()]
        if not learned:
            return
        for layer in reversed(layers[learned[0] + 1:]):
            dout = layer.backward(dout)
        layers[learned[0]].backward_params(dout)
