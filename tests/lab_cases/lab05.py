"""lab05_train_cnn's wrong solutions for the lab test suite (``tests/lab_table.py``): classic
mistakes of the layers, the loss, the SGD step, build_cnn and shuffle_pixels against each check,
and wrong students for nbgrader, each made by editing the notebook's solution as a student would.
The students train their networks in nbgrader, so a mistake can cost the trained models' points
too."""

from __future__ import annotations

from lab_suite import edited_solution

LAB = "lab05_train_cnn"


def _wrong(name: str, **edits: list[tuple[str, str]]):
    """The solution's ``name`` (a layer class or a function) with ``edits``: {solution cell:
    [(solution text, the student's text), ...]}."""
    return edited_solution(LAB, name, edits)


RELU_BACKWARD = "return dout * (self.x > 0)"
POOL_BACKWARD = "dx = self.mask * dout[:, :, :, None, :, None]"
LINEAR_DW = 'self.grads["w"] += dout.T @ self.x'
CONV_DX = "return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]"
LOSS_MEAN = "loss = -log_p[np.arange(N), y].mean()"
LOSS_SUM = [(LOSS_MEAN, "loss = -log_p[np.arange(N), y].sum()"),
            ("return loss, dscores / N", "return loss, dscores")]
NO_ZERO_GRAD = [("    model.zero_grad()\n", "")]
W1, W2 = "w1 = init_uniform(rng, (16, 1, 3, 3))", "w2 = init_uniform(rng, (10, 64))"
DRAWS = f"{W1}\n    {W2}"
SHUFFLE = "return x.reshape(N, C, H * W)[:, :, perm].reshape(N, C, H, W)"
SHUFFLE_INVERSE = [(SHUFFLE, "out = np.empty((N, C, H * W))\n"
                             "    out[:, :, perm] = x.reshape(N, C, H * W)\n"
                             "    return out.reshape(N, C, H, W)")]

MISTAKES = {
    "ReLU passes every gradient": (
        "check_relu", _wrong("ReLU", relu=[(RELU_BACKWARD, "return dout")]),
        "relu_backward_negative"),
    "ReLU masks with dout": (
        "check_relu", _wrong("ReLU", relu=[(RELU_BACKWARD, "return dout * (dout > 0)")]),
        "relu_backward_of_dout"),
    "Flatten backward keeps the rows": (
        "check_flatten", _wrong("Flatten", flatten=[
            ("return dout.reshape(self.shape)", "return dout")]), "flatten_backward_shape"),
    "Flatten flattens the batch": (
        "check_flatten", _wrong("Flatten", flatten=[
            ("return x.reshape(x.shape[0], -1)", "return x.reshape(-1)")]),
        "flatten_batch_axis"),
    "Linear dw transposed": (
        "check_linear", _wrong("Linear", linear=[(LINEAR_DW, 'self.grads["w"] = self.x.T @ dout')]),
        "linear_dw_transposed"),
    "Linear db not summed": (
        "check_linear", _wrong("Linear", linear=[
            ('self.grads["b"] += dout.sum(axis=0)', 'self.grads["b"] = dout')]),
        "linear_db_not_summed"),
    "Linear forward without the transpose": (
        "check_linear", _wrong("Linear", linear=[
            ('x @ self.params["w"].T', 'x @ self.params["w"]')]),
        "linear_forward_not_transposed"),
    "Conv ignores pad": (
        "check_conv", _wrong("Conv", conv=[
            ("xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))", "xpad = x")]),
        "layer_conv_pad_ignored"),
    "Conv dx keeps the padding": (
        "check_conv", _wrong("Conv", conv=[(CONV_DX, "return dxpad")]), "dx_not_cropped"),
    "Conv flips the kernels": (
        "check_conv", _wrong("Conv", conv=[
            ('w, b, p = self.params["w"], self.params["b"], self.pad',
             'w, b, p = self.params["w"][:, :, ::-1, ::-1], self.params["b"], self.pad')]),
        "conv_flipped"),
    "Conv forgets the bias": (
        "check_conv", _wrong("Conv", conv=[("+ b[None, :, None, None]", "")]),
        "conv_bias_missing"),
    "Conv db per example": (
        "check_conv", _wrong("Conv", conv=[
            ('self.grads["b"] += dout.sum(axis=(0, 2, 3))',
             'self.grads["b"] = dout.sum(axis=(2, 3))')]), "db_axes"),
    "MaxPool gradient to every entry": (
        "check_maxpool", _wrong("MaxPool", maxpool=[
            (POOL_BACKWARD, "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, None]")]),
        "maxgrad_to_window"),
    "MaxPool gradient averaged": (
        "check_maxpool", _wrong("MaxPool", maxpool=[
            (POOL_BACKWARD,
             "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, None] / k ** 2")]),
        "maxgrad_averaged"),
    "MaxPool averages": (
        "check_maxpool", _wrong("MaxPool", maxpool=[
            ("out = windows.max(axis=(3, 5))", "out = windows.mean(axis=(3, 5))")]),
        "maxpool_forward_average"),
    "loss summed over the batch": (
        "check_softmax_cross_entropy",
        _wrong("softmax_cross_entropy", softmax_cross_entropy=LOSS_SUM), "loss_not_averaged"),
    "loss gradient without the one-hot": (
        "check_softmax_cross_entropy", _wrong("softmax_cross_entropy", softmax_cross_entropy=[
            ("dscores[np.arange(N), y] -= 1", "pass")]), "loss_grad_no_onehot"),
    "train_step never zeroes": (
        "check_train_step", _wrong("train_step", train_step=NO_ZERO_GRAD),
        "train_forgot_zero_grad"),
    "train_step climbs": (
        "check_train_step", _wrong("train_step", train_step=[("p -= lr * g", "p += lr * g")]),
        "train_gradient_ascent"),
    "train_step rebinds": (
        "check_train_step", _wrong("train_step", train_step=[("p -= lr * g", "p = p - lr * g")]),
        "train_params_unchanged"),
    "build_cnn draws the linear weights first": (
        "check_build_cnn", _wrong("build_cnn", build_cnn=[
            (DRAWS, f"{W2}\n    {W1}")]),
        "build_init_order"),
    "build_cnn draws the biases": (
        "check_build_cnn", _wrong("build_cnn", build_cnn=[
            (DRAWS, f"{W1}\n    b1 = init_uniform(rng, (16,))\n"
                    f"    {W2}\n    b2 = init_uniform(rng, (10,))"),
            ("np.zeros(16)", "b1"), ("np.zeros(10)", "b2")]), "build_random_bias"),
    "shuffle_pixels inverted": (
        "check_shuffle_pixels", _wrong("shuffle_pixels", shuffle_pixels=SHUFFLE_INVERSE),
        "shuffle_inverse"),
}

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show, or None: it loses points, whatever the hint}, test cells that may lose points or
# keep them). Other test cells keep full marks.
STUDENTS = {
    # ReLU's gradient flows everywhere, max pooling's to the whole window. The network still
    # trains, a little worse, so the accuracy may lose a point or keep them all.
    "relu_and_pool": (
        {"relu": [(RELU_BACKWARD, "return dout")],
         "maxpool": [(POOL_BACKWARD,
                      "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, None]")]},
        {"hidden_relu": "relu_backward_negative", "hidden_maxpool": "maxgrad_to_window"},
        ("hidden_cnn_accuracy", "hidden_shuffle_experiment")),
    # dw = x.T @ dout has the shape (D, M): the update p -= lr * g fails, the CNN stays as drawn.
    "linear_dw_transposed": (
        {"linear": [(LINEAR_DW, 'self.grads["w"] = self.x.T @ dout')]},
        {"hidden_linear": "linear_dw_transposed", "hidden_cnn_accuracy": "accuracy_near_chance",
         "hidden_shuffle_experiment": None}),
    # A summed loss makes every step 32 times too large, and gradients pile up from step to
    # step: training diverges.
    "loss_summed_no_zero_grad": (
        {"softmax_cross_entropy": LOSS_SUM, "train_step": NO_ZERO_GRAD},
        {"hidden_softmax_cross_entropy": "loss_not_averaged",
         "hidden_train_step": "train_forgot_zero_grad",
         "hidden_cnn_accuracy": "accuracy_near_chance", "hidden_shuffle_experiment": None}),
    # dx keeps the padding (harmless in the first layer, so the network trains), and the
    # shuffle is inverted: the shuffled models never saw the test digits' shuffle.
    "uncropped_and_inverse_shuffle": (
        {"conv": [(CONV_DX, "return dxpad")], "shuffle_pixels": SHUFFLE_INVERSE},
        {"hidden_conv": "dx_not_cropped", "hidden_shuffle_pixels": "shuffle_inverse",
         "hidden_shuffle_experiment": "shuffle_models_mixed_up"}),
}

# build_cnn of the student's layers and train_step calling the loss by name, by check (None:
# the solution's cell), for lab_cases.assert_judged_on_its_own.
STEP_BY_NAME = """\
def train_step(model, loss_fn, x, y, lr):
    loss, dscores = softmax_cross_entropy(model.forward(x), y)
    model.zero_grad()
    model.backward(dscores)
    for p, g in model.parameters():
        p -= lr * g
    return loss
"""
BUILDS_ON = {"check_build_cnn": [None], "check_train_step": [STEP_BY_NAME]}

CASES = {"students": STUDENTS, "mistakes": MISTAKES}
