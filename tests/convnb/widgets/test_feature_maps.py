"""The LeNet-5 feature-map explorer: every map shown against a forward pass written here with
scipy.signal and explicit pooling (and PyTorch's), read from the weights file with NumPy alone;
the shipped weights' accuracy; and that the training command reproduces them."""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
import re
import warnings

import numpy as np
import pytest
from scipy.signal import correlate2d

ipywidgets = pytest.importorskip("ipywidgets", reason="the explorers need ipywidgets")
Image = pytest.importorskip("PIL.Image", reason="the explorer's pictures are PNGs (Pillow)")

from convnb import nn  # noqa: E402
from convnb.nn.models import lenet5  # noqa: E402
from convnb.widgets.feature_maps import (  # noqa: E402
    ACCURACY,
    MADE_WITH,
    TRAIN_COMMAND,
    WEIGHTS,
    digits_split,
    feature_maps,
)

LAYOUT = {"conv1": 6, "pool1": 6, "conv2": 8, "pool2": 8}  # maps per row in the pictures


@pytest.fixture(scope="module")
def weights():
    with np.load(WEIGHTS) as f:
        return {k: f[k].astype(np.float64) for k in f.files}


@pytest.fixture(scope="module")
def explorer():
    return feature_maps()


def conv(x, w, b, padding):
    """Multi-channel cross-correlation: x (C, H, W), w (F, C, K, K) -> (F, H_out, W_out)."""
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    return np.stack([sum(correlate2d(x[c], w[f, c], mode="valid") for c in range(len(x))) + b[f]
                     for f in range(len(w))])


def pool(a):
    """2x2 max pooling with stride 2, as explicit slices."""
    return np.maximum.reduce([a[:, i::2, j::2][:, :a.shape[1] // 2, :a.shape[2] // 2]
                              for i in (0, 1) for j in (0, 1)])


def forward(weights, x):
    """LeNet-5 on one image x (1, 28, 28), every stage kept."""
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    out = {"conv1": relu(conv(x, weights["0.weight"], weights["0.bias"], 2))}
    out["pool1"] = pool(out["conv1"])
    out["conv2"] = relu(conv(out["pool1"], weights["3.weight"], weights["3.bias"], 0))
    out["pool2"] = pool(out["conv2"])
    out["fc1"] = relu(weights["7.weight"] @ out["pool2"].ravel() + weights["7.bias"])
    out["fc2"] = relu(weights["9.weight"] @ out["fc1"] + weights["9.bias"])
    out["logits"] = weights["11.weight"] @ out["fc2"] + weights["11.bias"]
    e = np.exp(out["logits"] - out["logits"].max())
    out["probs"] = e / e.sum()
    return out


def select(e, digit):
    e.axes[0].control.index = digit
    frame = e.current()
    assert e.shown().value == frame.html
    assert all(html.escape(line) in frame.html for line in frame.text.splitlines())
    assert "$" not in frame.html
    return frame


def pngs(frame):
    """The grey levels of every PNG in the frame, in order."""
    found = re.findall(r"src=['\"]data:image/png;base64,([^'\"]+)", frame.html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))) for data in found]


def test_every_digit_matches_an_independent_forward_pass(explorer, weights):
    for digit in range(10):
        frame = select(explorer, digit)
        data = frame.data
        assert data["label"] == digit
        expected = forward(weights, data["input"][None].astype(np.float64))
        for name, value in expected.items():
            np.testing.assert_allclose(data[name], value, rtol=1e-4, atol=1e-4, err_msg=name)
        pred = int(np.argmax(expected["logits"]))
        assert data["pred"] == pred == int(np.argmax(data["logits"]))
        assert f"(label {digit}): predicted {pred}, with probability " \
               f"{expected['probs'][pred]:.3f}" in frame.text
        for k in range(10):
            assert f"{k}: {expected['logits'][k]:.2f}" in frame.text


def test_the_pictures_show_those_maps(explorer, weights):
    """Decode each PNG and find every map in it, on the layer's grey scale (0 black, the
    layer's largest value white), to within one grey level."""
    frame = select(explorer, 4)
    expected = forward(weights, frame.data["input"][None].astype(np.float64))
    images = pngs(frame)
    assert len(images) == 1 + 1 + 4 + 2  # input, filters, four map layers, two dense layers
    named = dict(zip(["conv1", "pool1", "conv2", "pool2"], images[2:6], strict=True))
    for name, picture in named.items():
        maps = expected[name]
        C, H, W = maps.shape
        for k in range(C):
            r, c = divmod(k, LAYOUT[name])
            shown = picture[r * (H + 1):r * (H + 1) + H, c * (W + 1):c * (W + 1) + W]
            levels = 255 * maps[k] / maps.max()
            np.testing.assert_allclose(shown, levels, atol=1.01, err_msg=f"{name} map {k}")
    for picture, name, shape in ((images[6], "fc1", (6, 20)), (images[7], "fc2", (4, 21))):
        levels = 255 * expected[name].reshape(shape) / expected[name].max()
        np.testing.assert_allclose(picture, levels, atol=1.01, err_msg=name)
    w = weights["0.weight"][:, 0]
    for k in range(6):  # filters: mid grey is 0
        shown = images[1][:, k * 6:k * 6 + 5]
        np.testing.assert_allclose(shown, 255 * (w[k] / np.abs(w).max() + 1) / 2, atol=1.01)


def test_the_inputs_are_held_out_digits_of_their_class(explorer):
    """Each input is an 8x8 scikit-learn digit of the chosen class, every pixel repeated 3x3
    and framed by 2, up to the standardisation (an increasing affine map)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for digit in range(10):
        x = select(explorer, digit).data["input"]
        small = x[2:26:3, 2:26:3]
        np.testing.assert_array_equal(x[2:26, 2:26], small.repeat(3, 0).repeat(3, 1))
        assert np.all(x[:2] == x.min()) and np.all(x[:, -2:] == x.min())
        candidates = digits.images[digits.target == digit]
        assert any(np.corrcoef(small.ravel(), image.ravel())[0, 1] > 1 - 1e-6
                   for image in candidates)


def test_shipped_weights_reach_the_documented_accuracy(weights):
    """On the held-out 20%, with the forward pass written here: 350 of 360 (97.2%)."""
    x_test, y_test = digits_split()
    assert x_test.shape == (360, 1, 28, 28)
    right = sum(int(np.argmax(forward(weights, x.astype(np.float64))["logits"]) == y)
                for x, y in zip(x_test, y_test, strict=True))
    assert right / len(y_test) >= ACCURACY == 350 / 360
    module = importlib.import_module("convnb.widgets.feature_maps")
    assert "350 of the 360 held-out digits correctly (97.2%)" in " ".join(module.__doc__.split())


def test_pytorch_agrees(explorer, weights):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional oracle (test extra)")
    F = torch.nn.functional
    t = {k: torch.tensor(v) for k, v in weights.items()}
    x = torch.tensor(np.stack([select(explorer, d).data["input"] for d in range(10)])[:, None],
                     dtype=torch.float64)
    conv1 = F.relu(F.conv2d(x, t["0.weight"], t["0.bias"], padding=2))
    pool1 = F.max_pool2d(conv1, 2)
    conv2 = F.relu(F.conv2d(pool1, t["3.weight"], t["3.bias"]))
    pool2 = F.max_pool2d(conv2, 2)
    fc1 = F.relu(F.linear(pool2.flatten(1), t["7.weight"], t["7.bias"]))
    fc2 = F.relu(F.linear(fc1, t["9.weight"], t["9.bias"]))
    logits = F.linear(fc2, t["11.weight"], t["11.bias"])
    for digit in range(10):
        data = select(explorer, digit).data
        for name, value in (("conv1", conv1), ("pool1", pool1), ("conv2", conv2),
                            ("pool2", pool2), ("fc1", fc1), ("fc2", fc2), ("logits", logits)):
            np.testing.assert_allclose(data[name], value[digit].numpy(), rtol=1e-4, atol=1e-4)
        assert data["pred"] == int(logits[digit].argmax())


def test_making_it_leaves_the_global_generator_alone():
    nn.manual_seed(3)
    feature_maps()
    after = lenet5()[0].weight.data
    nn.manual_seed(3)
    np.testing.assert_array_equal(lenet5()[0].weight.data, after)


def test_own_weights_and_bad_files(tmp_path, weights):
    own = tmp_path / "mine.npz"
    np.savez(own, **{k: v.astype(np.float32) * (2 if k == "11.bias" else 1)
                     for k, v in weights.items()})
    frame = select(feature_maps(own), 0)
    np.testing.assert_allclose(frame.data["logits"],
                               forward(weights, frame.data["input"][None])["logits"]
                               + weights["11.bias"], rtol=1e-4, atol=1e-4)
    with pytest.raises(FileNotFoundError, match=r"feature_maps: the weights file .*nope.npz "
                                                r"does not exist"):
        feature_maps(tmp_path / "nope.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(WEIGHTS.read_bytes()[:1000])  # a download cut short
    with pytest.raises(ValueError, match=r"feature_maps: .*broken.npz does not hold LeNet-5"):
        feature_maps(broken)
    other = tmp_path / "other.npz"
    np.savez(other, w=np.ones(3))
    with pytest.raises(ValueError, match=r"does not hold LeNet-5 weights .*names differ"):
        feature_maps(other)
    with pytest.raises(TypeError, match=r"feature_maps: weights must be a path .* got int"):
        feature_maps(3)


@pytest.mark.accuracy
def test_the_training_command_reproduces_the_shipped_weights(tmp_path, weights):
    """What the module's docstring says made the file: the training command with its defaults
    (seed 0), run as a user runs it, in a process on OpenBLAS's Haswell kernels
    (convnb.train.REPRODUCIBLE_BLAS). Bit for bit with the NumPy and OpenBLAS that made them:
    15 epochs turn any difference in rounding into weights that differ by about 0.1. With other
    versions, whose kernels may round differently, a network as good as the seeds' (95% or
    more)."""
    import os
    import subprocess
    import sys

    from convnb.train import (
        REPRODUCIBLE_BLAS,
        numpy_blas,
        reproducible_blas_unavailable,
        reproducible_environ,
    )

    why_not = reproducible_blas_unavailable()
    if why_not:
        pytest.skip(why_not)
    environ = {"OPENBLAS_CORETYPE": "SkylakeX", "HOME": "/nowhere"}
    assert reproducible_environ(environ) == {**environ, **REPRODUCIBLE_BLAS}
    assert environ == {"OPENBLAS_CORETYPE": "SkylakeX", "HOME": "/nowhere"}  # left as it was
    pinned = reproducible_environ(os.environ)
    kernels = subprocess.run(
        [sys.executable, "-c", "import numpy, threadpoolctl; print([i['architecture'] for i in "
         "threadpoolctl.threadpool_info() if i['user_api'] == 'blas'][0])"],
        env=pinned, capture_output=True, text=True, check=True).stdout.strip()
    assert kernels == "Haswell"  # the variable took effect

    again = tmp_path / "again.npz"
    command = ["-m", "convnb", "train", "--model", "lenet5", "--dataset", "digits",
               "--save", str(again), "--no-progress"]
    result = subprocess.run([sys.executable, *command], env=pinned, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    here = {"numpy": np.__version__, "openblas": numpy_blas()["version"]}
    if here != MADE_WITH:
        assert report["test_accuracy"] >= 0.95
        warnings.warn(f"the shipped weights were made with {MADE_WITH}, this is {here}: only "
                      f"the accuracy was checked; retrain them with {TRAIN_COMMAND}", stacklevel=1)
        return
    assert report["test_accuracy"] == ACCURACY == 350 / 360
    with np.load(again) as trained:
        assert sorted(trained.files) == sorted(weights)
        for name in weights:
            np.testing.assert_array_equal(trained[name], weights[name], err_msg=name)
