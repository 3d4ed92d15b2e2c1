"""Module plumbing: state_dict, save/load, devices and dtypes (the device double stands in for a
GPU), and the initialisation functions' distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from device_double import DeviceArray

import convnb.nn as nn
from convnb.backend import gpu_available
from convnb.nn import init


def small_net(seed: int = 0) -> nn.Sequential:
    nn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.2), nn.Flatten(), nn.Linear(12, 2))


def test_state_dict_names_and_copies():
    net = small_net()
    state = net.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"]
    state["0.weight"][...] = 0  # a copy: the model keeps its weights
    assert np.abs(net[0].weight.data).max() > 0


def test_save_load_round_trip(tmp_path):
    a, b = small_net(0), small_net(1)
    a(np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32))  # move stats
    path = a.save(tmp_path / "model")
    assert path == tmp_path / "model.npz" and path.exists()
    b.load(tmp_path / "model")
    for (name, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        np.testing.assert_array_equal(v, w, err_msg=name)
        assert v.dtype == w.dtype
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    np.testing.assert_array_equal(a.eval()(x), b.eval()(x))


def test_load_names_mismatches_clearly(tmp_path):
    path = small_net().save(tmp_path / "model.npz")
    other = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match=r"missing \['2.weight', '2.bias'\].*"
                                         r"unexpected \['1.weight'"):
        other.load(path)
    wider = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 1, 3, 3\) in the state but "
                                         r"\(4, 1, 3, 3\) in the model"):
        wider.load_state_dict(small_net().state_dict(), strict=False)
    partial = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1))
    partial.load_state_dict(small_net(5).state_dict(), strict=False)  # loads what both have
    np.testing.assert_array_equal(partial[0].weight.data, small_net(5)[0].weight.data)


def test_to_cpu_and_dtypes():
    net = small_net()
    assert net.to("cpu") is net and isinstance(net[0].weight.data, np.ndarray)
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].running_var.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # counters are not cast
    net.to(np.float32)
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(ValueError, match="device must be one of"):
        net.to("tpu")
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64


@pytest.mark.skipif(gpu_available(), reason="checks the message given when CuPy is missing")
def test_to_gpu_without_cupy_says_what_to_install():
    with pytest.raises(RuntimeError, match="needs CuPy"):
        small_net().to("gpu")


def every_layer_net(seed: int, momentum: float | None = 0.1) -> nn.Sequential:
    nn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3, momentum=momentum),
                         nn.Tanh(),
                         nn.MaxPool2d(2), nn.ConvTranspose2d(3, 2, 2, stride=2), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Dropout(0.2), nn.Flatten(), nn.Linear(8, 2))


@pytest.mark.parametrize("optimiser, kind, momentum",
                         [("sgd", "cross-entropy", 0.1), ("adam", "mse", None)])
def test_model_on_a_device_trains_there(optimiser, kind, momentum):
    """A model moved to a device-like array (no implicit host conversion) trains with the same
    numbers as on the host, everything it holds stays on the device, and a training step reads
    nothing back from it (on a GPU each read would make the host wait for the device)."""
    host, device = every_layer_net(3, momentum), every_layer_net(3, momentum)
    device._apply(DeviceArray)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 4, 4)).astype(np.float32)
    y = np.array([0, 1, 1, 0]) if kind == "cross-entropy" else np.ones((4, 2), np.float32)
    results = []
    for net, to in ((host, np.asarray), (device, DeviceArray)):
        net[7].rng = np.random.default_rng(1)
        criterion = nn.CrossEntropyLoss() if kind == "cross-entropy" else nn.MSELoss()
        opt = (nn.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
               if optimiser == "sgd" else nn.Adam(net.parameters(), lr=0.01, weight_decay=1e-3))
        batch, target = to(x), to(y)
        reads = DeviceArray.host_reads
        for _ in range(2):
            loss = criterion(net(batch), target)
            opt.zero_grad()
            net.backward(criterion.backward())
            opt.step()
        assert DeviceArray.host_reads == reads, "a training step read a number from the device"
        results.append((float(loss), net))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    for p in device.parameters():
        assert isinstance(p.data, DeviceArray) and isinstance(p.grad, DeviceArray)
    assert all(isinstance(b, DeviceArray) for b in device.buffers())
    device.to("cpu")
    for (name, v), w in zip(host.state_dict().items(), device.state_dict().values(), strict=True):
        assert isinstance(w, np.ndarray)
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-6, err_msg=name)


def test_load_and_init_keep_device_arrays():
    net = small_net()._apply(DeviceArray)
    net.load_state_dict(small_net(9).state_dict())
    held = [p.data for p in net.parameters()] + net.buffers()
    assert len(held) == 9 and all(isinstance(v, DeviceArray) for v in held)
    np.testing.assert_array_equal(net[0].weight.data.get(), small_net(9)[0].weight.data)
    w = DeviceArray(np.zeros((4, 3, 3, 3), dtype=np.float32))
    assert init.kaiming_normal_(w, rng=0) is w and w.get().std() > 0


SHAPE = (128, 64, 3, 3)  # fan_in 576, fan_out 1152
FAN_IN, FAN_OUT = 64 * 9, 128 * 9


@pytest.mark.parametrize("fill, bound, std", [
    (lambda w: init.kaiming_uniform_(w, rng=0),
     math.sqrt(6 / FAN_IN), math.sqrt(2 / FAN_IN)),  # gain sqrt(2) for a = 0
    (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5), rng=0),
     1 / math.sqrt(FAN_IN), 1 / math.sqrt(3 * FAN_IN)),  # the layers' default
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", rng=0),
     None, math.sqrt(2 / FAN_OUT)),
    (lambda w: init.xavier_uniform_(w, rng=0),
     math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda w: init.xavier_normal_(w, gain=5 / 3, rng=0),
     None, 5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
], ids=["kaiming_uniform", "kaiming_uniform_a5", "kaiming_normal_fan_out", "xavier_uniform",
        "xavier_normal"])
def test_init_distributions(fill, bound, std):
    w = np.empty(SHAPE, dtype=np.float32)
    assert fill(w) is w
    assert abs(w.mean()) < 0.02 * std
    assert w.std() == pytest.approx(std, rel=0.01)
    if bound is not None:
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    else:
        assert np.abs(w).max() > 3 * std  # a normal's tails, not a uniform's edge


def test_init_rng_and_helpers():
    a, b = np.empty((5, 4)), np.empty((5, 4))
    init.xavier_uniform_(a, rng=np.random.default_rng(3))
    init.xavier_uniform_(b, rng=3)
    np.testing.assert_array_equal(a, b)
    p = nn.Parameter(np.ones((3, 2)))
    assert init.zeros_(p) is p and not p.data.any()
    init.ones_(p)
    assert (p.data == 1).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(np.empty(3))
    with pytest.raises(TypeError, match="rng must be"):
        init.uniform_(a, rng="seed")
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal_(a, mode="fan_avg")
