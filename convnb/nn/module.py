"""``Parameter`` and ``Module``: the two classes every layer is built from.

A layer is a :class:`Module` with a ``forward(x)`` that computes its output and caches what its
``backward`` will need, and a ``backward(dout)`` that returns ``dx``, the gradient of the loss with
respect to the input, and *adds* the gradients of its parameters to their ``.grad`` (PyTorch
accumulates the same way, so call ``zero_grad()`` before each backward pass)::

    out = model(x)                 # forward, layer by layer
    loss = criterion(out, y)
    model.zero_grad()
    model.backward(criterion.backward())   # returns dx; backward_params skips it
    optimizer.step()

Parameters, sub-modules and buffers (arrays that are state but not learned, such as BatchNorm's
running statistics) are found by looking at the module's attributes in the order they were set, so
``state_dict()`` keys read as PyTorch's do: ``"0.weight"``, ``"bn.running_mean"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..backend import DEVICES, asnumpy, get_array_module, to_device
from ..types import Array

__all__ = ["Module", "Parameter"]


class Parameter:
    """A learned array and its gradient, as ``torch.nn.Parameter``.

    ``data`` is the array the layer computes with (NumPy or CuPy); ``grad`` is ``None`` until a
    backward pass adds a gradient of the same shape.
    """

    def __init__(self, data: Array):
        self.data = data
        self.grad: Array | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    def accumulate(self, grad: Array) -> None:
        """Add ``grad`` to ``.grad`` (which starts as ``None``)."""
        self.grad = grad if self.grad is None else self.grad + grad

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers, losses and containers.

    Subclasses implement ``forward`` and ``backward`` and call ``super().__init__()`` first.
    ``training`` is True after construction and ``train()``; ``eval()`` sets it to False for the
    module and every sub-module (it changes what Dropout and BatchNorm2d do).
    """

    training: bool = True
    _buffer_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Array) -> Any:
        """The output (``Any``: an array for a layer, a 0-d array for a loss, a pair for
        ``MaxPool2d(return_indices=True)``)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, dout: Array) -> Array:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def backward_params(self, dout: Array) -> None:
        """``backward`` for the parameters' gradients only: when nothing needs the gradient with
        respect to the input (the data, at the bottom of a network), a layer may skip it, as
        PyTorch skips it for an input that does not require grad. :func:`convnb.train.fit` calls
        this. By default: ``backward``, dropping ``dx``."""
        self.backward(dout)

    def __call__(self, *args: Array) -> Any:
        return self.forward(*args)

    def cached(self, name: str) -> Any:
        """What ``forward`` stored under ``name`` (``Any``: an array, a shape, a tuple, whatever
        the layer's backward needs); a clear error if forward has not run yet."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first; backward "
                               f"uses what forward cached ({name.lstrip('_')})")
        return value

    # --- what the module holds --------------------------------------------------------------

    def register_buffer(self, name: str, value: Array) -> None:
        """Keep ``value`` as attribute ``name``: saved in ``state_dict`` and moved by ``to``."""
        setattr(self, name, value)
        if name not in self._buffer_names:
            self._buffer_names = (*self._buffer_names, name)

    def named_children(self) -> list[tuple[str, Module]]:
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Module)]

    def modules(self) -> list[Module]:
        """This module and all its sub-modules, depth first."""
        return [self] + [m for _, child in self.named_children() for m in child.modules()]

    def _named(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Parameter | Array]]:
        # PyTorch's order: a module's own parameters, then its buffers, then its children's.
        if kind in ("parameters", "state"):
            for k, v in vars(self).items():
                if isinstance(v, Parameter):
                    yield prefix + k, v
        if kind in ("buffers", "state"):
            for k in self._buffer_names:
                yield prefix + k, getattr(self, k)
        for name, child in self.named_children():
            yield from child._named(kind, f"{prefix}{name}.")

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(name, parameter) pairs; a parameter shared by two layers is listed once."""
        seen: set[int] = set()
        out = []
        for name, p in self._named("parameters"):
            if id(p) not in seen:
                seen.add(id(p))
                out.append((name, p))
        return out

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, Array]]:
        return list(self._named("buffers"))

    def buffers(self) -> list[Array]:
        return [b for _, b in self.named_buffers()]

    # --- modes and gradients ------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``None`` (PyTorch's default) or zeros."""
        zero_grads(self.parameters(), set_to_none)

    # --- devices and dtypes -------------------------------------------------------------------

    def _apply(self, fn: Callable[[Array], Array]) -> Module:
        """Replace every parameter, gradient and array buffer by ``fn`` of it (used by ``to``)."""
        for m in self.modules():
            for p in vars(m).values():
                if isinstance(p, Parameter):
                    p.data = fn(p.data)
                    p.grad = None if p.grad is None else fn(p.grad)
            for name in m._buffer_names:
                value = getattr(m, name)
                if value is not None:
                    setattr(m, name, fn(value))
        return self

    def to(self, device: str | None = None, dtype: DTypeLike | None = None) -> Module:
        """Move parameters, gradients and buffers to ``"cpu"`` or ``"gpu"`` and/or cast floating
        ones to ``dtype``, in place; returns the module. ``model.to(np.float64)`` also works.

        Create the optimiser after moving the model: its state lives where the parameters were.
        """
        if device is not None and not isinstance(device, str):
            device, dtype = None, device
        if device is not None and device not in DEVICES:
            raise ValueError(f"Module.to: device must be one of {DEVICES}, got {device!r}")
        if device is not None:
            self._apply(lambda a: to_device(a, device))
        if dtype is not None:
            self._apply(lambda a: a.astype(dtype) if np.dtype(a.dtype).kind == "f" else a)
        return self

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64 (for gradient checks)."""
        return self.to(dtype=np.float64)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32, the default."""
        return self.to(dtype=np.float32)

    # --- saving and loading -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Array]:
        """Parameters and buffers by name, as copies (PyTorch shares storage instead; a copy
        makes a snapshot of the best model stay as it was while training goes on)."""
        return {name: (v.data if isinstance(v, Parameter) else v).copy()
                for name, v in self._named("state")}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays from ``state`` into this module, onto its device and dtypes: the
        ``state_dict()`` of an equal model, or that of the equal PyTorch model (CPU tensors,
        hence ``Any``). Raises ``ValueError`` when the names differ (unless ``strict=False``,
        which loads the names both have) or a shape does."""
        own = dict(self._named("state"))
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: names differ from {type(self).__name__}'s: missing "
                           f"{missing}, unexpected {unexpected}")
        for name, target in own.items():
            if name not in state:
                continue
            old = target.data if isinstance(target, Parameter) else target
            value = asnumpy(state[name])
            if tuple(value.shape) != tuple(old.shape):
                raise ValueError(f"load_state_dict: {name!r} has shape {tuple(value.shape)} in "
                                 f"the state but {tuple(old.shape)} in the model")
            new = get_array_module(old).asarray(value.astype(old.dtype))
            if isinstance(target, Parameter):
                target.data = new
            else:
                module_path, _, attr = name.rpartition(".")
                owner = self
                for part in filter(None, module_path.split(".")):
                    owner = getattr(owner, part)
                setattr(owner, attr, new)

    def save(self, path: str | Path) -> Path:
        """Write ``state_dict()`` to an ``.npz`` file (the suffix is added if missing)."""
        path = _npz(path)
        np.savez(path, **{k: asnumpy(v) for k, v in self.state_dict().items()})
        return path

    def load(self, path: str | Path) -> Module:
        """Load parameters saved by :meth:`save`; names and shapes must match this model's."""
        with np.load(_npz(path)) as f:
            state = {k: f[k] for k in f.files}
        self.load_state_dict(state)
        return self

    # --- printing -----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def zero_grads(params: Iterable[Parameter], set_to_none: bool = True) -> None:
    """Forget the gradients of ``params``: set them to ``None`` (PyTorch's default; the next
    backward pass starts afresh) or to zeros. ``Module.zero_grad`` and ``Optimizer.zero_grad``
    both call it."""
    for p in params:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad = get_array_module(p.grad).zeros_like(p.grad)


def _npz(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


