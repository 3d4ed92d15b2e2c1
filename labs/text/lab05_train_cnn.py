# Lab 5 in text form: the source of labs/source/lab05_train_cnn/lab05_train_cnn.ipynb.
# Edit this file, then run `python -m autograder.build lab05_train_cnn` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 5: train your own CNN
#
# In the earlier labs you wrote convolution and pooling as functions. Here they become
# *layers*: small objects with a `forward` that computes the output and a `backward` that
# sends the gradient back. Stacked as conv → ReLU → max-pool → linear, with a loss and one
# step of gradient descent, they make a convolutional network that you train yourself, in a
# few seconds, to read real handwritten digits. Then you test the claim that opened the course:
# an MLP does not care where the pixels are, a CNN does. Shuffle the pixels of every image the
# same way and see which of the two notices.
#
# **Reading.** The book's chapter *Why convolutions* (`01_why_convolutions`): MLPs on images,
# locality, and the pixel-shuffle argument. The chapter *Backpropagation* (`06_backprop`): the
# gradients of convolution and pooling. The chapter *Architectures* (`09_architectures`): a
# LeNet-style network on the digits, layer by layer.
#
# **Letters.** Images come in batches `x` of shape `(N, C, H, W)`: N examples, C channels, H
# rows, W columns. A convolution's weights `w` are `(F, C, KH, KW)`, one kernel per output
# channel, and its output is `(N, F, H_out, W_out)`. A linear layer maps `x (N, D)` to
# `out (N, M)` with weights `w (M, D)` (one row per output feature, as in PyTorch). `dout` is
# the gradient of the loss with respect to a layer's output; `dx` the one with respect to its
# input.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `ReLU`: forward and backward | 2 |
# | 2 | `Flatten`: forward and backward | 1 |
# | 3 | `Linear(w, b)`: forward, backward and the gradients of `w` and `b` | 3 |
# | 4 | `Conv(w, b, pad)`: forward, backward and the gradients of `w` and `b` | 5 |
# | 5 | `MaxPool(k)`: forward and backward | 3 |
# | 6 | `softmax_cross_entropy(scores, y)`: the loss and its gradient | 3 |
# | 7 | `train_step(model, loss_fn, x, y, lr)`: one step of gradient descent | 3 |
# | 8 | `build_cnn(rng)`: the network | 2 |
# | 9 | training: the test accuracy of your trained CNN | 4 |
# | 10 | `shuffle_pixels(x, perm)`: the same shuffle for every image | 2 |
# | 11 | the pixel-shuffle experiment: MLP against CNN | 2 |
#
# **Total: 30 points.**
#
# **How it is graded.** Below each part is a *visible test*: run it. It tries a few small cases,
# prints a report (the smallest failing case, expected against got, the largest error and a hint)
# and fails if a case is wrong. When your lab is graded, *hidden tests* run the same comparison
# on random sizes and give partial credit: the part's points times the fraction of cases it gets
# right, rounded down to half a point. A layer's case builds a fresh layer, runs `forward` on
# `x` and, for a backward case, `backward` on `dout`, then compares one quantity: the output,
# `dx`, `grads["w"]` or `grads["b"]`. A result counts as right when it is a `np.ndarray` of the
# shape in the docstring, of dtype `float64` like the inputs, with no NaN or infinity, and every
# entry within `1e-9 + 1e-6 * |expected|` of the reference.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# Parts 9 and 11 grade what you trained, not a number you print: the grader takes the
# parameters of your models, rebuilds the networks with the course's own code and measures their
# accuracy on the held-out digits itself.
#
# The whole notebook runs in well under a minute (the training cells take a few seconds) if your
# layers loop over kernel offsets rather than over pixels; part 4 shows how.
#
# Rules: keep the names and signatures; do not delete or copy cells; write the layers yourself
# with NumPy: not with `convnb` (except the data helpers the setup cell imports) or PyTorch,
# which are what your answers are compared with, nor with SciPy, another deep-learning library,
# `np.convolve` or `np.correlate`. The checks watch what your code calls: such a call scores
# that part 0 and is shown to the instructor.
# Printing or warnings inside your code cost nothing.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab05_train_cnn.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import time

import numpy as np

from autograder.checks.lab05 import (
    check_build_cnn,
    check_cnn_accuracy,
    check_conv,
    check_flatten,
    check_linear,
    check_maxpool,
    check_relu,
    check_shuffle_experiment,
    check_shuffle_pixels,
    check_softmax_cross_entropy,
    check_train_step,
)
from convnb.data import batches, load_digits, train_test_split

# %% [markdown] id=framework locked
# ## The framework you build on (given)
#
# Every layer derives from `Layer`. Its learned arrays live in the dictionary `self.params`
# (`"w"` and `"b"`), their gradients in `self.grads`, under the same names and with the same
# shapes, zero to start with. The contract of every layer:
#
# * `forward(x)` returns the output and keeps in `self` whatever `backward` will need (the
#   input, a mask, a shape).
# * `backward(dout)` returns `dx`, of the shape of `x`, and **adds** (`+=`) the gradient of each
#   parameter to `self.grads[name]`. Gradients accumulate, as in PyTorch, so a training step
#   must set them back to zero before each backward pass (`Sequential.zero_grad`).
#
# `Sequential` chains layers: `forward` runs them in order, `backward` in reverse, and
# `parameters()` lists every `(parameter, gradient)` pair, which is what gradient descent needs.
# `init_uniform` draws initial weights the way PyTorch does.

# %% id=given locked
class Layer:
    """Base class: learned arrays in self.params, their gradients in self.grads (same names,
    same shapes, zero at first)."""

    def __init__(self, **params):
        self.params = params
        self.grads = {name: np.zeros_like(p) for name, p in params.items()}

    def forward(self, x):
        raise NotImplementedError()

    def backward(self, dout):
        raise NotImplementedError()


class Sequential:
    """Layers applied one after the other; backward runs them in reverse order."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def zero_grad(self):
        """Set every gradient to zero, in place."""
        for layer in self.layers:
            for g in layer.grads.values():
                g[...] = 0

    def parameters(self):
        """Every (parameter, gradient) pair, layer by layer, w before b."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]


def init_uniform(rng, shape):
    """Initial weights as PyTorch draws them: uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)],
    where fan_in = prod(shape[1:]) is the number of inputs each output sees."""
    bound = 1 / np.sqrt(np.prod(shape[1:]))
    return rng.uniform(-bound, bound, size=shape)

# %% [markdown] id=part1 locked
# ## Part 1: ReLU (2 points)
#
# `ReLU` computes `max(0, x)` entry by entry. Its backward pass lets the gradient through where
# the input was positive and blocks it elsewhere: where `x < 0` the output is the constant 0, and
# nudging `x` changes nothing, so
#
# $$dx = dout \odot [x > 0].$$
#
# Keep what you need in `forward` (the input, or the mask `x > 0`). ReLU has no parameters. The
# tests never put an exact 0 into `x`, where the gradient is a matter of convention.

# %% id=relu solution
class ReLU(Layer):
    """Elementwise max(0, x).

    Shapes: x (any shape) -> out (same shape); dout (same) -> dx (same)
    """

    def forward(self, x):
        ### BEGIN SOLUTION
        self.x = x
        return np.maximum(x, 0)
        ### END SOLUTION

    def backward(self, dout):
        ### BEGIN SOLUTION
        return dout * (self.x > 0)
        ### END SOLUTION

# %% id=test_relu locked
check_relu(ReLU)

# %% id=hidden_relu tests
# Hidden tests (2 points): ReLU on random arrays, forward and backward.
### BEGIN HIDDEN TESTS
check_relu(ReLU, seed=1501, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: Flatten (1 point)
#
# Convolutions and pooling produce feature maps `(N, C, H, W)`; a linear layer wants one row of
# numbers per example. `Flatten` reshapes each example's maps into a row, `(N, C*H*W)`, in
# NumPy's order (`x.reshape(N, -1)`), and its backward pass puts `dout` back into the shape
# of `x`. Nothing is computed, so nothing else changes.

# %% id=flatten solution
class Flatten(Layer):
    """Each example's feature maps as one row.

    Shapes: x (N, C, H, W) -> out (N, C*H*W); dout (N, C*H*W) -> dx (N, C, H, W)
    """

    def forward(self, x):
        ### BEGIN SOLUTION
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)
        ### END SOLUTION

    def backward(self, dout):
        ### BEGIN SOLUTION
        return dout.reshape(self.shape)
        ### END SOLUTION

# %% id=test_flatten locked
check_flatten(Flatten)

# %% id=hidden_flatten tests
# Hidden tests (1 point): Flatten on random batches, forward and backward.
### BEGIN HIDDEN TESTS
check_flatten(Flatten, seed=1502, points=1)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: Linear (3 points)
#
# A fully connected layer: every output feature is a weighted sum of all input features, plus a
# bias,
#
# $$\text{out} = x\, w^\top + b, \qquad x\ (N, D),\quad w\ (M, D),\quad b\ (M,).$$
#
# For the backward pass, follow the shapes. Each gradient has the shape of what it is the
# gradient of: `dx` is `(N, D)`, `dw` is `(M, D)`, `db` is `(M,)`. Only one product of `dout`
# `(N, M)` with `w` or `x` has each of those shapes:
#
# $$dx = dout\; w, \qquad dw = dout^\top x, \qquad db = \textstyle\sum_n dout[n].$$
#
# Remember to *add* `dw` and `db` to `self.grads`.

# %% id=linear solution
class Linear(Layer):
    """Fully connected layer: out = x @ w.T + b.

    Shapes: x (N, D), w (M, D), b (M,) -> out (N, M);
    dout (N, M) -> dx (N, D), and adds dw (M, D) to grads["w"], db (M,) to grads["b"]
    """

    def __init__(self, w, b):
        super().__init__(w=w, b=b)

    def forward(self, x):
        ### BEGIN SOLUTION
        self.x = x
        return x @ self.params["w"].T + self.params["b"]
        ### END SOLUTION

    def backward(self, dout):
        ### BEGIN SOLUTION
        self.grads["w"] += dout.T @ self.x
        self.grads["b"] += dout.sum(axis=0)
        return dout @ self.params["w"]
        ### END SOLUTION

# %% id=test_linear locked
check_linear(Linear)

# %% id=hidden_linear tests
# Hidden tests (3 points): Linear on random sizes: out, dx and the gradients of w and b.
### BEGIN HIDDEN TESTS
check_linear(Linear, seed=1503, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: Conv (5 points)
#
# The convolution layer of lab 2, stride 1, with `pad` zeros around the height and the width:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c, u, v} w[f, c, u, v]\;
# x_\text{pad}[n, c, i + u, j + v],$$
#
# so `H_out = H + 2*pad - KH + 1` and `W_out = W + 2*pad - KW + 1`. The backward pass reads the
# same sum the other way (chapter *Backpropagation*): every `dout[n, f, i, j]` goes back to the
# weights and to the input pixels it was computed from,
#
# $$dw[f, c, u, v] = \sum_{n, i, j} dout[n, f, i, j]\; x_\text{pad}[n, c, i + u, j + v],
# \qquad dx_\text{pad}[n, c, i + u, j + v] \mathrel{+}= w[f, c, u, v]\; dout[n, f, i, j],$$
#
# and `db[f]` sums `dout[:, f]` over the batch and every position. `dx` is `dx_pad` without its
# border.
#
# **Make it fast enough to train.** Loops over examples and pixels are far too slow for
# training. Loop over the `KH * KW` kernel offsets `(u, v)` instead: for one offset, the slice
# `xpad[:, :, u:u + H_out, v:v + W_out]` `(N, C, H_out, W_out)` holds the pixel that offset
# meets at *every* position, and `w[:, :, u, v]` `(F, C)` is what it is multiplied by. One call
# `np.einsum("nchw,fc->nfhw", slice, w[:, :, u, v])` adds that offset's share to every output
# number; the backward pass uses the same slices.

# %% id=conv solution
class Conv(Layer):
    """Convolution layer (cross-correlation), stride 1, zero padding pad on each side.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out) with
    H_out = H + 2*pad - KH + 1 and W_out = W + 2*pad - KW + 1;
    dout (N, F, H_out, W_out) -> dx (N, C, H, W), and adds dw (F, C, KH, KW) to grads["w"],
    db (F,) to grads["b"]
    """

    def __init__(self, w, b, pad=0):
        super().__init__(w=w, b=b)
        self.pad = pad

    def forward(self, x):
        ### BEGIN SOLUTION
        w, b, p = self.params["w"], self.params["b"], self.pad
        F, C, KH, KW = w.shape
        xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        H_out, W_out = xpad.shape[2] - KH + 1, xpad.shape[3] - KW + 1
        out = np.zeros((x.shape[0], F, H_out, W_out)) + b[None, :, None, None]
        for u in range(KH):
            for v in range(KW):
                window = xpad[:, :, u:u + H_out, v:v + W_out]
                out += np.einsum("nchw,fc->nfhw", window, w[:, :, u, v])
        self.xpad = xpad
        return out
        ### END SOLUTION

    def backward(self, dout):
        ### BEGIN SOLUTION
        w, p, xpad = self.params["w"], self.pad, self.xpad
        F, C, KH, KW = w.shape
        H_out, W_out = dout.shape[2:]
        dxpad = np.zeros_like(xpad)
        for u in range(KH):
            for v in range(KW):
                window = xpad[:, :, u:u + H_out, v:v + W_out]
                self.grads["w"][:, :, u, v] += np.einsum("nfhw,nchw->fc", dout, window)
                dxpad[:, :, u:u + H_out, v:v + W_out] += np.einsum("nfhw,fc->nchw", dout,
                                                                   w[:, :, u, v])
        self.grads["b"] += dout.sum(axis=(0, 2, 3))
        return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]
        ### END SOLUTION

# %% id=test_conv locked
check_conv(Conv)

# %% id=hidden_conv tests
# Hidden tests (5 points): Conv on random batches, kernels and paddings: out, dx, dw and db.
### BEGIN HIDDEN TESTS
check_conv(Conv, seed=1504, points=5)
### END HIDDEN TESTS

# %% [markdown] id=part5 locked
# ## Part 5: MaxPool (3 points)
#
# Max pooling with a `k x k` window and stride `k`: the windows tile the image without
# overlapping, and each keeps its largest entry. The tests (and the network) use heights and
# widths that are multiples of `k`. In the backward pass only the maximum of each window
# influenced the output, so it receives all of that window's `dout`, and the other `k*k - 1`
# entries receive 0 (chapter *Backpropagation*, section "Max pooling: the gradient goes to the
# switch").
#
# A loop-free way: `x.reshape(N, C, H // k, k, W // k, k)` puts each window on axes 3 and 5;
# `.max(axis=(3, 5))` is the output, and comparing the windows with their maximum gives a mask
# of where the maxima sit. The tests avoid ties.

# %% id=maxpool solution
class MaxPool(Layer):
    """Max pooling over non-overlapping k x k windows (stride k); H and W are multiples of k.

    Shapes: x (N, C, H, W) -> out (N, C, H // k, W // k); dout (N, C, H // k, W // k)
    -> dx (N, C, H, W)
    """

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        ### BEGIN SOLUTION
        N, C, H, W = x.shape
        k = self.k
        windows = x.reshape(N, C, H // k, k, W // k, k)
        out = windows.max(axis=(3, 5))
        self.mask = windows == out[:, :, :, None, :, None]
        return out
        ### END SOLUTION

    def backward(self, dout):
        ### BEGIN SOLUTION
        N, C, rows, k, cols, _ = self.mask.shape
        dx = self.mask * dout[:, :, :, None, :, None]
        return dx.reshape(N, C, rows * k, cols * k)
        ### END SOLUTION

# %% id=test_maxpool locked
check_maxpool(MaxPool)

# %% id=hidden_maxpool tests
# Hidden tests (3 points): MaxPool on random batches and window sizes, forward and backward.
### BEGIN HIDDEN TESTS
check_maxpool(MaxPool, seed=1505, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part6 locked
# ## Part 6: the loss (3 points)
#
# The network ends with one *score* per class, `scores (N, K)`. Softmax turns each row into
# probabilities, `p[n, k] = exp(scores[n, k]) / sum_j exp(scores[n, j])`, and the loss is the
# average over the batch of minus the log-probability of the true class `y[n]`:
#
# $$\text{loss} = -\frac{1}{N} \sum_{n} \log p[n, y[n]], \qquad
# \frac{\partial\, \text{loss}}{\partial\, \text{scores}} = \frac{p - \text{onehot}(y)}{N}.$$
#
# Return both, `loss` (a float) and `dscores`. Subtracting each row's largest score before
# `np.exp` changes nothing mathematically and keeps `exp` from overflowing on large scores;
# it is good practice, though the tests use moderate scores.

# %% id=softmax_cross_entropy solution
def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy of class scores, and its gradient.

    Parameters
    ----------
    scores : np.ndarray, float64
        One score per class for each example.
    y : np.ndarray, int
        The true class of each example, in 0 .. K - 1.

    Returns
    -------
    loss : float
        -mean_n log softmax(scores[n])[y[n]].
    dscores : np.ndarray, float64
        The gradient of the loss with respect to the scores.

    Shapes: scores (N, K), y (N,) -> loss (), dscores (N, K)
    """
    ### BEGIN SOLUTION
    N = len(y)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N
    ### END SOLUTION

# %% id=test_softmax_cross_entropy locked
check_softmax_cross_entropy(softmax_cross_entropy)

# %% id=hidden_softmax_cross_entropy tests
# Hidden tests (3 points): the loss and its gradient on random scores and classes.
### BEGIN HIDDEN TESTS
check_softmax_cross_entropy(softmax_cross_entropy, seed=1506, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part7 locked
# ## Part 7: one step of gradient descent (3 points)
#
# One training step on a batch `(x, y)`: run the model forward, compute the loss and `dscores`
# with `loss_fn` (your `softmax_cross_entropy`, passed in as an argument), set the gradients to
# zero, run the model backward from `dscores`, and move every parameter a step `lr` against its
# gradient. Return the loss.
#
# Two details matter. Gradients accumulate, so `model.zero_grad()` must come before
# `model.backward(...)`. And the update must change the arrays the layers hold, *in place*:
# `p -= lr * g` does; `p = p - lr * g` makes a new array and the layer never sees it. The test
# runs your function on a small CNN of the course's own layers for a few steps and compares
# the parameters and the losses.

# %% id=train_step solution
def train_step(model, loss_fn, x, y, lr):
    """One step of stochastic gradient descent on the batch (x, y).

    Parameters
    ----------
    model : Sequential
        The network; its parameters change in place.
    loss_fn : function
        loss_fn(scores, y) -> (loss, dscores), like softmax_cross_entropy.
    x : np.ndarray, float64
        A batch of inputs.
    y : np.ndarray, int
        Their classes.
    lr : float
        The learning rate: the step is lr times the gradient.

    Returns
    -------
    float
        The batch's loss, before the step.

    Shapes: x (N, C, H, W), y (N,) -> loss ()
    """
    ### BEGIN SOLUTION
    loss, dscores = loss_fn(model.forward(x), y)
    model.zero_grad()
    model.backward(dscores)
    for p, g in model.parameters():
        p -= lr * g
    return loss
    ### END SOLUTION

# %% id=test_train_step locked
check_train_step(train_step)

# %% id=hidden_train_step tests
# Hidden tests (3 points): a few steps on small random networks: parameters and losses.
### BEGIN HIDDEN TESTS
check_train_step(train_step, seed=1507, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part8 locked
# ## Part 8: the network (2 points)
#
# Assemble a small LeNet-style network for the 8 x 8 digits (chapter *Architectures*):
#
# | layer | output shape | parameters |
# |---|---|---|
# | input | (N, 1, 8, 8) | |
# | `Conv(w1, b1, pad=1)`, 16 kernels 3 x 3 | (N, 16, 8, 8) | w1 (16, 1, 3, 3), b1 (16,) |
# | `ReLU()` | (N, 16, 8, 8) | |
# | `MaxPool(4)` | (N, 16, 2, 2) | |
# | `Flatten()` | (N, 64) | |
# | `Linear(w2, b2)` | (N, 10): one score per digit | w2 (10, 64), b2 (10,) |
#
# Draw `w1 = init_uniform(rng, (16, 1, 3, 3))` first and `w2 = init_uniform(rng, (10, 64))`
# second, and start both biases at zero. The order matters: the same `rng` then gives the same
# network as the reference, which is how the test checks it, and what makes your training
# reproducible. Count the parameters: 810, for a network that reads digits.

# %% id=build_cnn solution
def build_cnn(rng):
    """The lab's CNN: Conv(16 kernels 3 x 3, pad 1) -> ReLU -> MaxPool(4) -> Flatten -> Linear.

    Parameters
    ----------
    rng : np.random.Generator
        Draws w1, then w2, with init_uniform.

    Returns
    -------
    Sequential
        The network, of your own layers.

    Shapes: x (N, 1, 8, 8) -> scores (N, 10)
    """
    ### BEGIN SOLUTION
    w1 = init_uniform(rng, (16, 1, 3, 3))
    w2 = init_uniform(rng, (10, 64))
    return Sequential(Conv(w1, np.zeros(16), pad=1), ReLU(), MaxPool(4), Flatten(),
                      Linear(w2, np.zeros(10)))
    ### END SOLUTION

# %% id=test_build_cnn locked
check_build_cnn(build_cnn)

# %% id=hidden_build_cnn tests
# Hidden tests (2 points): build_cnn with random seeds: the initial parameters.
### BEGIN HIDDEN TESTS
check_build_cnn(build_cnn, seed=1508, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part9 locked
# ## Part 9: train it on real digits (4 points)
#
# scikit-learn's 1,797 handwritten digits: 8 x 8 images, pixels scaled to [0, 1]. A fixed
# fifth of them, 360 images, is held out: the network never trains on them, and they measure
# how well it has learned to read digits it has not seen. Do not change this cell: the grader
# measures your network on the same held-out digits, as they are here.
#
# The next cell trains your CNN: 12 passes (epochs) over the training digits in shuffled
# batches of 32, a step of `lr = 0.5` each, a few seconds in all. The mean loss should fall
# from about 2 to below 0.1 (not at every single epoch: the batches are random), and the test
# accuracy end above 0.94. The hidden test gives one point for each
# threshold the accuracy reaches: 0.5, 0.8, 0.9 and 0.94.

# %% id=data locked
x, y = load_digits(dtype=np.float64)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=0.2, seed=0)
print(f"train {x_train.shape}, test {x_test.shape}")


def fit(model, x, y, epochs, lr, batch_size=32, seed=1, verbose=True):
    """Train model with your train_step on shuffled minibatches of (x, y)."""
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        losses = [train_step(model, softmax_cross_entropy, xb, yb, lr)
                  for xb, yb in batches(x, y, batch_size, seed=rng)]
        if verbose:
            print(f"epoch {epoch:2d}: mean loss {np.mean(losses):.3f}")


def accuracy(model, x, y):
    """The fraction of x that model classifies as y."""
    return float(np.mean(model.forward(x).argmax(axis=1) == y))

# %% id=train locked
cnn = None  # stays None if build_cnn fails
start = time.perf_counter()
cnn = build_cnn(np.random.default_rng(1))
fit(cnn, x_train, y_train, epochs=12, lr=0.5)
print(f"trained in {time.perf_counter() - start:.1f} s")
print(f"train accuracy {accuracy(cnn, x_train, y_train):.3f}, "
      f"test accuracy {accuracy(cnn, x_test, y_test):.3f}")

# %% id=test_cnn_accuracy locked
check_cnn_accuracy(cnn)

# %% id=hidden_cnn_accuracy tests
# Hidden tests (4 points): the trained CNN's accuracy on the held-out digits, measured by the
# grader from its parameters.
### BEGIN HIDDEN TESTS
check_cnn_accuracy(cnn, seed=1509, points=4)
### END HIDDEN TESTS

# %% [markdown] id=part10 locked
# ## Part 10: shuffling pixels (2 points)
#
# Pick one permutation `perm` of the 64 pixel positions and apply it to every image: pixel `k`
# of a shuffled image is pixel `perm[k]` of the original, counting pixels row by row
# (`x.reshape(N, C, H * W)` lists them in that order). Every image, train and test alike, gets
# the *same* shuffle, so nothing is lost: a shuffled digit holds the same 64 numbers, only
# somewhere else. To you the result looks like noise.
#
# `shuffle_pixels` applies `perm` to the pixels of every example and every channel and returns
# images of the original shape.

# %% id=shuffle_pixels solution
def shuffle_pixels(x, perm):
    """The same permutation of pixel positions, applied to every image and channel.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of images.
    perm : np.ndarray, int
        A permutation of 0 .. H*W - 1: pixel k of the result is pixel perm[k] of the image,
        pixels counted row by row.

    Returns
    -------
    np.ndarray, float64
        out.reshape(N, C, H*W)[n, c, k] == x.reshape(N, C, H*W)[n, c, perm[k]].

    Shapes: x (N, C, H, W), perm (H*W,) -> out (N, C, H, W)
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    return x.reshape(N, C, H * W)[:, :, perm].reshape(N, C, H, W)
    ### END SOLUTION

# %% id=test_shuffle_pixels locked
check_shuffle_pixels(shuffle_pixels)

# %% id=hidden_shuffle_pixels tests
# Hidden tests (2 points): shuffle_pixels on random batches and permutations.
### BEGIN HIDDEN TESTS
check_shuffle_pixels(shuffle_pixels, seed=1510, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part11 locked
# ## Part 11: MLP against CNN on shuffled pixels (2 points)
#
# The lecture's claim: an MLP "knows nothing about the image structure: we could shuffle all the
# pixels and learn an MLP with similar performance". Its first layer gives every pixel a weight
# of its own, and a fixed shuffle only reorders those weights. A CNN is built on the opposite
# assumption, that neighbouring pixels belong together: each 3 x 3 kernel looks at a small
# neighbourhood, and the same kernel is used everywhere (chapter *Why convolutions*).
#
# The experiment compares four networks, all built from your layers and trained with the
# settings of part 9: your CNN and a small MLP (`Flatten -> Linear(64 -> 32) -> ReLU ->
# Linear(32 -> 10)`), each on the real digits and on the shuffled ones, and each tested on
# held-out digits shuffled the same way as its training digits. The CNN on real digits is the
# one you trained in part 9; the cell below trains the other three. Which network notices the
# shuffle?
#
# The hidden test grades the two claims from the models you trained: the MLP does as well on
# shuffled pixels (both MLPs reach at least 0.85 on the held-out digits, within 0.03 of each
# other), and the CNN loses accuracy on them (at least 0.01), while its shuffled model still
# learns something (at least 0.6). On these tiny 8 x 8 digits
# the CNN's loss is a few points, not a collapse: see the questions at the end.

# %% id=experiment locked
models = None  # set at the end of this cell, once all four networks are trained
perm = np.random.default_rng(5).permutation(64)
x_train_shuffled = shuffle_pixels(x_train, perm)
x_test_shuffled = shuffle_pixels(x_test, perm)


def build_mlp(rng):
    """Flatten -> Linear(64 -> 32) -> ReLU -> Linear(32 -> 10), of your layers."""
    return Sequential(Flatten(), Linear(init_uniform(rng, (32, 64)), np.zeros(32)), ReLU(),
                      Linear(init_uniform(rng, (10, 32)), np.zeros(10)))


start = time.perf_counter()
cnn_shuffled = build_cnn(np.random.default_rng(1))
fit(cnn_shuffled, x_train_shuffled, y_train, epochs=12, lr=0.5, verbose=False)
mlp = build_mlp(np.random.default_rng(1))
fit(mlp, x_train, y_train, epochs=12, lr=0.5, verbose=False)
mlp_shuffled = build_mlp(np.random.default_rng(1))
fit(mlp_shuffled, x_train_shuffled, y_train, epochs=12, lr=0.5, verbose=False)
print(f"trained three networks in {time.perf_counter() - start:.1f} s\n")
print("test accuracy   real pixels   shuffled pixels")
print(f"CNN             {accuracy(cnn, x_test, y_test):11.3f}   "
      f"{accuracy(cnn_shuffled, x_test_shuffled, y_test):15.3f}")
print(f"MLP             {accuracy(mlp, x_test, y_test):11.3f}   "
      f"{accuracy(mlp_shuffled, x_test_shuffled, y_test):15.3f}")
models = {"cnn": cnn, "cnn_shuffled": cnn_shuffled, "mlp": mlp, "mlp_shuffled": mlp_shuffled}

# %% id=test_shuffle_experiment locked
check_shuffle_experiment(models)

# %% id=hidden_shuffle_experiment tests
# Hidden tests (2 points): the two claims, from the four models' parameters, measured by the
# grader.
### BEGIN HIDDEN TESTS
check_shuffle_experiment(models, seed=1511, points=2)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Questions and things to try (not graded)
#
# * The MLP has 2,410 parameters, your CNN 810. Which does better on the real digits? What does
#   the CNN's weight sharing buy?
# * Why does the CNN still do fairly well on shuffled digits? Think of what a 3 x 3 kernel sees
#   after the shuffle, and of what the linear layer at the end can still learn. Try `MaxPool(8)`
#   (one number per feature map, so the linear layer's `w2` becomes `(10, 16)`) and watch the
#   gap: the fewer numbers the linear layer gets, the more the CNN relies on locality.
# * Plot a few digits and their shuffled versions (`plt.imshow(x_test[0, 0], cmap="gray")`).
# * Train with `lr=0.05` or for 3 epochs: how do the loss curve and the accuracy change?

# %%
