"""convnb.nn against torch.nn: the same layer with the same weights gives the same outputs and
gradients (float64); losses, optimiser steps, initialisation fans and state_dict keys match."""

from __future__ import annotations

import math

import numpy as np
import pytest

import convnb.nn as nn
from convnb.nn.init import calculate_gain, fan_in_and_fan_out

torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")

TOL = dict(rtol=1e-10, atol=1e-12)


def build(name, args, kwargs):
    """The same layer in convnb.nn and torch.nn (same constructor arguments), float64, with
    convnb's random weights copied into torch's."""
    ours = getattr(nn, name)(*args, **kwargs).double()
    rng = np.random.default_rng(7)
    for p in ours.parameters():
        p.data = rng.standard_normal(p.shape)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def compare(ours, theirs, x, seed=0):
    """Forward and backward of both modules on x; outputs, dx and every parameter's grad."""
    out = ours(x)
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    ours.zero_grad()
    theirs.zero_grad()
    dx = ours.backward(dout)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    named_t = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(named_t)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named_t[name].grad.numpy(), **TOL, err_msg=name)
    ours.zero_grad()  # the parameters' gradients alone, as for a first layer: the same
    assert ours.backward_params(dout) is None
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named_t[name].grad.numpy(), **TOL, err_msg=name)


LAYERS = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=(1, 2), groups=2, bias=False),
     (2, 4, 9, 8)),
    ("Conv2d", (3, 2, 4), dict(padding="same", padding_mode="reflect"), (1, 3, 6, 7)),
    ("Conv2d", (2, 2, 3), dict(padding=(1, 2), padding_mode="circular"), (2, 2, 5, 5)),
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 4, 5)),
    ("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 3, 4)),
    ("ConvTranspose2d", (2, 3, 2), dict(stride=3, output_padding=(1, 2), dilation=2, bias=False),
     (1, 2, 3, 3)),
    ("MaxPool2d", (2,), {}, (2, 3, 6, 7)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 2, 8, 7)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, dilation=2), (1, 2, 6, 7)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 7)),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False), (2, 2, 8, 7)),
    ("AvgPool2d", ((3, 2),), dict(stride=(1, 2), padding=(1, 0)), (1, 2, 5, 6)),
    ("ReLU", (), {}, (2, 3, 4, 4)),
    ("Tanh", (), {}, (2, 3, 4, 4)),
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), dict(bias=False), (2, 3, 5)),
    ("Flatten", (), {}, (2, 3, 4, 5)),
    ("Flatten", (0, 2), {}, (2, 3, 4, 5)),
    ("Dropout", (0.4,), {}, (2, 3, 4, 4)),  # eval mode only: in training torch draws its own mask
]
MODES = [(case, training) for case in LAYERS for training in (True, False)
         if case[0] != "Dropout" or not training]


@pytest.mark.parametrize("case, training", MODES, ids=[
    f"{case[0]}-{LAYERS.index(case)}-{'train' if t else 'eval'}" for case, t in MODES])
def test_layer_matches_torch(case, training):
    name, args, kwargs, shape = case
    ours, theirs = build(name, args, kwargs)
    ours.train(training)
    theirs.train(training)
    compare(ours, theirs, np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("kwargs", [{}, dict(affine=False, momentum=None, eps=1e-3),
                                    dict(momentum=0.3)])
def test_batchnorm_train_then_eval_matches_torch(kwargs):
    ours, theirs = build("BatchNorm2d", (3,), kwargs)
    rng = np.random.default_rng(2)
    for step in range(3):  # the running estimates move with every training batch
        x = 2 + 3 * rng.standard_normal((4, 3, 5, 5))
        compare(ours, theirs, x, seed=step)
        for name, buffer in theirs.named_buffers():
            np.testing.assert_allclose(getattr(ours, name), buffer.numpy(), **TOL, err_msg=name)
    assert int(ours.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    compare(ours, theirs, rng.standard_normal((2, 3, 5, 5)))


def _cross_entropy_inputs(shape):
    def make(rng):
        logits = 50 * rng.standard_normal(shape)  # large enough to overflow a naive exp
        return logits, rng.integers(0, shape[1], (shape[0], *shape[2:]))
    return make


LOSSES = {
    "cross_entropy-classes": ("CrossEntropyLoss", _cross_entropy_inputs((6, 4))),
    "cross_entropy-per-pixel": ("CrossEntropyLoss", _cross_entropy_inputs((3, 5, 4, 2))),
    "mse": ("MSELoss", lambda rng: (rng.standard_normal((2, 3, 4, 4)),
                                     rng.standard_normal((2, 3, 4, 4)))),
}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_match_torch(loss, reduction):
    name, inputs = LOSSES[loss]
    prediction, target = inputs(np.random.default_rng(3))
    ours = getattr(nn, name)(reduction=reduction)
    value = ours(prediction, target)
    pt = torch.tensor(prediction, requires_grad=True)
    value_t = getattr(torch.nn, name)(reduction=reduction)(pt, torch.from_numpy(target))
    value_t.backward()
    np.testing.assert_allclose(value, value_t.item(), **TOL)
    np.testing.assert_allclose(ours.backward(), pt.grad.numpy(), **TOL)


OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    ("Adam", {}),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMISERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(OPTIMISERS)])
def test_optimiser_steps_match_torch(name, kwargs):
    rng = np.random.default_rng(5)
    start = [rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal(2)]
    ours = [nn.Parameter(a.copy()) for a in start]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in start]
    opt = getattr(nn, name)(ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(6):
        opt.zero_grad()
        opt_t.zero_grad()
        for p, pt in zip(ours[:2], theirs[:2], strict=True):  # the last one never gets a grad
            g = rng.standard_normal(p.shape)
            p.grad, pt.grad = g, torch.tensor(g)
        opt.step()
        opt_t.step()
    for p, pt in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, pt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours[2].data, start[2])


NETWORK = [
    ("Conv2d", (1, 4, 3), dict(padding=1)), ("BatchNorm2d", (4,), {}), ("ReLU", (), {}),
    ("MaxPool2d", (2,), {}), ("ConvTranspose2d", (4, 2, 2), dict(stride=2)),
    ("AvgPool2d", (2,), {}), ("Tanh", (), {}), ("Dropout", (), {}), ("Flatten", (), {}),
    ("Linear", (2 * 4 * 4, 3), {}),
]


def test_state_dict_keys_and_shapes_equal_torchs():
    ours = nn.Sequential(*(getattr(nn, n)(*a, **k) for n, a, k in NETWORK),
                         nn.Sequential(nn.Linear(3, 2), nn.BatchNorm2d(2)))
    theirs = torch.nn.Sequential(*(getattr(torch.nn, n)(*a, **k) for n, a, k in NETWORK),
                                 torch.nn.Sequential(torch.nn.Linear(3, 2),
                                                     torch.nn.BatchNorm2d(2)))
    state, state_t = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(state_t)
    assert [tuple(v.shape) for v in state.values()] == [tuple(v.shape) for v in state_t.values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    # A convnb state loads into the torch model and gives the same output.
    ours.eval().double()
    theirs.eval().double().load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    x = np.random.default_rng(6).standard_normal((2, 1, 8, 8))
    expected = theirs[:-1](torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours[:-1](x), expected, **TOL)
    # ... and a torch state loads into the convnb model.
    fresh = nn.Sequential(*(getattr(nn, n)(*a, **k) for n, a, k in NETWORK),
                          nn.Sequential(nn.Linear(3, 2), nn.BatchNorm2d(2))).eval().double()
    fresh.load_state_dict(theirs.state_dict())
    np.testing.assert_allclose(fresh[:-1](x), expected, **TOL)


@pytest.mark.parametrize("shape", [(3, 5), (6, 2, 3, 3), (4, 3, 3, 3), (2, 7, 5), (8, 1, 2, 3, 4)])
def test_fans_are_torchs(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert fan_in_and_fan_out(shape) == expected


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None),
                                                 ("sigmoid", None), ("tanh", None),
                                                 ("relu", None), ("leaky_relu", None),
                                                 ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_gains_are_torchs(nonlinearity, param):
    assert calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("name, args", [("Conv2d", (6, 8, 3)), ("Conv2d", (6, 8, 3, 1, 0, 1, 2)),
                                        ("ConvTranspose2d", (6, 8, (3, 2))),
                                        ("ConvTranspose2d", (6, 8, 3, 1, 0, 0, 2)),
                                        ("Linear", (40, 30))])
def test_default_init_has_torchs_bounds(name, args):
    """Same layout, same bound: 1/sqrt(fan_in) as torch computes fan_in for that layout."""
    torch.manual_seed(0)
    ours, theirs = getattr(nn, name)(*args, rng=0), getattr(torch.nn, name)(*args)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    bound = 1 / math.sqrt(torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)[0])
    for p, pt in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        assert abs(p.data).max() <= bound and abs(pt.detach().numpy()).max() <= bound
        assert p.dtype == np.float32
    assert abs(ours.weight.data).max() > 0.9 * bound  # the whole range is used, as torch's is
