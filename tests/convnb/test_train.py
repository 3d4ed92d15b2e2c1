"""The training loop, its history and plot, the data path to LeNet-5, and the command line
`python -m convnb train` run for real in a subprocess."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from device_double import DeviceArray

import convnb.data
import convnb.nn as nn
from convnb.nn.models import lenet5, mlp
from convnb.train import (
    History,
    evaluate,
    fit,
    lenet_input,
    plot_history,
    random_shift,
    run,
    standardize,
)

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[2]


def small_task(n: int = 96, seed: int = 0):
    """Digits-like data small enough for a second of training."""
    x, y = convnb.data.load_digits()
    x, y = x[:n], y[:n]
    return standardize(x)[0], y


def test_lenet_input_upsamples_digits_by_blocks_and_pads():
    x = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
    out = lenet_input(x)
    assert out.shape == (2, 1, 28, 28) and out.dtype == np.float32
    inner = out[:, :, 2:26, 2:26]
    for u in range(3):
        for v in range(3):
            np.testing.assert_array_equal(inner[:, :, u::3, v::3], x)  # every pixel a 3x3 block
    assert not out[:, :, :2].any() and not out[:, :, 26:].any()
    assert not out[..., :2].any() and not out[..., 26:].any()


def test_lenet_input_pads_other_sizes_and_refuses_larger():
    faces = np.ones((1, 1, 25, 25), dtype=np.float32)
    out = lenet_input(faces)
    assert out.shape == (1, 1, 28, 28) and out.sum() == 625
    assert out[0, 0, 1, 1] == 1 and out[0, 0, 0, 0] == 0 and out[0, 0, 26, 26] == 0
    mnist = np.ones((1, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(lenet_input(mnist), mnist)
    with pytest.raises(ValueError, match="larger than LeNet-5's 28x28"):
        lenet_input(np.ones((1, 1, 32, 32), dtype=np.float32))


def test_standardize_uses_the_training_statistics():
    a = np.arange(6, dtype=np.float32).reshape(6, 1)
    b = np.full((2, 1), 2.5, dtype=np.float32)
    sa, sb = standardize(a, b)
    assert abs(sa.mean()) < 1e-6 and abs(sa.std() - 1) < 1e-6
    np.testing.assert_allclose(sb, 0, atol=1e-6)
    assert sa.dtype == sb.dtype == np.float32


def test_random_shift_moves_each_image_by_whole_pixels():
    x = np.zeros((50, 2, 9, 9), dtype=np.float32)
    x[:, :, 4, 4] = 1
    x[:, 1] *= 2
    out = random_shift(2)(x, np.random.default_rng(0))
    assert out.shape == x.shape
    rows, cols = np.nonzero(out[:, 0])[1:]
    assert len(rows) == 50 and set(rows) == set(cols) == {2, 3, 4, 5, 6}
    np.testing.assert_array_equal(out[:, 1], 2 * out[:, 0])  # channels move together
    edge = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    moved = random_shift(1)(edge, np.random.default_rng(1))
    assert set(moved.ravel()) <= set(edge.ravel())  # edge pixels fill the gap


def test_fit_transforms_training_batches_only():
    x, y = small_task(32)
    seen = []

    def record(xb, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(len(xb))
        return xb

    fit(mlp(64, (8,), 10, rng=0), (x, y), (x, y), epochs=2, batch_size=10, transform=record,
        progress=False)
    assert seen == [10, 10, 10, 2] * 2


def train_once(seed: int, **kwargs) -> History:
    x, y = small_task()
    nn.manual_seed(0)
    return fit(mlp(64, (16,), 10), (x[:64], y[:64]), (x[64:], y[64:]), epochs=3,
               batch_size=16, seed=seed, progress=False, **kwargs)


def without_seconds(history: History) -> dict:
    return {k: v for k, v in history.to_dict().items() if k != "seconds"}


def test_fit_is_reproducible_with_a_seed():
    first, again, other = train_once(1), train_once(1), train_once(2)
    assert without_seconds(first) == without_seconds(again)
    assert without_seconds(first) != without_seconds(other)  # the batch order differs
    assert first.epoch == [1, 2, 3] and len(first.seconds) == 3
    for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert len(getattr(first, name)) == 3
    assert first.train_loss[-1] < first.train_loss[0]
    assert all(0 <= a <= 1 for a in first.train_accuracy + first.test_accuracy)
    assert first.total_seconds == pytest.approx(sum(first.seconds))


def test_fit_without_test_set_and_with_ready_optimizer():
    x, y = small_task()
    nn.manual_seed(0)
    model = mlp(64, (16,), 10)
    opt = nn.Adam(model.parameters(), lr=0.01)
    history = fit(model, (x, y), epochs=4, optimizer=opt, lr_schedule="cosine", progress=False)
    assert history.test_accuracy == [] and len(history.train_loss) == 4
    assert opt.lr == pytest.approx(0.01 * (1 + math.cos(math.pi * 3 / 4)) / 2)  # last epoch's
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        fit(model, (x, y), lr_schedule="step", progress=False)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit(model, (x, y), optimizer="rmsprop", progress=False)


def test_evaluate_restores_the_mode_and_counts_right():
    x, y = small_task(40)
    model = mlp(64, (16,), 10, rng=0).train()
    result = evaluate(model, x, y, batch_size=7)
    assert model.training
    logits = model(x)
    assert result.accuracy == pytest.approx((logits.argmax(1) == y).mean())
    loss = nn.CrossEntropyLoss()(logits, y)
    assert result.loss == pytest.approx(float(loss), rel=1e-5)


def test_progress_bar_goes_to_stderr(capsys):
    x, y = small_task(32)
    fit(mlp(64, (8,), 10, rng=0), (x, y), (x, y), epochs=1, batch_size=8, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "epoch 1/1" in err


def test_fit_trains_a_model_on_a_device():
    """Batches follow the parameters to the device (here the device double, which refuses
    implicit host conversion); the numbers are the host's."""
    x, y = small_task(48)
    histories = []
    for on_device in (False, True):
        nn.manual_seed(0)
        model = lenet5()
        if on_device:
            model._apply(DeviceArray)
        histories.append(fit(model, (lenet_input(x), y), (lenet_input(x[:16]), y[:16]),
                             epochs=1, batch_size=16, progress=False))
        assert all(isinstance(p.data, DeviceArray) == on_device for p in model.parameters())
    host, device = histories
    np.testing.assert_allclose(device.train_loss, host.train_loss, rtol=1e-5)
    assert device.test_accuracy == host.test_accuracy


def test_fit_on_a_device_reads_numbers_back_once_per_epoch_not_per_step():
    """Losses and right answers are summed on the device and read at the end of the epoch: the
    same number of host reads for three steps as for six (with no test set or progress bar)."""
    x, y = small_task(48)
    reads = []
    for batch_size in (16, 8):
        nn.manual_seed(0)
        model = lenet5()._apply(DeviceArray)
        before = DeviceArray.host_reads
        fit(model, (lenet_input(x), y), epochs=1, batch_size=batch_size, progress=False)
        reads.append(DeviceArray.host_reads - before)
    assert reads[0] == reads[1] <= 2


def test_fit_checks_its_targets_on_the_host_before_training():
    x, y = small_task(16)
    bad = y.copy()
    bad[3] = 10  # lenet5 has 10 outputs: classes 0..9
    for train_y, test_y, name in ((bad, y, "train"), (y, bad, "test")):
        with pytest.raises(ValueError, match=rf"^fit: the {name} targets must be integer classes "
                                             r"in \[0, 10\) .* values from 0 to 10$"):
            fit(lenet5(), (lenet_input(x), train_y), (lenet_input(x), test_y), epochs=1,
                batch_size=8, progress=False)


def test_plot_history_draws_loss_and_accuracy():
    history = train_once(0)
    fig = plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "cross-entropy loss" and acc_ax.get_title() == "accuracy"
    assert [line.get_label() for line in acc_ax.lines] == ["train", "test"]
    np.testing.assert_array_equal(acc_ax.lines[1].get_ydata(), history.test_accuracy)
    fig.savefig(os.devnull, format="png")


def test_mnist_falls_back_to_digits_with_a_warning(monkeypatch):
    def unavailable(**kwargs):
        raise convnb.data.MnistUnavailable("no network in this test")

    monkeypatch.setattr(convnb.data, "load_mnist", unavailable)
    with pytest.warns(UserWarning, match="MNIST is unavailable"):
        report = run(model="mlp", dataset="mnist", epochs=1, progress=False)
    assert report["dataset"] == "digits" and report["requested_dataset"] == "mnist"
    assert report["n_train"] + report["n_test"] == 1797


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convnb", "train", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def last_json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_cli_prints_a_json_report_last(tmp_path):
    saved = tmp_path / "model.npz"
    done = cli("--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--seed", "3",
               "--batch-size", "64", "--save", str(saved))
    assert done.returncode == 0, done.stderr
    report = last_json_line(done.stdout)
    assert {"test_accuracy", "train_seconds", "params", "model", "dataset", "epochs",
            "seed"} <= set(report)
    assert report["model"] == "lenet5" and report["dataset"] == "digits"
    assert report["epochs"] == 1 and report["seed"] == 3 and report["batch_size"] == 64
    assert report["params"] == 61706 and report["n_test"] == 360
    assert 0 <= report["test_accuracy"] <= 1 and report["train_seconds"] > 0
    assert "epoch 1/1" in done.stderr  # progress goes to stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lenet5().load(saved)


@pytest.mark.accuracy
def test_cli_defaults_reach_97_percent_on_the_digits():
    """The documented claim: the default run reaches 97% on the held-out 20% (about 10 s;
    99.2% measured)."""
    done = cli("--no-progress")
    assert done.returncode == 0, done.stderr
    report = last_json_line(done.stdout)
    assert report["model"] == "lenet5" and report["dataset"] == "digits" and report["shift"] == 2
    assert report["test_accuracy"] >= 0.97, report
