"""The formulas of the article's section 4, written out in NumPy: a reference to check the framework against.

Taught in notebooks 04a (layers, activations, loss, backpropagation) and 04b (convolution,
pooling, recurrence, attention), where every function here is stated as a formula, run, and
compared with the TensorFlow/Keras op that computes the same thing (:func:`compare` prints each check). The
tests in ``tests/test_mathref.py`` repeat those comparisons on random inputs of several shapes.

Conventions (the same as TensorFlow and Keras, so arrays move between the two unchanged):

- **Row-major batches.** One sample per row: a batch of activations ``A`` is ``(N, n_in)``,
  and a dense layer's weight matrix is stored as Keras stores its ``kernel``, ``(n_in, n_out)``,
  so a layer computes ``Z = A @ W + b``. The article writes the same layer column-major,
  ``Z = W A + b`` (one sample per column, its ``W`` is our ``W.T``). Its weight gradient
  ``dJ/dW = delta A^T`` therefore reads ``dJ/dW = A^T delta`` here: the transpose of the same
  matrix, because our ``W`` is the transpose of its ``W`` (erratum 6; notebook 04 checks both forms).
- **Images NHWC, kernels HWIO.** Images are ``(N, H, W, C)``; a convolution kernel is
  ``(kh, kw, C_in, C_out)``.
- Nothing here is trained or differentiated automatically: the backward pass of the two-layer
  network is written by hand, which is the point.

Only NumPy is imported, so this module runs anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

Padding = Literal["valid", "same"]
ActivationName = Literal["relu", "sigmoid", "tanh"]

#: Keras clips probabilities to [EPSILON, 1 - EPSILON] before taking a logarithm; so does cross_entropy.
EPSILON = 1e-7


def _float(array: np.ndarray | float | list) -> np.ndarray:
    """An array of at least float32 precision (integers and float16 are promoted)."""
    array = np.asarray(array)
    return array.astype(np.result_type(array.dtype, np.float32), copy=False)


# --------------------------------------------------------------------------- one layer


def dense(a: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """A fully connected layer's linear part, ``Z = A W + b``, for a row-major batch.

    ``a`` is ``(..., n_in)``, ``w`` is ``(n_in, n_out)`` (a Keras ``Dense`` kernel), ``b`` is
    ``(n_out,)``. The article's column form ``Z = W A + b`` is the transpose of this (notebook 04).
    """
    z = _float(a) @ _float(w)
    return z if b is None else z + _float(b)


# --------------------------------------------------------------------------- activations


def relu(z: np.ndarray) -> np.ndarray:
    """ReLU, ``max(0, z)``, elementwise (notebook 04)."""
    z = _float(z)
    return np.maximum(z, 0.0).astype(z.dtype)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of ReLU with respect to its input: 1 where ``z > 0``, else 0.

    At exactly 0 ReLU has no derivative; like TensorFlow we use 0 there.
    """
    z = _float(z)
    return (z > 0).astype(z.dtype)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic sigmoid ``1 / (1 + exp(-z))``, computed without overflow for large ``|z|``."""
    z = _float(z)
    # exp(-log(1 + exp(-z))), with log(1 + exp(-z)) as logaddexp(0, -z): finite for every z.
    return np.exp(-np.logaddexp(0.0, -z)).astype(z.dtype)


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid: ``sigmoid(z) * (1 - sigmoid(z))``, at most 1/4 (at z = 0)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent ``(e^z - e^-z) / (e^z + e^-z)``, in (-1, 1)."""
    return np.tanh(_float(z))


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of tanh: ``1 - tanh(z)^2``, at most 1 (at z = 0)."""
    t = tanh(z)
    return 1.0 - t * t


#: name -> (function, derivative), as the two-layer network and notebook 04's explorer use them.
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}


# --------------------------------------------------------------------------- softmax and the loss


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(z_i) / sum_j exp(z_j)`` along ``axis``: scores -> probabilities that sum to 1.

    The maximum is subtracted first (which does not change the result), so large scores such
    as ``[1000, 0]`` give ``[1, 0]`` instead of ``inf / inf = nan``.
    """
    z = _float(z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(z))`` computed as ``z - max - log(sum(exp(z - max)))``: finite even for huge scores."""
    z = _float(z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels ``(...)`` -> one-hot rows ``(..., num_classes)`` of float32."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def cross_entropy(y_true: np.ndarray, y_pred: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    """Categorical cross-entropy ``L = -sum_i y_i log(p_i)`` per sample (classes on the last axis).

    ``y_true`` may be either

    - **integer labels** shaped like ``y_pred`` without its last axis (Keras's
      ``sparse_categorical_crossentropy``): then ``L = -log p[label]``; or
    - **one-hot rows** (or any probability distributions) shaped like ``y_pred``
      (Keras's ``categorical_crossentropy``).

    ``y_pred`` holds probabilities (the output of a softmax), or raw scores (logits) when
    ``from_logits=True``. Logits are the numerically stable path: ``log_softmax`` never takes the
    log of 0. Probabilities are, as in Keras, renormalised to sum to 1 and clipped to
    ``[EPSILON, 1 - EPSILON]``, so a confident wrong answer costs ``-log(1e-7) ~ 16.1``, not inf.

    Returns one loss per sample, shape ``y_pred.shape[:-1]``; take ``.mean()`` for the batch loss
    that Keras reports (notebook 04).
    """
    y_pred = _float(y_pred)
    if from_logits:
        log_p = log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
        log_p = np.log(np.clip(p, EPSILON, 1.0 - EPSILON))
    y_true = np.asarray(y_true)
    if y_true.shape == y_pred.shape[:-1]:
        if not np.issubdtype(y_true.dtype, np.integer):
            raise TypeError(
                f"labels shaped {y_true.shape} must be integers (got {y_true.dtype}); one-hot targets need a class axis"
            )
        return -np.take_along_axis(log_p, y_true[..., np.newaxis].astype(np.intp), axis=-1)[..., 0]
    if y_true.shape == y_pred.shape:
        return -np.sum(_float(y_true) * log_p, axis=-1)
    raise ValueError(
        f"y_true {y_true.shape} must be integer labels shaped {y_pred.shape[:-1]} or one-hot shaped {y_pred.shape}"
    )


# --------------------------------------------------------------------------- convolution and pooling


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def conv_output_length(length: int, kernel: int, stride: int = 1, padding: Padding = "valid") -> int:
    """Output length of a convolution or pooling window along one axis, as TensorFlow computes it.

    ``"valid"`` (no padding): ``floor((length - kernel) / stride) + 1``;
    ``"same"``: ``ceil(length / stride)``. For the article's CNN: 28 -> 26 (3x3 conv),
    26 -> 13 (2x2 pool), 13 -> 11, 11 -> 5 (notebook 04).
    """
    if padding == "valid":
        return max((length - kernel) // stride + 1, 0)
    if padding == "same":
        return -(-length // stride)
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


def same_padding(length: int, kernel: int, stride: int = 1) -> tuple[int, int]:
    """Zeros added (before, after) along one axis for TensorFlow's ``"same"`` padding.

    The total is ``max((out - 1) * stride + kernel - length, 0)`` with ``out = ceil(length / stride)``;
    when it is odd, the extra zero goes *after* (bottom / right), so with stride > 1 the
    padding is often asymmetric.
    """
    out = conv_output_length(length, kernel, stride, "same")
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, window: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) -> (N, H', W', C, kh, kw): every window, a view without copying."""
    views = np.lib.stride_tricks.sliding_window_view(x, window, axis=(1, 2))
    return views[:, :: stride[0], :: stride[1]]


def _pad_same(x: np.ndarray, window: tuple[int, int], stride: tuple[int, int], value: float) -> np.ndarray:
    (top, bottom), (left, right) = (
        same_padding(x.shape[1], window[0], stride[0]),
        same_padding(x.shape[2], window[1], stride[1]),
    )
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = "valid",
) -> np.ndarray:
    """A 2-D convolution layer as CNNs compute it: a discrete **cross-correlation** plus bias.

    ``Z[n, i, j, o] = b[o] + sum_{u, v, c} X[n, i*s + u, j*s + v, c] * W[u, v, c, o]``

    ``x`` is ``(N, H, W, C_in)``, ``w`` is ``(kh, kw, C_in, C_out)``, ``b`` is ``(C_out,)``; the result
    is ``(N, H', W', C_out)`` with ``H'`` from :func:`conv_output_length`. ``padding="same"`` pads
    with zeros exactly as ``tf.nn.conv2d`` does (see :func:`same_padding`). The kernel is not flipped:
    that is what makes it a cross-correlation rather than a convolution in the textbook sense.
    (The article writes a continuous integral of "two layers' weights"; notebook 04, erratum 1.)
    """
    x, w = _float(x), _float(w)
    if x.ndim != 4 or w.ndim != 4 or x.shape[-1] != w.shape[2]:
        raise ValueError(f"expected x (N, H, W, C_in) and w (kh, kw, C_in, C_out), got {x.shape} and {w.shape}")
    window, steps = (w.shape[0], w.shape[1]), _pair(stride)
    if padding == "same":
        x = _pad_same(x, window, steps, 0.0)
    elif padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    patches = _windows(x, window, steps)  # (N, H', W', C_in, kh, kw)
    z = np.einsum("nhwcuv,uvco->nhwo", patches, w, optimize=True)
    return z if b is None else z + _float(b)


def conv2d_backward(
    x: np.ndarray, delta: np.ndarray, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias gradients of a ``"valid"`` :func:`conv2d` layer, given ``delta = dJ/dZ``.

    ``dJ/dW[u, v, c, o] = sum_{n, i, j} X[n, i*s + u, j*s + v, c] * delta[n, i, j, o]`` and
    ``dJ/db[o] = sum_{n, i, j} delta[n, i, j, o]``: each kernel weight collects the input values it
    touched, weighted by the layer's *own* delta (the article pairs the input with the next layer's
    delta, as a plain product; notebook 04b, erratum 6). ``x`` is ``(N, H, W, C_in)``, ``delta`` is
    ``(N, H', W', C_out)``; returns ``(dW (kh, kw, C_in, C_out), db (C_out,))``.
    """
    x, delta = _float(x), _float(delta)
    window, steps = _pair(kernel_size), _pair(stride)
    patches = _windows(x, window, steps)  # (N, H', W', C_in, kh, kw)
    if x.ndim != 4 or delta.ndim != 4 or patches.shape[:3] != delta.shape[:3]:
        raise ValueError(
            f"delta {delta.shape} does not fit a valid {window} convolution of x {x.shape} with stride {steps}"
        )
    return np.einsum("nhwcuv,nhwo->uvco", patches, delta, optimize=True), delta.sum(axis=(0, 1, 2))


def compare(label: str, ours: np.ndarray, reference: object, tol: float = 1e-5) -> None:
    """Print ``label: max |diff| < tol: True/False`` for two arrays of the same shape.

    ``reference`` may be a NumPy array or a framework tensor (anything ``np.asarray`` reads). The one
    line every check of notebooks 04a and 04b prints.
    """
    ours, theirs = np.asarray(ours), np.asarray(reference)
    same = ours.shape == theirs.shape and float(np.max(np.abs(ours - theirs), initial=0.0)) < tol
    print(f"{label}: max |diff| < {tol:g}: {same}")  # printed, not returned: a cell shows the line only once


def _pool(
    x: np.ndarray, pool_size: int | tuple[int, int], stride: int | tuple[int, int] | None, padding: Padding, kind: str
) -> np.ndarray:
    x = _float(x)
    if x.ndim != 4:
        raise ValueError(f"expected x shaped (N, H, W, C), got {x.shape}")
    window = _pair(pool_size)
    steps = window if stride is None else _pair(stride)
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if kind == "max":
        padded = _pad_same(x, window, steps, -np.inf) if padding == "same" else x
        return _windows(padded, window, steps).max(axis=(-2, -1))
    # Average: with "same" padding the padded zeros are not counted (as TensorFlow does).
    ones = np.ones_like(x)
    if padding == "same":
        x, ones = _pad_same(x, window, steps, 0.0), _pad_same(ones, window, steps, 0.0)
    return _windows(x, window, steps).sum(axis=(-2, -1)) / _windows(ones, window, steps).sum(axis=(-2, -1))


def max_pool2d(
    x: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: Padding = "valid",
) -> np.ndarray:
    """Max pooling: the **maximum** of each ``pool_size`` window of each channel.

    ``P[n, i, j, c] = max_{u, v} X[n, i*s + u, j*s + v, c]``. ``stride`` defaults to ``pool_size``
    and padding to ``"valid"``, as in ``keras.layers.MaxPooling2D``: 26x26 -> 13x13, 11x11 -> 5x5
    (the last row and column are dropped). The article's ``(1/n) sum max(x_i)`` is not this
    (notebook 04, erratum 2).
    """
    return _pool(x, pool_size, stride, padding, "max")


def avg_pool2d(
    x: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: Padding = "valid",
) -> np.ndarray:
    """Average pooling: the **mean** of each window, ``(1/n) sum_i x_i``, as ``keras.layers.AveragePooling2D``.

    Defaults as :func:`max_pool2d`. With ``padding="same"`` the mean is over the real (unpadded)
    values of each window, as TensorFlow does.
    """
    return _pool(x, pool_size, stride, padding, "avg")


# --------------------------------------------------------------------------- sequences


def rnn_step(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    w_x: np.ndarray,
    w_h: np.ndarray,
    b: np.ndarray,
    activation: Callable[[np.ndarray], np.ndarray] = tanh,
) -> np.ndarray:
    """One step of a simple RNN: ``h_t = sigma(x_t W_x + h_{t-1} W_h + b)`` (row-major batch).

    ``x_t`` is ``(N, n_in)``, ``h_prev`` ``(N, units)``, ``w_x`` ``(n_in, units)`` (Keras's ``kernel``),
    ``w_h`` ``(units, units)`` (``recurrent_kernel``), ``b`` ``(units,)``. The article's
    ``h_t = sigma(W_h h_{t-1} + W_x x_t + b_h)`` is the same in column form; Keras's
    ``SimpleRNN`` uses ``tanh`` for sigma by default (notebook 04).
    """
    return activation(dense(x_t, w_x) + dense(h_prev, w_h) + _float(b))


def rnn_forward(
    x: np.ndarray,
    w_x: np.ndarray,
    w_h: np.ndarray,
    b: np.ndarray,
    h0: np.ndarray | None = None,
    activation: Callable[[np.ndarray], np.ndarray] = tanh,
) -> np.ndarray:
    """Run :func:`rnn_step` along a sequence ``x`` of shape ``(N, T, n_in)``; returns every ``h_t``, ``(N, T, units)``.

    ``h0`` defaults to zeros, as in ``keras.layers.SimpleRNN(return_sequences=True)``.
    """
    x = _float(x)
    h = np.zeros((x.shape[0], np.shape(w_h)[0]), dtype=x.dtype) if h0 is None else _float(h0)
    states = []
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, w_x, w_h, b, activation)
        states.append(h)
    return np.stack(states, axis=1)


# --------------------------------------------------------------------------- attention


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``; returns ``(output, weights)``.

    ``q`` is ``(..., T_q, d_k)``, ``k`` ``(..., T_k, d_k)``, ``v`` ``(..., T_k, d_v)``; leading axes
    (batch, heads) broadcast. ``weights`` is ``(..., T_q, T_k)``: row ``i`` says how much query ``i``
    takes from each value, and sums to 1. ``output`` is ``(..., T_q, d_v)``.

    ``mask`` (boolean, broadcastable to ``(..., T_q, T_k)``): True where query ``i`` may attend to
    key ``j``, as ``attention_mask`` in ``keras.layers.MultiHeadAttention``. A row with no True gets
    all-zero weights (and a zero output) rather than NaN.

    The article writes ``Q K^T / sqrt(d_k) + V`` (no softmax, a sum instead of a product):
    notebook 04, erratum 4.
    """
    q, k, v = _float(q), _float(k), _float(v)
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, -np.inf)
    row_max = np.max(scores, axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(scores - row_max)  # exp(-inf) = 0 for masked keys
    total = np.sum(e, axis=-1, keepdims=True)
    weights = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return weights @ v, weights


# --------------------------------------------------------------------------- a two-layer network, by hand

Params = dict[str, np.ndarray]


def init_two_layer(n_in: int, n_hidden: int, n_out: int, *, seed: int = 0) -> Params:
    """Weights for :func:`two_layer_forward`: Glorot-uniform matrices (Keras's default) and zero biases."""
    rng = np.random.default_rng(seed)

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out))

    return {
        "W1": glorot(n_in, n_hidden),
        "b1": np.zeros(n_hidden),
        "W2": glorot(n_hidden, n_out),
        "b2": np.zeros(n_out),
    }


def two_layer_forward(
    x: np.ndarray, params: Params, activation: ActivationName = "relu"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Forward pass of ``X -> Dense(W1, b1) -> activation -> Dense(W2, b2) -> softmax``.

    ``Z1 = X W1 + b1``, ``A1 = sigma(Z1)``, ``Z2 = A1 W2 + b2``, ``P = softmax(Z2)``; row-major
    (``x`` is ``(N, n_in)``, ``W1`` ``(n_in, n_hidden)``, ``W2`` ``(n_hidden, n_out)``).
    Returns ``(P, cache)``; the cache holds ``X, Z1, A1, Z2, P`` for :func:`two_layer_backward`.
    """
    act, _ = ACTIVATIONS[activation]
    x = _float(x)
    z1 = dense(x, params["W1"], params["b1"])
    a1 = act(z1)
    z2 = dense(a1, params["W2"], params["b2"])
    p = softmax(z2)
    return p, {"X": x, "Z1": z1, "A1": a1, "Z2": z2, "P": p}


def two_layer_loss(x: np.ndarray, y: np.ndarray, params: Params, activation: ActivationName = "relu") -> float:
    """Mean cross-entropy ``J`` of :func:`two_layer_forward` on integer labels ``y``."""
    _, cache = two_layer_forward(x, params, activation)
    return float(np.mean(cross_entropy(y, cache["Z2"], from_logits=True)))


def two_layer_backward(
    cache: dict[str, np.ndarray], y: np.ndarray, params: Params, activation: ActivationName = "relu"
) -> Params:
    """Gradients of the mean cross-entropy ``J`` with respect to ``W1, b1, W2, b2``, by the chain rule.

    With ``N`` samples and one-hot targets ``Y`` (from integer labels ``y``):

    - output layer: ``delta2 = dJ/dZ2 = (P - Y) / N`` (softmax and cross-entropy together);
    - hidden layer: ``delta1 = dJ/dZ1 = (delta2 W2^T) * sigma'(Z1)`` (elementwise ``*``);
    - weights: ``dJ/dW = A_prev^T delta`` and ``dJ/db = sum of delta over the batch``.

    In the article's column-major notation the weight gradient is ``dJ/dW^(l) = delta^(l) (A^(l-1))^T``,
    the transpose of the row-major ``A_prev^T delta`` used here because our ``W`` is its ``W^T``
    (erratum 6: the article writes ``A^(l-1) delta^(l+1)``, a product whose shapes do not even
    match). Returns ``{"dW1", "db1", "dW2", "db2"}`` shaped like the parameters (notebook 04).
    """
    _, act_grad = ACTIVATIONS[activation]
    p, z1, a1, x = cache["P"], cache["Z1"], cache["A1"], cache["X"]
    n = p.shape[0]
    delta2 = (p - one_hot(np.asarray(y), p.shape[-1])) / n
    delta1 = (delta2 @ _float(params["W2"]).T) * act_grad(z1)
    return {
        "dW1": x.T @ delta1,
        "db1": delta1.sum(axis=0),
        "dW2": a1.T @ delta2,
        "db2": delta2.sum(axis=0),
    }


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of ``x``.

    Slow (two calls of ``f`` per entry) and only as exact as float64 allows: use it on small
    arrays to check a hand-written gradient, never to train. ``x`` is changed in place and restored.
    """
    if x.dtype != np.float64:
        raise TypeError("numerical_gradient needs a float64 array (float32 finite differences are too coarse)")
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array (it perturbs x in place)")
    grad = np.zeros_like(x)
    grad_flat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old - eps
        minus = f(x)
        flat[i] = old
        grad_flat[i] = (plus - minus) / (2 * eps)
    return grad
