"""Ready models: LeNet-5 and the MLP against their PyTorch twins, the encoder-decoder's gradient
through its skip connection, and the encoder-decoder learning a small segmentation task."""

from __future__ import annotations

import numpy as np
import pytest

import convnb.nn as nn
from convnb import gradcheck
from convnb.experiments import bright_squares
from convnb.nn.models import EncoderDecoder, lenet5, mlp
from convnb.train import evaluate, fit


def n_params(model: nn.Module) -> int:
    return sum(p.data.size for p in model.parameters())


def test_lenet5_shapes_and_parameter_count():
    model = lenet5(rng=0)
    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    assert model(x).shape == (3, 10)
    # 6*25+6, 16*6*25+16, 400*120+120, 120*84+84, 84*10+10
    assert n_params(model) == 156 + 2416 + 48120 + 10164 + 850 == 61706
    big = lenet5(num_classes=2, in_channels=3, input_size=32, rng=0)
    assert big(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape == (1, 2)
    assert big[7].in_features == 16 * 6 * 6


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_size=8), "input_size must be at least 12"),
    (dict(activation="sigmoid"), "activation must be one of"),
    (dict(pooling="lp"), "pooling must be one of"),
])
def test_lenet5_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lenet5(**kwargs)


def test_mlp_takes_images_and_vectors():
    model = mlp(64, (32, 16), 10, rng=0)
    assert n_params(model) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(model(x), model(x.reshape(5, 64)))
    assert isinstance(model[0], nn.Flatten) and isinstance(model[2], nn.ReLU)


@pytest.mark.parametrize("build, torch_layers", [
    (lambda: lenet5(activation="tanh", pooling="avg", rng=0), "lenet5-tanh-avg"),
    (lambda: lenet5(rng=0), "lenet5"),
    (lambda: mlp(64, (20,), 10, rng=0), "mlp"),
])
def test_models_match_pytorch(build, torch_layers):
    """The same architecture written in torch.nn takes our state_dict and gives our outputs."""
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    tnn = torch.nn
    if torch_layers == "mlp":
        theirs = tnn.Sequential(tnn.Flatten(), tnn.Linear(64, 20), tnn.ReLU(), tnn.Linear(20, 10))
        x = np.random.default_rng(1).random((4, 1, 8, 8))
    else:
        act, pool = ((tnn.Tanh, tnn.AvgPool2d) if torch_layers == "lenet5-tanh-avg"
                     else (tnn.ReLU, tnn.MaxPool2d))
        theirs = tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), act(), pool(2), tnn.Conv2d(6, 16, 5), act(), pool(2),
            tnn.Flatten(), tnn.Linear(400, 120), act(), tnn.Linear(120, 84), act(),
            tnn.Linear(84, 10))
        x = np.random.default_rng(1).random((4, 1, 28, 28))
    ours = build().double()
    theirs.double().load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    out, out_t = ours(x), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    # Training: the input (data) needs no gradient, so neither library computes it.
    dout = np.random.default_rng(2).standard_normal(out.shape)
    ours.backward_params(dout)
    out_t.backward(torch.from_numpy(dout))
    grads_t = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, grads_t[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_encoder_decoder_gives_per_pixel_logits():
    model = EncoderDecoder(in_channels=2, num_classes=3, rng=0)
    x = np.zeros((2, 2, 12, 16), dtype=np.float32)
    out = model(x)
    assert out.shape == (2, 3, 12, 16)
    loss = nn.CrossEntropyLoss()
    loss(out, np.zeros((2, 12, 16), dtype=np.int64))
    assert model.backward(loss.backward()).shape == x.shape
    assert [name for name, _ in model.named_parameters()][:2] == ["enc.0.weight", "enc.0.bias"]
    with pytest.raises(ValueError, match="H and W must be even"):
        model(np.zeros((1, 2, 7, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="skip must be"):
        EncoderDecoder(skip="mul")


@pytest.mark.parametrize("skip", ["concat", "add"])
def test_encoder_decoder_gradient_check(skip):
    """Backprop through both paths (the skip and the down-up path) equals finite differences,
    for the input and every parameter, in float64."""
    model = EncoderDecoder(in_channels=1, num_classes=2, channels=(2, 3), skip=skip, rng=1)
    model.double()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 4, 4))
    target = rng.integers(0, 2, (2, 4, 4))
    criterion = nn.CrossEntropyLoss()
    params = dict(model.named_parameters())

    def f(x, **values):
        for name, p in params.items():
            p.data = values[name]
        return criterion(model(x), target)

    inputs = {"x": x, **{name: p.data for name, p in params.items()}}
    f(**inputs)
    model.zero_grad()
    dx = model.backward(criterion.backward())
    grads = {"x": dx, **{name: p.grad for name, p in params.items()}}
    assert len(grads) == 1 + 10  # enc, two down convs, up, head: weight and bias each
    gradcheck(f, inputs, grads, np.array(1.0), tol=1e-6)


def test_encoder_decoder_learns_to_segment_squares():
    x, y = bright_squares(256, seed=0)
    x_test, y_test = bright_squares(64, seed=1)
    majority = 1 - y_test.mean()
    assert 0.8 < majority < 0.9
    nn.manual_seed(0)
    model = EncoderDecoder()
    before = evaluate(model, x_test, y_test).accuracy
    history = fit(model, (x, y), (x_test, y_test), epochs=5, batch_size=16, optimizer="adam",
                  lr=1e-2, progress=False)
    after = history.test_accuracy[-1]
    assert after > majority + 0.08 and after > 0.95, (before, majority, history.test_accuracy)
