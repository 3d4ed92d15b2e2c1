"""lab05's checks without nbgrader: the notebook's solution passes every seed, classic mistakes
lose points and get their hint, the trained models are judged by what they classify, and the
lab's given code is the code the checks assume."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook

from autograder.checks import lab05
from autograder.checks.compare import describe
from autograder.checks.hints import HINTS

NB = lab_notebook("lab05_train_cnn")
CELLS = {c.id: c for c in NB.cells}
SOLUTIONS = [c.id for c in NB.cells if c.metadata.get("nbgrader", {}).get("solution")]
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab05, name) for name in lab05.__all__}
MODEL_CHECKS = {"check_cnn_accuracy", "check_shuffle_experiment"}
STUDENT = {"check_relu": "ReLU", "check_flatten": "Flatten", "check_linear": "Linear",
           "check_conv": "Conv", "check_maxpool": "MaxPool",
           "check_softmax_cross_entropy": "softmax_cross_entropy",
           "check_train_step": "train_step", "check_build_cnn": "build_cnn",
           "check_shuffle_pixels": "shuffle_pixels"}


def _code(cell_id: str, edits: tuple[tuple[str, str], ...] = ()) -> str:
    code = "\n".join(line for line in CELLS[cell_id].source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    for old, new in edits:
        assert code.count(old) == 1, (cell_id, old)
        code = code.replace(old, new)
    return code


def _namespace(edits: dict[str, tuple[tuple[str, str], ...]] | None = None,
               run: tuple[str, ...] = ()) -> dict:
    """The given code and the solutions (with ``edits``), then the cells ``run``."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell_id in ("setup", "given", *SOLUTIONS, *run):
            exec(_code(cell_id, (edits or {}).get(cell_id, ())), namespace)  # noqa: S102
    return namespace


SOL = _namespace()


@pytest.fixture(scope="module")
def trained() -> dict:
    """The solution's notebook run through its training and experiment cells."""
    return _namespace(run=("data", "train", "experiment"))


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 30
    assert "**Total: 30 points.**" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    for seed in (None, HIDDEN[name].seed, 0, 1, 2, 3):
        ev = CHECKS[name].evaluate(SOL[STUDENT[name]], seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", ["check_relu", "check_flatten", "check_linear", "check_conv",
                                  "check_maxpool", "check_softmax_cross_entropy",
                                  "check_train_step"])
def test_the_hidden_cases_ask_for_every_quantity(name):
    quantities = {case.part for case in CHECKS[name].cases(HIDDEN[name].seed)}
    expected = {"check_relu": {"out", "dx"}, "check_flatten": {"out", "dx"},
                "check_maxpool": {"out", "dx"}, "check_softmax_cross_entropy": {"loss", "dscores"},
                "check_train_step": {"params", "loss"}}.get(name, set(lab05.LAYER_PARTS))
    assert quantities == expected


def test_the_hidden_conv_cases_pad_in_the_forward_and_the_backward_pass():
    padded = {case.part for case in lab05.check_conv.cases(HIDDEN["check_conv"].seed)
              if case.args[0][2] > 0}
    assert {"out", "dx"} <= padded


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_an_unwritten_answer_scores_zero(name, capsys):
    namespace = _namespace()
    for cell_id in SOLUTIONS:  # nbgrader's stub in every solution block
        source = CELLS[cell_id].source
        lines, skipping = [], False
        for line in source.splitlines():
            if "### BEGIN SOLUTION" in line:
                lines.append(line.replace("### BEGIN SOLUTION", "raise NotImplementedError()"))
                skipping = True
            elif "### END SOLUTION" in line:
                skipping = False
            elif not skipping:
                lines.append(line)
        exec("\n".join(lines), namespace)  # noqa: S102
    call = HIDDEN[name]
    assert CHECKS[name](namespace[STUDENT[name]], seed=call.seed, points=call.points) == 0
    assert "not written yet" in capsys.readouterr().out


SUM = ("loss = -log_p[np.arange(N), y].mean()", "loss = -log_p[np.arange(N), y].sum()")
MISTAKES = {
    "ReLU passes every gradient": (
        "check_relu", {"relu": (("return dout * (self.x > 0)", "return dout"),)},
        "relu_backward_negative"),
    "ReLU masks with dout": (
        "check_relu", {"relu": (("return dout * (self.x > 0)", "return dout * (dout > 0)"),)},
        "relu_backward_of_dout"),
    "Flatten backward keeps the rows": (
        "check_flatten", {"flatten": (("return dout.reshape(self.shape)", "return dout"),)},
        "flatten_backward_shape"),
    "Flatten flattens the batch": (
        "check_flatten", {"flatten": (("return x.reshape(x.shape[0], -1)",
                                       "return x.reshape(-1)"),)}, "flatten_batch_axis"),
    "Linear dw transposed": (
        "check_linear", {"linear": (('self.grads["w"] += dout.T @ self.x',
                                     'self.grads["w"] = self.x.T @ dout'),)},
        "linear_dw_transposed"),
    "Linear db not summed": (
        "check_linear", {"linear": (('self.grads["b"] += dout.sum(axis=0)',
                                     'self.grads["b"] = dout'),)}, "linear_db_not_summed"),
    "Linear forward without the transpose": (
        "check_linear", {"linear": (('x @ self.params["w"].T', 'x @ self.params["w"]'),)},
        "linear_forward_not_transposed"),
    "Conv ignores pad": (
        "check_conv", {"conv": (("xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))",
                                 "xpad = x"),)}, "layer_conv_pad_ignored"),
    "Conv dx keeps the padding": (
        "check_conv", {"conv": (("return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]",
                                 "return dxpad"),)}, "dx_not_cropped"),
    "Conv flips the kernels": (
        "check_conv", {"conv": (('w, b, p = self.params["w"], self.params["b"], self.pad',
                                 'w, b, p = self.params["w"][:, :, ::-1, ::-1], '
                                 'self.params["b"], self.pad'),)}, "conv_flipped"),
    "Conv forgets the bias": (
        "check_conv", {"conv": (("+ b[None, :, None, None]", ""),)}, "conv_bias_missing"),
    "Conv db per example": (
        "check_conv", {"conv": (('self.grads["b"] += dout.sum(axis=(0, 2, 3))',
                                 'self.grads["b"] = dout.sum(axis=(2, 3))'),)}, "db_axes"),
    "MaxPool gradient to every entry": (
        "check_maxpool", {"maxpool": (("dx = self.mask * dout[:, :, :, None, :, None]",
                                       "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, "
                                       "None]"),)}, "maxgrad_to_window"),
    "MaxPool gradient averaged": (
        "check_maxpool", {"maxpool": (("dx = self.mask * dout[:, :, :, None, :, None]",
                                       "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, "
                                       "None] / k ** 2"),)}, "maxgrad_averaged"),
    "MaxPool averages": (
        "check_maxpool", {"maxpool": (("out = windows.max(axis=(3, 5))",
                                       "out = windows.mean(axis=(3, 5))"),)},
        "maxpool_forward_average"),
    "loss summed over the batch": (
        "check_softmax_cross_entropy", {"softmax_cross_entropy": (
            SUM, ("return loss, dscores / N", "return loss, dscores"))}, "loss_not_averaged"),
    "loss gradient without the one-hot": (
        "check_softmax_cross_entropy", {"softmax_cross_entropy": (
            ("dscores[np.arange(N), y] -= 1", "pass"),)}, "loss_grad_no_onehot"),
    "train_step never zeroes": (
        "check_train_step", {"train_step": (("    model.zero_grad()\n", ""),)},
        "train_forgot_zero_grad"),
    "train_step climbs": (
        "check_train_step", {"train_step": (("p -= lr * g", "p += lr * g"),)},
        "train_gradient_ascent"),
    "train_step rebinds": (
        "check_train_step", {"train_step": (("p -= lr * g", "p = p - lr * g"),)},
        "train_params_unchanged"),
    "build_cnn draws the linear weights first": (
        "check_build_cnn", {"build_cnn": (
            ("w1 = init_uniform(rng, (16, 1, 3, 3))\n    w2 = init_uniform(rng, (10, 64))",
             "w2 = init_uniform(rng, (10, 64))\n    w1 = init_uniform(rng, (16, 1, 3, 3))"),)},
        "build_init_order"),
    "build_cnn draws the biases": (
        "check_build_cnn", {"build_cnn": (
            ("w1 = init_uniform(rng, (16, 1, 3, 3))\n    w2 = init_uniform(rng, (10, 64))",
             "w1 = init_uniform(rng, (16, 1, 3, 3))\n    b1 = init_uniform(rng, (16,))\n"
             "    w2 = init_uniform(rng, (10, 64))\n    b2 = init_uniform(rng, (10,))"),
            ("np.zeros(16)", "b1"), ("np.zeros(10)", "b2"))}, "build_random_bias"),
    "shuffle_pixels inverted": (
        "check_shuffle_pixels", {"shuffle_pixels": (
            ("return x.reshape(N, C, H * W)[:, :, perm].reshape(N, C, H, W)",
             "out = np.empty((N, C, H * W))\n    out[:, :, perm] = x.reshape(N, C, H * W)\n"
             "    return out.reshape(N, C, H, W)"),)}, "shuffle_inverse"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, edits, hint = MISTAKES[mistake]
    fn = _namespace(edits)[STUDENT[name]]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, edits, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(_namespace(edits)[STUDENT[name]], None).failing


def test_the_lab_gives_the_code_the_checks_assume():
    given = _namespace()
    a = given["init_uniform"](np.random.default_rng(3), (4, 2, 3))
    np.testing.assert_array_equal(a, lab05.init_uniform(np.random.default_rng(3), (4, 2, 3)))
    for module in (given, vars(lab05)):
        model = module["Sequential"](lab05.linear_layer(np.ones((2, 3)), np.zeros(2)))
        model.backward(model.forward(np.ones((1, 3))))
        assert [g.sum() for _, g in model.parameters()] == [18.0, 6.0]
        model.zero_grad()
        assert [g.sum() for _, g in model.parameters()] == [0.0, 0.0]
    assert f"np.random.default_rng({lab05.PERM_SEED}).permutation(64)" in CELLS["experiment"].source
    data = _namespace(run=("data",))
    for name, part in zip(("x_train", "x_test", "y_train", "y_test"), lab05.digits_split(),
                          strict=True):
        np.testing.assert_array_equal(data[name], part)


def test_the_trained_solution_earns_every_point(trained):
    assert lab05.heldout_accuracy(lab05.cnn_logits, lab05.flat_parameters(trained["cnn"])) >= 0.95
    for name, model in (("check_cnn_accuracy", trained["cnn"]),
                        ("check_shuffle_experiment", trained["models"])):
        ev = CHECKS[name].evaluate(model, HIDDEN[name].seed)
        assert not ev.failing, [ev.verdicts[i].problem for i in ev.failing]


def test_the_shuffle_hurts_the_cnn_and_not_the_mlp(trained):
    values = lab05.record_experiment(trained["models"], "cnn")
    acc = lab05.experiment_accuracies(values)
    assert acc["cnn"] - acc["cnn_shuffled"] >= 0.02
    assert abs(acc["mlp"] - acc["mlp_shuffled"]) <= 0.01


def _replay(name: str, value) -> tuple[int, int]:
    """The grader's verdict on a record holding ``value`` for every case."""
    return CHECKS[name].replay(HIDDEN[name].seed, [describe(value)] * 4)


def test_a_record_earns_only_what_its_parameters_classify(trained):
    good = lab05.flat_parameters(trained["cnn"])
    assert _replay("check_cnn_accuracy", good) == (4, 4)
    rng = np.random.default_rng(0)
    assert _replay("check_cnn_accuracy", rng.normal(size=good.size))[0] <= 1
    assert _replay("check_cnn_accuracy", np.zeros(good.size)) == (0, 4)
    assert _replay("check_cnn_accuracy", good[:-1]) == (0, 4)
    assert _replay("check_cnn_accuracy", np.full(good.size, np.nan)) == (0, 4)


@pytest.mark.parametrize(("model", "hint", "problem"), [
    ("untrained", "accuracy_near_chance", "held-out digits), below 0.5"),
    ("diverged", "accuracy_near_chance", "contain NaN or infinity: training diverged"),
    ("half-trained", "accuracy_low", "held-out digits), below"),
])
def test_a_poor_network_gets_the_hint_that_fits(trained, model, hint, problem, capsys):
    cnn = SOL["build_cnn"](np.random.default_rng(1))
    if model == "diverged":
        cnn.layers[0].params["w"][0, 0, 0, 0] = np.nan
    if model == "half-trained":
        with contextlib.redirect_stdout(io.StringIO()):
            trained["fit"](cnn, trained["x_train"], trained["y_train"], epochs=1, lr=0.05)
    call = HIDDEN["check_cnn_accuracy"]
    earned = lab05.check_cnn_accuracy(cnn, seed=call.seed, points=call.points)
    out = capsys.readouterr().out
    assert earned < call.points and "Hint: " + HINTS[hint] in out and problem in out, out


def test_a_network_of_another_shape_is_named(capsys):
    model = SOL["Sequential"](SOL["Conv"](np.zeros((8, 1, 3, 3)), np.zeros(8), 1),
                              SOL["Flatten"](), SOL["Linear"](np.zeros((10, 512)), np.zeros(10)))
    assert lab05.check_cnn_accuracy(model, seed=1, points=4) == 0
    assert "has 5210 parameters; the lab's network has 810" in capsys.readouterr().out


def test_a_cell_that_did_not_run_is_explained(capsys):
    assert lab05.check_cnn_accuracy(None, seed=1, points=4) == 0
    assert lab05.check_shuffle_experiment(None, seed=1, points=2) == 0
    out = capsys.readouterr().out
    assert "cnn is None: the cells above it did not run" in out
    assert "models is None: the cells above it did not run" in out


def test_mixed_up_models_fail_the_claims_with_a_hint(trained, capsys):
    models = dict(trained["models"], cnn_shuffled=trained["cnn"],
                  mlp_shuffled=trained["models"]["mlp"])
    call = HIDDEN["check_shuffle_experiment"]
    assert lab05.check_shuffle_experiment(models, seed=call.seed, points=call.points) == 0
    out = capsys.readouterr().out
    assert "Hint: " + HINTS["shuffle_models_mixed_up"] in out
    assert "cnn_shuffled  " in out  # the grader's table of accuracies
    untrained = SOL["build_cnn"](np.random.default_rng(1))
    wrong_keys = {"cnn": untrained}
    assert lab05.check_shuffle_experiment(wrong_keys, seed=1, points=2) == 0
    assert "pass a dictionary with the keys" in capsys.readouterr().out
