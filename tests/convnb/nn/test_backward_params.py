"""``backward_params``: the backward pass training uses, which computes no gradient for the data.

The parameters' gradients must be those of PyTorch for an input that does not require grad,
whatever sits at the bottom of the network; a subclass's own ``backward`` must not be bypassed.
"""

from __future__ import annotations

import numpy as np
import pytest
from device_double import DeviceArray

import convnb.nn as nn
from convnb.nn.models import EncoderDecoder
from convnb.train import fit

TOL = dict(rtol=1e-10, atol=1e-12)


def grads(model):
    return {name: None if p.grad is None else np.array(p.grad)
            for name, p in model.named_parameters()}


def test_nested_and_parameter_free_first_layers_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    tnn = torch.nn
    ours = nn.Sequential(nn.Sequential(nn.Dropout(0.0), nn.BatchNorm2d(2)), nn.Conv2d(2, 3, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4)).double()
    theirs = tnn.Sequential(tnn.Sequential(tnn.Dropout(0.0), tnn.BatchNorm2d(2)),
                            tnn.Conv2d(2, 3, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                            tnn.Linear(12, 4)).double()
    rng = np.random.default_rng(0)
    for p in ours.parameters():
        p.data = rng.standard_normal(p.shape)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((3, 2, 6, 6))
    out, out_t = ours(x), theirs(torch.from_numpy(x))
    dout = rng.standard_normal(out.shape)
    assert ours.backward_params(dout) is None
    out_t.backward(torch.from_numpy(dout))
    expected = dict(theirs.named_parameters())
    for name, g in grads(ours).items():
        np.testing.assert_allclose(g, expected[name].grad.numpy(), **TOL, err_msg=name)


@pytest.mark.parametrize("first", ["Flatten", "ReLU", "Dropout"])
def test_layers_below_the_first_parameters_are_not_run(first):
    """Nothing below the first learned layer needs a gradient: its backward is never called."""
    class Untouchable(getattr(nn, first)):
        def backward(self, dout):
            raise AssertionError(f"{first}.backward ran")

    model = nn.Sequential(Untouchable(), nn.Linear(4, 3)) if first == "Flatten" else \
        nn.Sequential(nn.Flatten(), Untouchable(), nn.Linear(4, 3))
    x = np.random.default_rng(0).standard_normal((2, 1, 2, 2)).astype(np.float32)
    model.backward_params(np.ones_like(model(x)))
    assert model[-1].weight.grad is not None
    nn.Sequential(nn.ReLU()).backward_params(np.ones(3))  # nothing learned: nothing to do


def test_encoder_decoder_gives_its_backward_gradients():
    """EncoderDecoder's skip joins two paths: backward_params must add both, as backward does
    (backward is gradient-checked in test_models)."""
    model = EncoderDecoder(rng=0).double()
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6))
    dout = np.random.default_rng(2).standard_normal(model(x).shape)
    model.backward(dout)
    full = grads(model)
    model.zero_grad()
    model(x)
    model.backward_params(dout)
    for name, g in grads(model).items():
        np.testing.assert_allclose(g, full[name], **TOL, err_msg=name)


@pytest.mark.parametrize("base", [nn.Linear, nn.Conv2d])
def test_a_subclass_that_overrides_backward_keeps_it(base):
    """A frozen layer (its backward adds no gradient) stays frozen when it is the first layer."""
    class Frozen(base):
        def backward(self, dout):
            return None  # nothing below needs dx here: the layer only refuses to learn

    args, shape, features = (((4, 3), (2, 4), 3) if base is nn.Linear
                             else ((1, 2, 3), (2, 1, 5, 5), 18))
    model = nn.Sequential(Frozen(*args), nn.ReLU(), nn.Flatten(), nn.Linear(features, 2))
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    model.backward_params(np.ones_like(model(x)))
    assert model[0].weight.grad is None and model[-1].weight.grad is not None


def test_a_subclass_calling_super_backward_does_not_recurse():
    class Doubled(nn.Linear):
        def backward(self, dout):
            return super().backward(2 * dout)

    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    layer, plain = Doubled(4, 3, rng=0), nn.Linear(4, 3, rng=0)
    layer.backward_params(np.ones_like(layer(x)))
    plain(x)
    plain.backward(2 * np.ones((2, 3), np.float32))
    np.testing.assert_allclose(layer.weight.grad, plain.weight.grad)


def test_fit_trains_with_backward_params_and_leaves_a_frozen_first_layer_alone():
    calls = []

    class Frozen(nn.Linear):
        def backward_params(self, dout):
            calls.append(len(dout))
            # learns nothing: no gradient is added

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 4)).astype(np.float32), rng.integers(0, 2, 20)
    model = nn.Sequential(Frozen(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=0))
    before = model[0].weight.data.copy()
    fit(model, (x, y), epochs=1, batch_size=10, momentum=0.0, progress=False)
    assert calls == [10, 10]
    np.testing.assert_array_equal(model[0].weight.data, before)


def test_backward_params_stays_on_the_device():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2, 3))
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    dout = np.ones((2, 3), np.float32)
    model(x)
    model.backward_params(dout)
    expected = grads(model)
    model.zero_grad()
    model._apply(DeviceArray)
    model(DeviceArray(x))
    model.backward_params(DeviceArray(dout))
    for name, p in model.named_parameters():
        assert isinstance(p.grad, DeviceArray), name
        np.testing.assert_allclose(p.grad.get(), expected[name], rtol=1e-6, err_msg=name)
