"""convnb.nn without an oracle library: a gradient check of a network holding every layer type,
dropout against its formula, gradient accumulation, clear errors, and a tiny model that learns."""

from __future__ import annotations

import numpy as np
import pytest
from device_double import DeviceArray

import convnb.nn as nn
from convnb import gradcheck, numerical_gradient


def every_layer_net() -> nn.Sequential:
    nn.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),                                   # (2, 3, 8, 8)
        nn.BatchNorm2d(3),
        nn.Tanh(),
        nn.MaxPool2d(2),                                                 # (2, 3, 4, 4)
        nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),  # (2, 2, 8, 8)
        nn.ReLU(),
        nn.AvgPool2d(2),                                                 # (2, 2, 4, 4)
        nn.Dropout(0.3),
        nn.Flatten(),                                                    # (2, 32)
        nn.Linear(32, 5),
    ).double()
    rng = np.random.default_rng(1)
    bn = net[1]
    bn.weight.data, bn.bias.data = 1 + rng.random(3), rng.standard_normal(3)
    bn.running_mean, bn.running_var = rng.standard_normal(3), 0.5 + rng.random(3)
    return net


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("loss", ["cross-entropy", "mse"])
def test_whole_network_gradient_check(loss, training):
    """d loss / d (input and every parameter) by backprop equals centred finite differences."""
    net = every_layer_net().train(training)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 8, 8))
    if loss == "mse":
        criterion, target = nn.MSELoss(), rng.standard_normal((2, 5))
    else:
        criterion, target = nn.CrossEntropyLoss(), np.array([1, 4])
    params = dict(net.named_parameters())

    def f(x, **values):
        for name, p in params.items():
            p.data = values[name]
        net[7].rng = np.random.default_rng(3)  # the same dropout mask at every call
        return criterion(net(x), target)

    inputs = {"x": x, **{name: p.data for name, p in params.items()}}
    f(**inputs)
    net.zero_grad()
    dx = net.backward(criterion.backward())
    if training:
        assert 0 < net[7].mask.mean() < 1  # dropout really dropped something
    grads = {"x": dx, **{name: p.grad for name, p in params.items()}}
    assert len(grads) == 1 + 8  # conv, batchnorm, transposed conv, linear: weight and bias
    if training:
        # Batch statistics subtract the channel mean, so the bias of the conv before BatchNorm has
        # no effect: its true gradient is 0, where finite differences give only rounding noise.
        numeric = numerical_gradient(lambda b: f(**{**inputs, "0.bias": b}), inputs["0.bias"],
                                     np.array(1.0))
        assert abs(grads.pop("0.bias")).max() < 1e-12 and abs(numeric).max() < 1e-8
    gradcheck(f, inputs, grads, np.array(1.0), tol=1e-6)


def test_dropout_is_its_formula():
    drop = nn.Dropout(0.3, rng=0)
    x = np.random.default_rng(0).standard_normal((50, 40))
    out = drop(x)
    keep = drop.mask
    assert keep.dtype == bool and keep.shape == x.shape
    assert abs(keep.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out, np.where(keep, x / 0.7, 0.0))
    dout = np.ones_like(x)
    np.testing.assert_allclose(drop.backward(dout), np.where(keep, 1 / 0.7, 0.0))
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(nn.Dropout(0.3, rng=0)(x), out)  # a seed fixes the mask
    drop.eval()
    assert drop(x) is x
    np.testing.assert_array_equal(drop.backward(dout), dout)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x), np.zeros_like(x))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x), x)
    with pytest.raises(ValueError, match="p is a probability"):
        nn.Dropout(1.5)


def test_manual_seed_makes_models_reproducible():
    def make():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(), nn.Linear(3, 4))

    nn.manual_seed(42)
    a = make()
    nn.manual_seed(42)
    b = make()
    for (name, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        np.testing.assert_array_equal(v, w, err_msg=name)
    assert not np.array_equal(make()[0].weight.data, a[0].weight.data)


LAYERS = [nn.Conv2d(1, 1, 1), nn.ConvTranspose2d(1, 1, 1), nn.MaxPool2d(2), nn.AvgPool2d(2),
          nn.ReLU(), nn.Tanh(), nn.Linear(2, 2), nn.Flatten(), nn.Dropout(), nn.BatchNorm2d(1),
          nn.CrossEntropyLoss(), nn.MSELoss()]


@pytest.mark.parametrize("layer", LAYERS, ids=[type(m).__name__ for m in LAYERS])
def test_backward_before_forward_says_so(layer):
    with pytest.raises(RuntimeError, match=f"{type(layer).__name__}.backward: call forward first"):
        layer.backward(np.ones((1, 1, 2, 2), dtype=np.float32))


def test_gradients_accumulate_until_zero_grad():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x, dout = np.ones((4, 3)), np.ones((4, 2))
    layer(x)
    layer.backward(dout)
    once = layer.weight.grad.copy()
    layer.backward(dout)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(layer.weight.grad, 0 * once)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_clear_errors_for_common_slips():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(TypeError, match=r"x is float64 but the layer's parameters are float32"):
        conv(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"x\[None\]"):
        conv(np.zeros((3, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="in_features=6; is a Flatten missing"):
        nn.Linear(6, 2)(np.zeros((2, 1, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="num_features is 4"):
        nn.BatchNorm2d(4)(np.zeros((2, 3, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm2d(3)(np.zeros((1, 3, 1, 1), dtype=np.float32))
    ce = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        ce(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        ce(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"need targets \(N, ...\)"):
        ce(np.zeros((2, 3, 4, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="same shape"):
        nn.MSELoss()(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="nesterov"):
        nn.SGD(conv.parameters(), lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="Sequential: every layer must be a Module"):
        nn.Sequential(nn.ReLU(), np.zeros(3))


def test_cross_entropy_on_a_device_gives_a_bad_target_nan_without_reading_it():
    """On a device the target check would make the host wait, so a target outside [0, K) gets
    a NaN loss and NaN gradients in its own row; the other rows keep the host's numbers (the
    loss for the good targets is -log softmax, written out here)."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 4))
    target = np.array([2, 4, 0])  # 4 is out of range for K = 4
    ce = nn.CrossEntropyLoss(reduction="sum")
    reads = DeviceArray.host_reads
    loss = ce(DeviceArray(logits), DeviceArray(target))
    grad = ce.backward()
    assert DeviceArray.host_reads == reads
    assert np.isnan(float(loss))
    grad = grad.get()
    assert np.isnan(grad[1]).all() and np.isfinite(grad[[0, 2]]).all()
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    good = nn.CrossEntropyLoss(reduction="sum")(DeviceArray(logits[[0, 2]]),
                                                DeviceArray(target[[0, 2]]))
    np.testing.assert_allclose(float(good), -np.log(softmax[[0, 2], [2, 0]]).sum(), rtol=1e-12)
    np.testing.assert_allclose(grad[[0, 2]], softmax[[0, 2]] - np.eye(4)[[2, 0]], rtol=1e-12)


def test_sequential_is_a_list_of_layers():
    relu, tanh, flat = nn.ReLU(), nn.Tanh(), nn.Flatten()
    model = nn.Sequential(relu, tanh).append(flat)
    assert len(model) == 3 and list(model) == [relu, tanh, flat]
    assert model[0] is relu and model[-1] is flat
    assert list(model[1:]) == [tanh, flat]
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert "(2): Flatten()" in repr(model)


def test_shared_parameters_are_listed_once():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    assert len(nn.Sequential(a, b).parameters()) == 3


@pytest.mark.parametrize("optimiser", ["sgd", "adam"])
def test_tiny_model_overfits_a_tiny_batch(optimiser):
    nn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16, 3))
    criterion = nn.CrossEntropyLoss()
    opt = (nn.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimiser == "sgd"
           else nn.Adam(model.parameters(), lr=0.05))
    losses = []
    for _ in range(60):
        loss = criterion(model(x), y)
        opt.zero_grad()
        model.backward(criterion.backward())
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.1 * losses[0]
    assert (model(x).argmax(axis=1) == y).all()
    assert all(p.dtype == np.float32 for p in model.parameters())
