"""Every hint the checks can give, in one place, so the wording stays consistent across labs.

A hint names the mistake the student's output matches and says how to fix it, pointing to the
book where it helps. Keys are used by the diagnosers in each lab's module; add new ones here.
"""

from __future__ import annotations

HINTS: dict[str, str] = {
    # Flipping: convolution versus cross-correlation (book: 02_convolution).
    "not_flipped": (
        "your result is the cross-correlation. Convolution turns the kernel half a turn before "
        "sliding it: w[::-1] in 1-D, w[::-1, ::-1] in 2-D (chapter Convolution, convolution "
        "versus correlation)."
    ),
    "depthwise_flipped": (
        "your result is a convolution: the depthwise kernels were turned half a turn. Correlate "
        "each channel with its kernel as it is: out[n, c, i, j] = sum over u, v of "
        "w_depth[c, 0, u, v] * xpad[n, c, i + u, j + v]."
    ),
    "flipped": (
        "your result is the convolution: the kernel was flipped. Cross-correlation slides the "
        "kernel as it is, out[i] = sum_k w[k] * x[i + k] (chapter Convolution, convolution "
        "versus correlation)."
    ),
    "flipped_one_axis": (
        "the kernel was flipped along one axis only. Turning it half a turn flips both: "
        "w[::-1, ::-1]."
    ),
    "transposed_kernel": (
        "w.T transposes the kernel (a reflection across its diagonal); convolution turns it half "
        "a turn instead: w[::-1, ::-1]."
    ),
    # Output size (book: 03_padding_stride, convolution arithmetic).
    "output_too_small": (
        "the output is one entry short along an axis. A kernel of size K fits at L - K + 1 "
        "positions, (L - K) // stride + 1 with a stride: the + 1 counts the first placement."
    ),
    "output_too_large": (
        "the output is one entry too long along an axis: the last placement must still lie "
        "inside the input, so there are L - K + 1 of them ((L - K) // stride + 1 with a stride)."
    ),
    "full_mode": (
        "the output has the size of 'full' mode (L + K - 1: every partial overlap). This function "
        "keeps only the 'valid' placements, where the kernel lies inside the input (L - K + 1): "
        "out[i] for i = 0 .. L - K."
    ),
    "same_mode": (
        "the output has the size of the input ('same' mode). This function keeps only the "
        "'valid' placements, where the kernel lies inside the input (L - K + 1)."
    ),
    "stride_ignored": (
        "your values are those of stride 1. With stride s the kernel jumps s positions between "
        "outputs: out[i, j] uses x[i*s : i*s + KH, j*s : j*s + KW], and "
        "H_out = (H - KH) // s + 1 (chapter Padding and stride)."
    ),
    "size_stride_ignored": (
        "the stride is missing: the kernel jumps s positions at a time, so divide the free room "
        "by s: o = (i + 2p - k) // s + 1 (chapter Padding and stride, convolution arithmetic)."
    ),
    "size_pad_once": (
        "padding p is added on both sides of the input, so the padded size is i + 2p, not i + p."
    ),
    "size_pad_ignored": (
        "the padding is missing: the kernel slides over the padded input, of size i + 2p."
    ),
    "size_ceil": (
        "that is rounded up. A last placement that would stick out of the padded input does not "
        "count: round down, o = (i + 2p - k) // s + 1."
    ),
    "size_true_division": (
        "/ is true division and gives a float (rounded the wrong way when it does not divide "
        "evenly); // is floor division and keeps an int."
    ),
    "size_off_by_one": (
        "the result is off by one: (i + 2p - k) // s counts the jumps between placements; the "
        "number of placements is one more."
    ),
    # Padding (book: 03_padding_stride, boundaries).
    "pad_axes_swapped": (
        "the row and column padding are swapped: p = (p_rows, p_cols) adds p_rows rows above "
        "and below, p_cols columns left and right."
    ),
    "pad_numpy_pair": (
        "np.pad(x, (a, b)) pads a before and b after on every axis. For p_rows above and below "
        "and p_cols left and right write np.pad(x, ((p_rows, p_rows), (p_cols, p_cols)), ...)."
    ),
    "pad_one_side": (
        "the padding was added on one side only; it goes on both sides of each axis (above and "
        "below, left and right)."
    ),
    "pad_zeros_instead": (
        "the border is all zeros, but this mode copies pixels of the image into it: 'reflect' "
        "mirrors the image about its edge pixel, 'replicate' repeats the edge pixel."
    ),
    "pad_reflect_replicate_swapped": (
        "'reflect' and 'replicate' are swapped. For a row a b c d padded by 2: reflect gives "
        "c b | a b c d | c b (mirrored, the edge pixel not repeated); replicate gives "
        "a a | a b c d | d d."
    ),
    "pad_symmetric": (
        "that is np.pad's 'symmetric' mode, which repeats the edge pixel (b a | a b c d | d c). "
        "'reflect' mirrors about the edge pixel without repeating it (c b | a b c d | c b)."
    ),
    "pad_not_zero": (
        "mode 'zeros' fills the border with 0, but yours holds copies of the image."
    ),
    # The convolution layer and im2col (book: 04_channels, 08_fast_convolution); lab02.
    "pad_wrong_axes": (
        "zeros went onto the wrong axes. x is (N, C, H, W) and only H and W get pad zeros on each "
        "side; the examples and channels stay as they are: "
        "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))."
    ),
    "conv_flipped": (
        "your layer turned the kernels half a turn (a true convolution). A convolution layer "
        "computes a cross-correlation, the kernel as it is: out[n, f, i, j] = b[f] + the sum over "
        "c, u, v of w[f, c, u, v] * xpad[n, c, i*stride + u, j*stride + v] (chapter Channels)."
    ),
    "conv_channels_not_summed": (
        "only one input channel reaches the output. Each output number is a sum over all C input "
        "channels (the kernel is as deep as the input); a loop over c that assigns with = instead "
        "of adding with += keeps only the last channel (chapter Channels)."
    ),
    "conv_bias_missing": (
        "the bias is missing: b[f] is added to every output number of filter f."
    ),
    "conv_bias_per_channel": (
        "the bias was added once per input channel, C times. Add b[f] once per output number, "
        "after the sum over channels."
    ),
    "conv_stride_ignored": (
        "your kernel moves one pixel at a time. With a stride, output (i, j) reads the padded "
        "input from row i*stride and column j*stride, and "
        "H_out = (H + 2*pad - KH) // stride + 1 (chapter Padding and stride)."
    ),
    "conv_pad_ignored": (
        "the padding is missing: add pad zeros on each side of H and W first (your zero_pad), "
        "then slide the kernel over the padded input."
    ),
    "conv_output_size": (
        "the output has the wrong number of rows or columns: H_out = (H + 2*pad - KH) // stride "
        "+ 1 and W_out = (W + 2*pad - KW) // stride + 1 (the padding counts on both sides, and "
        "the + 1 counts the first placement)."
    ),
    "im2col_transposed": (
        "your matrix is the transpose of the expected one: im2col gives one column per receptive "
        "field, shape (C*KH*KW, N*H_out*W_out)."
    ),
    "im2col_column_order": (
        "the columns are in the wrong order: column n*H_out*W_out + i*W_out + j holds output "
        "pixel (i, j) of example n (examples outermost, j innermost), the order in which the "
        "product is reshaped back to (F, N, H_out, W_out)."
    ),
    "im2col_patch_order": (
        "the entries of each patch are in the wrong order: row c*KH*KW + u*KW + v holds "
        "xpad[n, c, i*stride + u, j*stride + v] (channel outermost; x[n, c, i + u, j + v] "
        "without padding or stride), the order in which "
        "w.reshape(F, -1) lists a kernel. Patches and kernels must be flattened alike."
    ),
    "conv_output_reshape": (
        "w.reshape(F, -1) @ cols has shape (F, N*H_out*W_out); reshaping it straight to "
        "(N, F, H_out, W_out) mixes examples and filters. Reshape to (F, N, H_out, W_out), then "
        "swap the first two axes: .transpose(1, 0, 2, 3)."
    ),
    # Pooling forward and backward (book: 05_pooling, 06_backprop); lab03.
    "pool_stride_ignored": (
        "your windows are not stride apart. Window (i, j) covers rows i*stride .. i*stride + k - 1 "
        "and columns j*stride .. j*stride + k - 1, and H_out = (H - k) // stride + 1; the stride "
        "is not always k (chapter Pooling)."
    ),
    "pool_output_size": (
        "the output is one row or column short: H_out = (H - k) // stride + 1 and "
        "W_out = (W - k) // stride + 1 (the + 1 counts the first window)."
    ),
    "switch_in_window": (
        "your switches are positions inside each window (u*k + v). A switch is the position of "
        "the maximum in the whole input plane, the flat index row * W + col with "
        "row = i*stride + u and col = j*stride + v."
    ),
    "switch_last_max": (
        "on a tie your code picks the last maximum of the window. The rule is the first one in "
        "row-major order, which np.argmax returns (a loop that replaces the best value only when "
        "a new one is strictly larger, >, not >=)."
    ),
    "switch_wrong_origin": (
        "your switches place window (i, j) at row i*k and column j*k. It starts at row i*stride "
        "and column j*stride; the two differ when the windows overlap (stride < k) or leave gaps."
    ),
    "switch_flat_index": (
        "the flat index of input (row, col) in an H x W plane is row * W + col: each row holds "
        "W numbers. Yours multiplies by H."
    ),
    "maxgrad_to_window": (
        "the gradient went to every entry of the window. Only the maximum (the switch) decided "
        "the output, so only it receives dout; the other entries of the window get 0 (chapter "
        "Backpropagation, max pooling)."
    ),
    "maxgrad_all_ties": (
        "on a tie the gradient went to every maximum of the window (a mask window == max). It "
        "goes to one entry only, the switch: the first maximum in row-major order (np.argmax)."
    ),
    "maxgrad_overwrite": (
        "where overlapping windows share their maximum, that input should collect the gradient "
        "of each of them: add with +=, do not assign with =."
    ),
    "avg_sum": (
        "that is the sum of each window; the average divides it by the number of entries, k * k."
    ),
    "avg_divided_by_k": (
        "a k x k window holds k * k numbers: divide its sum by k * k, not by k."
    ),
    "avggrad_not_divided": (
        "each input of a window contributes 1 / (k * k) of its output, so it receives "
        "dout / (k * k), not the whole dout (chapter Backpropagation, average pooling)."
    ),
    "avggrad_divided_by_k": (
        "a k x k window holds k * k numbers: each receives dout / (k * k), not dout / k."
    ),
    "avggrad_overwrite": (
        "an input inside several overlapping windows collects a share of each of their "
        "gradients: add with +=, do not assign with =."
    ),
    # The convolution layer's backward pass and gradient checking (book: 06_backprop); lab04.
    "db_axes": (
        "db must add dout over the batch (axis 0) and over every output position (axes 2 and 3), "
        "keeping one entry per filter: db = dout.sum(axis=(0, 2, 3)), shape (F,) (chapter "
        "Backpropagation, the bias)."
    ),
    "db_summed_over_f": (
        "db was also summed over the filters (axis 1). Each filter has its own bias, so keep "
        "axis 1: db = dout.sum(axis=(0, 2, 3)), shape (F,)."
    ),
    "db_mean": (
        "db is a mean. The bias is added to every output number, so its gradient is the sum of "
        "dout over the batch (and, in a convolution, over the positions), not their average."
    ),
    "dw_swapped": (
        "dw is turned half a turn: x and dout swapped roles (or the sum became a convolution). "
        "dw[f, c, u, v] = the sum over n, i, j of dout[n, f, i, j] * "
        "xpad[n, c, i*stride + u, j*stride + v]: dout slides over the padded input, a "
        "correlation (chapter Backpropagation)."
    ),
    "dw_stride_ignored": (
        "dw reads windows one pixel apart. With a stride, output (i, j) came from the window "
        "that starts at xpad[:, :, i*stride, j*stride]: use the forward pass's windows."
    ),
    "dx_not_flipped": (
        "dx was computed with the kernels as they are. Sending dout back to the input is a 'full' "
        "correlation with each kernel turned half a turn, w[:, :, ::-1, ::-1]; with loops, add "
        "dout[n, f, i, j] * w[f] into the window that produced out[n, f, i, j] (chapter "
        "Backpropagation, the flipped weights)."
    ),
    "dx_not_cropped": (
        "dx has the shape of the padded input. The zeros of the padding are not part of x: cut "
        "them off at the end, dx = dxpad[:, :, pad:pad + H, pad:pad + W]."
    ),
    "dx_dout_padding": (
        "dout was padded by the wrong amount. Every input pixel must meet every output it fed, "
        "which is a 'full' correlation: dout padded by KH - 1 rows and KW - 1 columns on each "
        "side gives the gradient of the padded input, whose border of width pad you then cut "
        "off (padding by KH - 1 - pad does both at once while pad <= KH - 1); not by pad."
    ),
    "dx_stride_ignored": (
        "dx sends each output's gradient to windows one pixel apart. With a stride, output (i, j) "
        "came from the window at xpad[:, :, i*stride, j*stride]: add its gradient there (in the "
        "'full correlation' view, first put stride - 1 zeros between the entries of dout)."
    ),
    "grad_one_sided": (
        "that is a one-sided difference, (f(x + eps) - f(x)) / eps, whose error shrinks only like "
        "eps. The centred difference (f(x + eps) - f(x - eps)) / (2 * eps) is exact for "
        "quadratics and its error shrinks like eps**2 (chapter Backpropagation, gradient "
        "checking)."
    ),
    "grad_eps_too_large": (
        "eps is too large: the difference then picks up the function's higher derivatives as "
        "well as its slope (a centred difference is off by about eps**2 * f'''/6). With float64 "
        "and a centred difference, eps = 1e-6 (or 1e-5) works well."
    ),
    "grad_no_dout": (
        "the gradient ignores dout: it is the gradient of sum(f(x)). The check wants the gradient "
        "of sum(f(x) * dout), so weight the change of f(x) by dout before adding it up."
    ),
    "grad_half": (
        "the gradient is half the right one: the plus and minus arrays were one array "
        "(x_plus = x does not copy), so the second change undid the first. Copy x, or change, "
        "evaluate and restore one entry at a time."
    ),
    "grad_double": (
        "the gradient is twice the right one: a centred difference spans 2 * eps, so divide by "
        "2 * eps, not eps."
    ),
    "grad_mutates_x": (
        "your function changed x: after the call x must hold exactly the values it had before. "
        "Perturb a copy (x.copy()), or save x[idx] and put it back after both evaluations "
        "(x[idx] += eps, then x[idx] -= 2 * eps leaves it eps too low)."
    ),
    "own_gradcheck_large": (
        "the errors are large although the course's conv_backward and numerical_gradient stood "
        "in for yours (Parts 1 and 2 judge those on their own): the wiring is wrong. "
        "numerical_gradient(lambda w_: conv_forward(x, w_, b, stride, pad), w, dout) varies w "
        "alone, each error compares the same gradient, and both sides use the same dout."
    ),
    # Transposed, dilated and depthwise-separable convolution (book: 07_variants); lab06.
    "tconv_pad_added": (
        "your output is larger than it should be: pad was added. In a transposed convolution pad "
        "works the other way round: it crops pad rows and columns from each border of the "
        "stamped result, H_out = (H - 1)*stride - 2*pad + KH (chapter Variants of "
        "convolution, transposed convolution)."
    ),
    "tconv_forward_stride": (
        "that is a forward convolution with a stride, which shrinks its input. A transposed "
        "convolution spreads it out: input pixel (i, j) adds x[n, c, i, j] * w[c] onto the "
        "output at (i*stride, j*stride), so neighbouring stamps are stride pixels apart."
    ),
    "tconv_not_flipped": (
        "the kernel is turned half a turn from the right one. Stamping uses w as it is: "
        "out[n, f, i*stride + u, j*stride + v] += x[n, c, i, j] * w[c, f, u, v]. Written as a "
        "correlation over the zero-stuffed input, the same operation needs the flipped kernel "
        "w[:, :, ::-1, ::-1]."
    ),
    "tconv_stride_ignored": (
        "your stamps are one pixel apart. With a stride, input pixel (i, j) stamps its kernel at "
        "(i*stride, j*stride) of the output."
    ),
    "upsample_mixes_channels": (
        "every output channel adds up all the input channels. Upsampling copies channel c to "
        "channel c only: w[c, c] = ones((factor, factor)) and w[c, o] = 0 for o != c."
    ),
    "dilation_as_stride": (
        "dilation was used as a stride. Dilation spreads the kernel's taps apart; the kernel "
        "still moves one pixel at a time, and tap (u, v) reads "
        "xpad[n, c, i + dilation*u, j + dilation*v] (chapter Variants of convolution, dilated "
        "convolution)."
    ),
    "dilation_plus_one": (
        "your taps are dilation + 1 pixels apart. Dilation d leaves d - 1 holes between taps, so "
        "tap u reads xpad[i + d*u]; d = 1 is an ordinary convolution."
    ),
    "dilation_span_dk": (
        "the output is too small. A dilated kernel spans d*(k - 1) + 1 pixels, not d*k, so "
        "H_out = H + 2*pad - dilation*(KH - 1)."
    ),
    "rf_dk": (
        "a dilated layer widens the field by d*(k - 1) input steps, not d*k - 1: its kernel spans "
        "d*(k - 1) + 1 pixels. Stacking k = 3 with d = 1, 2, 4, 8 gives 3, 7, 15, 31 (chapter "
        "Variants of convolution, dilated convolution)."
    ),
    "rf_jump_ignored": (
        "the strides are missing. After a stride-s layer, one step of the next layer is s input "
        "pixels: keep a jump (the product of the strides so far) and add d*(k - 1)*jump."
    ),
    "rf_jump_early": (
        "the jump was multiplied by a layer's own stride before its growth was added. A stride "
        "spaces out the taps of the layers after it: first size += d*(k - 1)*jump, then "
        "jump *= s."
    ),
    "rf_dilation_as_stride": (
        "the dilation was treated like a stride. It spreads this layer's taps "
        "(size += d*(k - 1)*jump) but does not change the jump of the layers after it."
    ),
    "dilation_ignored": (
        "the dilation is missing: with dilation d the kernel's taps are d pixels apart, and a "
        "kernel of size k spans d*(k - 1) + 1 pixels."
    ),
    "dsep_mixes_channels": (
        "the depthwise step mixed the channels. It filters each channel with its own kernel, "
        "channel c with w_depth[c, 0] (groups = C); mixing channels is the pointwise step's job."
    ),
    "sep_no_bias": (
        "the biases are missing: each of the two steps has one bias per output channel, C_in for "
        "the depthwise step and C_out for the pointwise one."
    ),
    "sep_one_bias": (
        "one step's biases are missing: the depthwise step has C_in of them and the pointwise "
        "step C_out."
    ),
    "sep_no_pointwise": (
        "the pointwise (1 x 1) step is missing. After the depthwise step, one 1 x 1 filter per "
        "output channel, as deep as the input (w_point), mixes the channels: C_in*C_out weights, "
        "and as many multiplications at every output position."
    ),
    "sep_full_depthwise": (
        "the depthwise step was counted as a full convolution (C_in*C_in*k*k). Each channel has "
        "one k x k kernel of its own: C_in*k*k weights."
    ),
    "macs_no_positions": (
        "that is the count for one output position; each of the H_out*W_out positions repeats "
        "those multiplications."
    ),
    # Layers, the loss, SGD and training (book: 06_backprop, 09_architectures,
    # 01_why_convolutions); lab05.
    "relu_backward_negative": (
        "dx equals dout everywhere: the gradient also flowed where x < 0. There ReLU's output is "
        "the constant 0, which nothing upstream can change, so dx = dout * (x > 0), with the x "
        "that forward kept (chapter Backpropagation)."
    ),
    "relu_backward_of_dout": (
        "the mask came from dout. ReLU lets the gradient through where its input x was "
        "positive, whatever the sign of dout: dx = dout * (x > 0), with the x that forward kept."
    ),
    "flatten_backward_shape": (
        "backward must undo the reshape: dx has the shape of forward's input, (N, C, H, W). Keep "
        "x.shape in forward and return dout.reshape(that shape)."
    ),
    "flatten_batch_axis": (
        "the batch axis was flattened too. Keep the N examples apart: x.reshape(N, -1), shape "
        "(N, C*H*W)."
    ),
    "linear_dw_transposed": (
        "grads['w'] is transposed: x.T @ dout has shape (D, M), but w is (M, D). Since "
        "out = x @ w.T + b, the gradient is dw = dout.T @ x, one row per output feature."
    ),
    "linear_db_not_summed": (
        "grads['b'] must have the shape of b, (M,). b is added to every example, so its gradient "
        "sums dout over the batch: dout.sum(axis=0)."
    ),
    "linear_forward_not_transposed": (
        "out = x @ w.T + b: w holds one row per output feature, (M, D), so x (N, D) meets its "
        "transpose. x @ w runs only when w is square, and gives other numbers."
    ),
    "linear_dx_not_transposed": (
        "dx = dout @ w: dout (N, M) times w (M, D) has the shape of x, (N, D). dout @ w.T runs "
        "only when w is square, and gives other numbers."
    ),
    "layer_conv_pad_ignored": (
        "the padding is missing: put pad zeros around the height and width of x first, "
        "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))), then slide the kernels over the "
        "padded input, so that H_out = H + 2*pad - KH + 1."
    ),
    "maxgrad_averaged": (
        "dout was shared out evenly over each window, as average pooling does. A max-pooling "
        "output depends on its window's maximum only: that entry receives all of dout, the "
        "others 0 (chapter Backpropagation, max pooling)."
    ),
    "maxpool_forward_average": (
        "that is each window's average; max pooling keeps the largest entry of each window."
    ),
    "loss_not_averaged": (
        "the loss is N times too large: it is the mean of -log p[n, y[n]] over the N examples, "
        "not their sum, and dscores is divided by N as well. A summed loss makes the step grow "
        "with the batch size."
    ),
    "loss_grad_no_onehot": (
        "dscores is the softmax alone. The gradient of -log p[y] with respect to the scores is "
        "p - onehot(y): subtract 1 at each example's true class, then divide by N."
    ),
    "loss_grad_sign": (
        "dscores has the wrong sign: it is (p - onehot(y)) / N. Raising the score of the true "
        "class lowers the loss, so that entry of the gradient is negative."
    ),
    "train_forgot_zero_grad": (
        "the gradients of the earlier steps were still there: backward adds to grads. Call "
        "model.zero_grad() before model.backward(...) in every step."
    ),
    "train_gradient_ascent": (
        "the parameters moved up the gradient, which raises the loss. SGD steps against it: "
        "p -= lr * g."
    ),
    "train_params_unchanged": (
        "the parameters did not change. Update each one in place, p -= lr * g (p = p - lr * g "
        "makes a new array and leaves the layer's own untouched), after backward and before the "
        "next zero_grad."
    ),
    "build_init_order": (
        "the weights were drawn in another order. Draw the conv weights first, then the linear "
        "weights: the same rng then gives the same network as the reference."
    ),
    "build_random_bias": (
        "the biases start at zero (np.zeros); drawing them from rng also changes the weights "
        "drawn after them."
    ),
    "accuracy_near_chance": (
        "the network does about as well as guessing, one digit in ten: it did not learn. Run the "
        "visible tests of the parts above first. Then check train_step: zero the gradients "
        "before backward, step against the gradient, in place; and that the loss is a mean over "
        "the batch, not a sum (a sum makes the steps N times too large)."
    ),
    "accuracy_low": (
        "the network learned, but not enough. Run the visible tests of the parts above (a wrong "
        "gradient can still make some progress), and train with the settings of the given "
        "training cell."
    ),
    "shuffle_inverse": (
        "that is the inverse shuffle: you moved pixel k to position perm[k]. Output pixel k is "
        "input pixel perm[k]: flatten the pixels of each image and channel, then index them "
        "with perm."
    ),
    "shuffle_models_mixed_up": (
        "a model trained for shuffled pixels does poorly on the shuffled test digits: it must be "
        "trained on shuffle_pixels(x_train, perm), the same shuffle as the test digits. Check "
        "shuffle_pixels, and that each key of the dictionary holds the model it names."
    ),
    "shuffle_cnn_no_drop": (
        "your CNN did as well on shuffled pixels as on real ones. On shuffled pixels a 3 x 3 "
        "kernel sees nine unrelated pixels, so it should lose. Were both CNNs built by "
        "build_cnn from the same seed and trained alike, as the given cell does?"
    ),
    "shuffle_mlp_changed": (
        "your two MLPs differ more than they should. An MLP gives every pixel a weight of its "
        "own, so a fixed shuffle of the pixels changes nothing it can learn (chapter Why "
        "convolutions). Were both built from the same seed and trained alike, the shuffled one "
        "on shuffle_pixels(x_train, perm)?"
    ),
    # Fast convolution: im2col without loops, and the FFT (book: 08_fast_convolution); lab07.
    "im2col_reshape_without_transpose": (
        "the window view was reshaped without moving its axes. reshape keeps the memory order, "
        "(N, C, H_out, W_out, KH, KW), so rows and columns get mixed. Put the patch axes first "
        "and the pixel axes last, .transpose(1, 4, 5, 0, 2, 3), then reshape to "
        "(C*KH*KW, N*H_out*W_out)."
    ),
    "fft_convolution": (
        "your result is a convolution, not a cross-correlation: the kernel was turned around "
        "zero times or twice. Do it once: either multiply by the complex conjugate of the "
        "kernel's transform and keep outputs 0 .. L - K, or flip the kernel (w[::-1]) and keep "
        "outputs K - 1 .. L - 1 (chapter Fast convolution, the FFT)."
    ),
    "fft_wrong_crop": (
        "the right numbers, in the wrong place: you kept the wrong stretch of the circular "
        "result. With the conjugate, valid output i sits at index i, so keep [0 : L - K + 1]; "
        "with the flipped kernel it sits at index i + K - 1. Outside that stretch the sum "
        "wrapped around the end."
    ),
    "fft_size_too_small": (
        "the transform is shorter than the input: np.fft.rfft(x, n) with n < L silently cuts x, "
        "and the circular result wraps its end onto its start. Use n >= L (L suffices for the "
        "valid outputs of a correlation; L + K - 1 gives every output free of wrap-around)."
    ),
    "fft_irfft_length": (
        "np.fft.irfft(X) without n assumes an even length, 2 * (len(X) - 1): for an odd length "
        "it returns one sample too few, and every value changes. Pass the length you "
        "transformed with: np.fft.irfft(X, n), np.fft.irfft2(X, s)."
    ),
    # Exceptions raised by the student's function.
    "NotImplementedError": (
        "the function is not written yet: replace `raise NotImplementedError()`."
    ),
    "IndexError": (
        "an index ran past the end of an array: check the output size and the loop bounds "
        "(a kernel of size K fits at L - K + 1 positions)."
    ),
}


def hint(key: str) -> str:
    """The hint text for ``key`` (a ``KeyError`` names an unknown key: a bug in a lab module)."""
    return HINTS[key]
