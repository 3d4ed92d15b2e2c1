"""Layers check their arguments when they are built, with the functional operators' wording, and
print them as torch.nn does (the convolutions only the arguments that differ from the defaults)."""

from __future__ import annotations

import numpy as np
import pytest

import convnb
import convnb.nn as nn

torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")

LAYERS = [
    ("Conv2d", (3, 8, 3), {}),
    ("Conv2d", (3, 8, (3, 5)), dict(stride=2, padding=(1, 2), dilation=2, groups=1, bias=False)),
    ("Conv2d", (4, 8, 3), dict(padding="same", groups=2, padding_mode="reflect")),
    ("Conv2d", (4, 8, 3), dict(padding="valid")),
    ("ConvTranspose2d", (8, 4, 2), dict(stride=2)),
    ("ConvTranspose2d", (8, 4, 3), dict(stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=(1, 2), bias=False)),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=2, ceil_mode=True)),
    ("AvgPool2d", ((2, 3),), dict(stride=1, padding=(1, 0), ceil_mode=True)),
]


@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_layers_print_as_torch_does(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args,
                                                                                    **kwargs))


POOLING_MISTAKES = [  # (layer, its operator, arguments both take)
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=0)),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=2, stride=(1, 0))),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=(2, 2, 2))),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=3, padding=2)),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=2, padding=-1)),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=2, dilation=0)),
    ("MaxPool2d", convnb.max_pool2d, dict(kernel_size=2, ceil_mode="yes")),
    ("AvgPool2d", convnb.avg_pool2d, dict(kernel_size=1.5)),
    ("AvgPool2d", convnb.avg_pool2d, dict(kernel_size=(2, 4), padding=(1, 3))),
    ("AvgPool2d", convnb.avg_pool2d, dict(kernel_size=2, ceil_mode=None)),
]


@pytest.mark.parametrize("name, op, kwargs", POOLING_MISTAKES)
def test_pooling_layers_check_their_arguments_when_built(name, op, kwargs):
    """The layer raises the operator's error, naming the layer instead of the operator."""
    with pytest.raises((ValueError, TypeError)) as functional:
        op(np.zeros((1, 1, 8, 8)), **kwargs)
    with pytest.raises(functional.type) as layer:
        getattr(nn, name)(**kwargs)
    assert str(layer.value) == str(functional.value).replace(op.__name__, name, 1)
    assert str(layer.value).startswith(f"{name}: ")


@pytest.mark.parametrize("name, args, kwargs, message", [
    ("Conv2d", (3, 8, 3), dict(groups=0), "Conv2d: groups must be a positive int, got 0"),
    ("Conv2d", (3, 8, 3), dict(groups=2), "Conv2d: in_channels must be divisible by groups"),
    ("Conv2d", (3, 8, 0), {}, "Conv2d: kernel_size must be an int or a pair of ints"),
    ("Conv2d", (3, 8, 3), dict(padding="same", stride=2), "Conv2d: padding='same' needs stride 1"),
    ("Conv2d", (3, 8, 3), dict(padding="half"), "Conv2d: padding must be an int, a pair, or one"),
    ("Conv2d", (3, 8, 3), dict(padding_mode="mirror"), "Conv2d: padding_mode must be one of"),
    ("ConvTranspose2d", (8, 4, 2), dict(padding="same"),
     "ConvTranspose2d: padding must be an int or a pair of ints, at least 0"),
    ("ConvTranspose2d", (8, 3, 2), dict(groups=2),
     "ConvTranspose2d: out_channels must be divisible by groups"),
    ("ConvTranspose2d", (8, 4, 2), dict(output_padding=-1),
     "ConvTranspose2d: output_padding must be an int or a pair of ints, at least 0"),
])
def test_convolution_layers_check_their_arguments_when_built(name, args, kwargs, message):
    with pytest.raises(ValueError) as info:
        getattr(nn, name)(*args, **kwargs)
    assert str(info.value).startswith(message)


def test_the_convolutions_share_one_base_that_holds_their_parameters():
    conv, up = nn.Conv2d(4, 6, (3, 2), groups=2, rng=0), nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert type(conv).__mro__[1] is type(up).__mro__[1]
    assert conv.weight.shape == (6, 2, 3, 2) and up.weight.shape == (4, 3, 3, 3)
    assert conv.bias.shape == up.bias.shape == (6,)
    before = conv.weight.data.copy()
    conv.reset_parameters(rng=0)
    np.testing.assert_array_equal(conv.weight.data, before)  # the same seed, the same weights
    bound = 1 / np.sqrt(2 * 3 * 2)  # 1/sqrt(fan_in), fan_in = in_channels/groups * KH * KW
    assert 0 < np.abs(conv.weight.data).max() <= bound


def test_optimizer_and_module_forget_gradients_the_same_way():
    layer = nn.Linear(3, 2, dtype=np.float64)
    opt = nn.SGD(layer.parameters(), lr=0.1)
    for forget in (layer.zero_grad, opt.zero_grad):
        layer(np.ones((4, 3)))
        layer.backward(np.ones((4, 2)))
        forget(set_to_none=False)
        assert all(p.grad is not None and not p.grad.any() for p in layer.parameters())
        forget()
        assert all(p.grad is None for p in layer.parameters())
