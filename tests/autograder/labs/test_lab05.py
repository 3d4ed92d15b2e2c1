"""lab05_train_cnn's own tests, beside the shared suite: the hidden cases ask for every part of a
layer, the lab gives the code the checks assume, and the trained models (the notebook's data,
train and experiment cells run on the solution, once for this module) are judged by what they
classify, with the hint that fits a poor or mixed-up model; the graded notebooks say why."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from lab_cases import assert_judged_on_its_own
from lab_cases.lab05 import BUILDS_ON
from lab_suite import grade_id, graded_course, hidden_calls, notebook, solution
from lab_table import lab

from autograder.checks import lab05
from autograder.checks.compare import describe
from autograder.checks.hints import HINTS
from autograder.checks.lab05 import given

LAB = lab("lab05")
TRAINING = ("data", "train", "experiment")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(LAB, tmp_path_factory)


@pytest.fixture(scope="module")
def trained() -> dict:
    """The solution's namespace after the notebook's data, train and experiment cells: ``cnn``,
    ``models`` (the four networks of the experiment), ``fit``, the data."""
    namespace = dict(solution(LAB))
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in notebook(LAB).cells:
            if grade_id(cell) in TRAINING:
                exec(cell.source, namespace)  # noqa: S102 - the instructor's own notebook
    return namespace


def _call(name: str):
    return hidden_calls(LAB)[name]


# --- The hidden cases -------------------------------------------------------------------------

PARTS = {"check_relu": {"out", "dx"}, "check_flatten": {"out", "dx"},
         "check_maxpool": {"out", "dx"}, "check_softmax_cross_entropy": {"loss", "dscores"},
         "check_train_step": {"params", "loss"}}


@pytest.mark.parametrize("name", ["check_relu", "check_flatten", "check_linear", "check_conv",
                                  "check_maxpool", "check_softmax_cross_entropy",
                                  "check_train_step"])
def test_the_hidden_cases_ask_for_every_part(name):
    parts = {case.part for case in LAB.checks[name].cases(_call(name).seed)}
    assert parts == PARTS.get(name, set(lab05.LAYER_PARTS))


def test_the_hidden_conv_cases_pad_in_the_forward_and_the_backward_pass():
    padded = {case.part for case in lab05.check_conv.cases(_call("check_conv").seed)
              if case.args[0][2] > 0}
    assert {"out", "dx"} <= padded


def test_the_lab_gives_the_code_the_checks_assume():
    notebooks = solution(LAB)
    a = notebooks["init_uniform"](np.random.default_rng(3), (4, 2, 3))
    np.testing.assert_array_equal(a, lab05.init_uniform(np.random.default_rng(3), (4, 2, 3)))
    for sequential in (notebooks["Sequential"], given.Sequential):
        model = sequential(lab05.linear_layer(np.ones((2, 3)), np.zeros(2)))
        model.backward(model.forward(np.ones((1, 3))))
        assert [g.sum() for _, g in model.parameters()] == [18.0, 6.0]
        model.zero_grad()
        assert [g.sum() for _, g in model.parameters()] == [0.0, 0.0]
    experiment = next(c for c in notebook(LAB).cells if grade_id(c) == "experiment").source
    assert f"np.random.default_rng({lab05.PERM_SEED}).permutation(64)" in experiment
    data = dict(notebooks)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(next(c for c in notebook(LAB).cells if grade_id(c) == "data").source, data)  # noqa: S102
    for name, part in zip(("x_train", "x_test", "y_train", "y_test"), lab05.digits_split(),
                          strict=True):
        np.testing.assert_array_equal(data[name], part)


# --- The trained models -----------------------------------------------------------------------

def test_the_trained_solution_earns_every_point(trained):
    grader = lab05.heldout_accuracy(lab05.cnn_logits, lab05.flat_parameters(trained["cnn"]))
    own = trained["accuracy"](trained["cnn"], trained["x_test"], trained["y_test"])
    assert grader >= 0.95 and grader == pytest.approx(own, abs=1 / len(trained["y_test"]))
    for name, model in (("check_cnn_accuracy", trained["cnn"]),
                        ("check_shuffle_experiment", trained["models"])):
        ev = LAB.checks[name].evaluate(model, _call(name).seed)
        assert not ev.failing, [ev.verdicts[i].problem for i in ev.failing]


def test_the_shuffle_hurts_the_cnn_and_not_the_mlp(trained):
    models = trained["models"]
    acc = lab05.experiment_accuracies(lab05.record_experiment(models, "cnn"))
    assert acc["cnn"] - acc["cnn_shuffled"] >= 0.02
    assert abs(acc["mlp"] - acc["mlp_shuffled"]) <= 0.01
    x_test = {False: trained["x_test"], True: trained["x_test_shuffled"]}
    for key, model in models.items():  # the grader measures what the network itself classifies
        own = trained["accuracy"](model, x_test[key.endswith("shuffled")], trained["y_test"])
        assert acc[key] == pytest.approx(own, abs=1 / len(trained["y_test"])), key


def _replay(name: str, value) -> tuple[int, int]:
    """The grader's verdict on a record holding ``value`` for every case."""
    return LAB.checks[name].replay(_call(name).seed, [describe(value)] * 4)


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
    cnn = solution(LAB)["build_cnn"](np.random.default_rng(1))
    if model == "diverged":
        cnn.layers[0].params["w"][0, 0, 0, 0] = np.nan
    if model == "half-trained":
        with contextlib.redirect_stdout(io.StringIO()):
            trained["fit"](cnn, trained["x_train"], trained["y_train"], epochs=1, lr=0.05)
    call = _call("check_cnn_accuracy")
    earned = lab05.check_cnn_accuracy(cnn, seed=call.seed, points=call.points)
    out = capsys.readouterr().out
    assert earned < call.points and "Hint: " + HINTS[hint] in out and problem in out, out


def test_a_network_of_another_shape_is_named(capsys):
    sol = solution(LAB)
    model = sol["Sequential"](sol["Conv"](np.zeros((8, 1, 3, 3)), np.zeros(8), 1),
                              sol["Flatten"](), sol["Linear"](np.zeros((10, 512)), np.zeros(10)))
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
    call = _call("check_shuffle_experiment")
    assert lab05.check_shuffle_experiment(models, seed=call.seed, points=call.points) == 0
    out = capsys.readouterr().out
    assert "Hint: " + HINTS["shuffle_models_mixed_up"] in out
    assert "cnn_shuffled  " in out  # the grader's table of accuracies
    untrained = solution(LAB)["build_cnn"](np.random.default_rng(1))
    assert lab05.check_shuffle_experiment({"cnn": untrained}, seed=1, points=2) == 0
    assert "pass a dictionary with the keys" in capsys.readouterr().out


# --- The graded notebooks ---------------------------------------------------------------------

def test_the_graded_solution_earns_the_accuracy_points_from_the_grader(course):
    assert "all 4 cases pass: 4 of 4 points" in course.cell_text("solution",
                                                                 "hidden_cnn_accuracy")


def test_the_released_notebook_says_what_is_missing(course):
    assert "cnn is None" in course.cell_text("blank", "hidden_cnn_accuracy")


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])
