"""lab05 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes, each made by editing the
solution as a student would. Every submission trains its networks, so the training cells' cost
is paid six times here. Then :func:`autograder.rescore.rescore_notebook` is compared with
nbgrader's gradebook.
"""

from __future__ import annotations

import pytest
from nbgrader_course import (
    assert_hidden_cells_quiet,
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    autograded_course,
)

LAB = "lab05_train_cnn"
MAX = {"hidden_relu": 2, "hidden_flatten": 1, "hidden_linear": 3, "hidden_conv": 5,
       "hidden_maxpool": 3, "hidden_softmax_cross_entropy": 3, "hidden_train_step": 3,
       "hidden_build_cnn": 2, "hidden_cnn_accuracy": 4, "hidden_shuffle_pixels": 2,
       "hidden_shuffle_experiment": 2}

SHUFFLE = "    return x.reshape(N, C, H * W)[:, :, perm].reshape(N, C, H, W)"
SHUFFLE_INVERSE = ("    out = np.empty((N, C, H * W))\n"
                   "    out[:, :, perm] = x.reshape(N, C, H * W)\n"
                   "    return out.reshape(N, C, H, W)")

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show, or None: it loses points, whatever the hint}, test cells that may lose points or
# keep them). Other test cells keep full marks.
WRONG = {
    # ReLU's gradient flows everywhere, max pooling's to the whole window. The network still
    # trains, a little worse, so the accuracy may lose a point or keep them all.
    "relu_and_pool": (
        {"relu": [("        return dout * (self.x > 0)", "        return dout")],
         "maxpool": [("dx = self.mask * dout[:, :, :, None, :, None]",
                      "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, None]")]},
        {"hidden_relu": "relu_backward_negative", "hidden_maxpool": "maxgrad_to_window"},
        {"hidden_cnn_accuracy", "hidden_shuffle_experiment"}),
    # dw = x.T @ dout has the shape (D, M): the update p -= lr * g fails, the CNN stays as drawn.
    "linear_dw_transposed": (
        {"linear": [('self.grads["w"] += dout.T @ self.x', 'self.grads["w"] = self.x.T @ dout')]},
        {"hidden_linear": "linear_dw_transposed", "hidden_cnn_accuracy": "accuracy_near_chance",
         "hidden_shuffle_experiment": None},
        set()),
    # A summed loss makes every step 32 times too large, and gradients pile up from step to
    # step: training diverges.
    "loss_summed_no_zero_grad": (
        {"softmax_cross_entropy": [
            ("loss = -log_p[np.arange(N), y].mean()", "loss = -log_p[np.arange(N), y].sum()"),
            ("return loss, dscores / N", "return loss, dscores")],
         "train_step": [("    model.zero_grad()\n", "")]},
        {"hidden_softmax_cross_entropy": "loss_not_averaged",
         "hidden_train_step": "train_forgot_zero_grad",
         "hidden_cnn_accuracy": "accuracy_near_chance", "hidden_shuffle_experiment": None},
        set()),
    # dx keeps the padding (harmless in the first layer, so the network trains), and the
    # shuffle is inverted: the shuffled models never saw the test digits' shuffle.
    "uncropped_and_inverse_shuffle": (
        {"conv": [("        return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]",
                   "        return dxpad")],
         "shuffle_pixels": [(SHUFFLE, SHUFFLE_INVERSE)]},
        {"hidden_conv": "dx_not_cropped", "hidden_shuffle_pixels": "shuffle_inverse",
         "hidden_shuffle_experiment": "shuffle_models_mixed_up"},
        set()),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_solution_scores_full_marks(course):
    assert course.score("solution") == MAX
    assert sum(MAX.values()) == 30
    assert "all 4 cases pass: 4 of 4 points" in course.cell_text(
        "solution", "hidden_cnn_accuracy")


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in course.cell_text("blank", "hidden_conv")
    assert "cnn is None" in course.cell_text("blank", "hidden_cnn_accuracy")


def test_no_hidden_test_cell_errors_or_writes_to_stderr(course):
    assert_hidden_cells_quiet(course, ("solution", "blank", *WRONG), MAX)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    assert_mistakes_lose_points(course, student, MAX, *WRONG[student][1:])


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, MAX)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), MAX)
