"""course_utils.mathref: each NumPy formula equals the TensorFlow/Keras op that computes the same thing.

Random inputs of several shapes; float32 ops compared with ``ATOL``/``RTOL`` below, float64 gradients
with ``GRAD_TOL``. The TensorFlow-only checks (``tf.nn.conv2d``, ``tf.GradientTape``) are marked as such.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf  # TF-only: tf.nn.conv2d and tf.GradientTape are the references below

from course_utils import mathref

ATOL, RTOL = 1e-5, 1e-5  # float32 against float32: a few ulps of sums of tens of terms
GRAD_TOL = 1e-8  # float64 hand-written gradients against GradientTape
FD_TOL = 1e-6  # float64 hand-written gradients against central differences (eps = 1e-6)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(list(key))


def _close(actual: np.ndarray, expected: object, atol: float = ATOL, rtol: float = RTOL) -> None:
    expected = keras.ops.convert_to_numpy(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol)


# --------------------------------------------------------------------------- dense and activations


@pytest.mark.parametrize("batch, n_in, n_out", [(1, 3, 2), (5, 8, 4), (16, 100, 10)])
def test_dense_equals_a_keras_dense_layer(batch: int, n_in: int, n_out: int) -> None:
    rng = _rng(batch, n_in)
    a = rng.normal(size=(batch, n_in)).astype(np.float32)
    w = rng.normal(size=(n_in, n_out)).astype(np.float32)
    b = rng.normal(size=n_out).astype(np.float32)
    layer = keras.layers.Dense(n_out)
    layer.build((None, n_in))
    layer.set_weights([w, b])
    _close(mathref.dense(a, w, b), layer(a))


TF_ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.math.sigmoid, "tanh": tf.math.tanh}


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5)])
def test_activations_and_derivatives_equal_keras_and_gradienttape(name: str, shape: tuple[int, ...]) -> None:
    z = _rng(len(shape), 1).normal(scale=3.0, size=shape)
    function, derivative = mathref.ACTIVATIONS[name]
    _close(function(z.astype(np.float32)), getattr(keras.activations, name)(z.astype(np.float32)))
    variable = tf.Variable(z)  # float64
    with tf.GradientTape() as tape:
        out = TF_ACTIVATIONS[name](variable)
    _close(derivative(z), tape.gradient(out, variable), atol=GRAD_TOL, rtol=GRAD_TOL)


def test_sigmoid_is_finite_and_exact_at_extremes() -> None:
    z = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise"):  # no overflow, no nan
        s = mathref.sigmoid(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[[0, 3, -1]], [0.0, 0.5, 1.0])
    assert mathref.sigmoid_grad(np.array(0.0)) == pytest.approx(0.25)
    assert mathref.tanh_grad(np.array(0.0)) == pytest.approx(1.0)


# --------------------------------------------------------------------------- softmax and cross-entropy


@pytest.mark.parametrize("shape, axis", [((10,), -1), ((4, 10), -1), ((3, 5, 7), 1), ((2, 6), 0)])
def test_softmax_equals_keras_ops_softmax(shape: tuple[int, ...], axis: int) -> None:
    z = _rng(len(shape), axis + 5).normal(scale=4.0, size=shape).astype(np.float32)
    p = mathref.softmax(z, axis=axis)
    _close(p, keras.ops.softmax(z, axis=axis))
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "logits, expected",
    [
        ([1000.0, 0.0], [1.0, 0.0]),
        ([-1000.0, 0.0], [0.0, 1.0]),
        ([1e4, 1e4], [0.5, 0.5]),
        ([50.0, 1000.0, -1000.0], [0.0, 1.0, 0.0]),
    ],
)
def test_softmax_of_large_logits_has_no_nan_or_inf(logits: list[float], expected: list[float]) -> None:
    p = mathref.softmax(np.array(logits, np.float32))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, expected, atol=1e-7)
    assert np.all(np.isfinite(mathref.log_softmax(np.array(logits))))


def test_naive_softmax_would_fail_on_large_logits() -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.array([1000.0, 0.0])
        naive = np.exp(z) / np.exp(z).sum()
    assert np.isnan(naive[0]), "if this passes with a number, the stability test above proves nothing"


@pytest.mark.parametrize("batch, classes", [(1, 2), (8, 10), (32, 5)])
@pytest.mark.parametrize("from_logits", [True, False])
def test_cross_entropy_equals_keras_losses_for_labels_and_one_hot(batch: int, classes: int, from_logits: bool) -> None:
    rng = _rng(batch, classes, int(from_logits))
    logits = rng.normal(scale=3.0, size=(batch, classes)).astype(np.float32)
    y_pred = logits if from_logits else mathref.softmax(logits)
    labels = rng.integers(0, classes, batch)
    sparse = mathref.cross_entropy(labels, y_pred, from_logits=from_logits)
    dense = mathref.cross_entropy(mathref.one_hot(labels, classes), y_pred, from_logits=from_logits)
    _close(
        sparse,
        keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits),
        atol=1e-5,
        rtol=1e-4,
    )
    _close(
        dense,
        keras.losses.categorical_crossentropy(mathref.one_hot(labels, classes), y_pred, from_logits=from_logits),
        atol=1e-5,
        rtol=1e-4,
    )
    np.testing.assert_allclose(sparse, dense, rtol=1e-6)
    assert sparse.shape == (batch,)


def test_cross_entropy_is_finite_for_huge_logits_and_certain_mistakes() -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 5000.0, 0.0]])
    losses = mathref.cross_entropy(np.array([2, 1]), logits, from_logits=True)
    assert np.all(np.isfinite(losses))
    np.testing.assert_allclose(losses, [2000.0, 0.0], atol=1e-9)
    clipped = mathref.cross_entropy(np.array([1]), np.array([[1.0, 0.0]]))  # probability 0 for the truth
    assert clipped[0] == pytest.approx(-np.log(mathref.EPSILON), rel=1e-4)


def test_cross_entropy_rejects_ambiguous_targets() -> None:
    with pytest.raises(ValueError):
        mathref.cross_entropy(np.zeros((4, 3)), np.ones((4, 10)))
    with pytest.raises(TypeError):
        mathref.cross_entropy(np.zeros(4), np.ones((4, 10)))


# --------------------------------------------------------------------------- convolution and pooling


def test_the_articles_shape_chain_28_26_13_11_5() -> None:
    chain = [28]
    for kernel, stride in [(3, 1), (2, 2), (3, 1), (2, 2)]:
        chain.append(mathref.conv_output_length(chain[-1], kernel, stride))
    assert chain == [28, 26, 13, 11, 5]


def test_same_padding_is_asymmetric_like_tensorflow() -> None:
    assert mathref.same_padding(28, 3, 2) == (0, 1)  # the extra zero goes after
    assert mathref.same_padding(28, 3, 1) == (1, 1)
    assert mathref.same_padding(5, 4, 1) == (1, 2)
    assert mathref.conv_output_length(28, 3, 2, "same") == 14


CONV_CASES = [
    # (N, H, W, C_in, kh, kw, C_out, stride, padding)
    (1, 5, 5, 1, 3, 3, 1, 1, "valid"),
    (2, 28, 28, 1, 3, 3, 4, 1, "valid"),
    (2, 13, 13, 3, 3, 3, 5, 1, "same"),
    (1, 28, 28, 2, 3, 3, 3, 2, "same"),  # asymmetric "same" padding: (0, 1)
    (3, 9, 7, 2, 4, 2, 3, (2, 3), "same"),
    (2, 10, 11, 3, 5, 3, 2, (3, 2), "valid"),
    (1, 6, 6, 4, 2, 2, 6, 2, "valid"),
]


@pytest.mark.parametrize(
    "case", CONV_CASES, ids=lambda c: "x".join(map(str, c[:4])) + f"-k{c[4]}x{c[5]}-s{c[7]}-{c[8]}"
)
def test_conv2d_equals_tf_nn_conv2d_and_keras_conv2d(case: tuple) -> None:
    n, h, w_, c_in, kh, kw, c_out, stride, padding = case
    rng = _rng(n, h, w_, c_in, kh)
    x = rng.normal(size=(n, h, w_, c_in)).astype(np.float32)
    w = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
    b = rng.normal(size=c_out).astype(np.float32)
    strides = (stride, stride) if isinstance(stride, int) else stride
    expected = tf.nn.conv2d(x, w, strides=[1, *strides, 1], padding=padding.upper())  # TF-only reference
    _close(mathref.conv2d(x, w, stride=stride, padding=padding), expected)
    layer = keras.layers.Conv2D(c_out, (kh, kw), strides=strides, padding=padding)
    layer.build((None, h, w_, c_in))
    layer.set_weights([w, b])
    _close(mathref.conv2d(x, w, b, stride=stride, padding=padding), layer(x))


def test_conv2d_is_a_cross_correlation_not_a_flipped_convolution() -> None:
    # An impulse in the middle of the image: a cross-correlation returns the kernel flipped,
    # a textbook convolution would return it as it is.
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 2, 2, 0] = 1.0
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    out = mathref.conv2d(x, kernel[:, :, None, None])[0, :, :, 0]
    np.testing.assert_array_equal(out, kernel[::-1, ::-1])


POOL_CASES = [
    # (N, H, W, C, pool, stride, padding)
    (1, 26, 26, 32, 2, None, "valid"),  # the article's 26 -> 13
    (2, 11, 11, 4, 2, None, "valid"),  # 11 -> 5: the last row and column are dropped
    (2, 7, 9, 3, 3, 2, "valid"),
    (1, 7, 7, 2, 2, None, "same"),
    (2, 10, 9, 3, (3, 2), (2, 1), "same"),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[1]}x{c[2]}-p{c[4]}-s{c[5]}-{c[6]}")
def test_pooling_equals_keras_pooling_layers(case: tuple) -> None:
    n, h, w, c, pool, stride, padding = case
    x = _rng(n, h, w, c).normal(size=(n, h, w, c)).astype(np.float32)
    for ours, layer_class in [
        (mathref.max_pool2d, keras.layers.MaxPooling2D),
        (mathref.avg_pool2d, keras.layers.AveragePooling2D),
    ]:
        layer = layer_class(pool_size=pool, strides=stride, padding=padding)
        _close(ours(x, pool, stride, padding), layer(x))


def test_max_pool_is_not_the_articles_average_of_maxima() -> None:
    x = _rng(9).normal(size=(1, 4, 4, 1))
    windows = x[0, :2, :2, 0].ravel()
    articles = sum(max([value]) for value in windows) / windows.size  # (1/n) sum max(x_i), x_i scalars
    assert articles == pytest.approx(mathref.avg_pool2d(x)[0, 0, 0, 0])
    assert mathref.max_pool2d(x)[0, 0, 0, 0] == pytest.approx(windows.max())
    assert mathref.max_pool2d(x)[0, 0, 0, 0] > articles


# --------------------------------------------------------------------------- RNN and attention


@pytest.mark.parametrize("batch, steps, n_in, units", [(1, 3, 2, 4), (4, 6, 5, 3)])
def test_rnn_forward_equals_keras_simple_rnn(batch: int, steps: int, n_in: int, units: int) -> None:
    rng = _rng(batch, steps, n_in, units)
    x = rng.normal(size=(batch, steps, n_in)).astype(np.float32)
    w_x = rng.normal(scale=0.5, size=(n_in, units)).astype(np.float32)
    w_h = rng.normal(scale=0.5, size=(units, units)).astype(np.float32)
    b = rng.normal(size=units).astype(np.float32)
    layer = keras.layers.SimpleRNN(units, return_sequences=True)
    layer.build((None, steps, n_in))
    layer.set_weights([w_x, w_h, b])
    _close(mathref.rnn_forward(x, w_x, w_h, b), layer(x))
    h1 = mathref.rnn_step(x[:, 0], np.zeros((batch, units)), w_x, w_h, b)
    _close(h1, keras.ops.tanh(x[:, 0] @ w_x + b))


ATTENTION_CASES = [
    # (batch, T_q, T_k, d_k, d_v, masked)
    (1, 1, 4, 2, 2, False),
    (2, 5, 5, 8, 8, True),
    (3, 4, 6, 4, 3, True),
    (2, 7, 3, 16, 5, False),
]


def _mask(rng: np.random.Generator, batch: int, t_q: int, t_k: int) -> np.ndarray:
    mask = rng.random((batch, t_q, t_k)) < 0.6
    mask[..., 0] = True  # every query may see at least one key
    return mask


@pytest.mark.parametrize("case", ATTENTION_CASES, ids=lambda c: "-".join(map(str, c)))
def test_attention_equals_keras_multi_head_attention_weights_and_output(case: tuple) -> None:
    batch, t_q, t_k, d_k, d_v, masked = case
    rng = _rng(*case[:5])
    q = rng.normal(size=(batch, t_q, d_k)).astype(np.float32)
    k = rng.normal(size=(batch, t_k, d_k)).astype(np.float32)
    v = rng.normal(size=(batch, t_k, d_v)).astype(np.float32)
    mask = _mask(rng, batch, t_q, t_k) if masked else None
    out, weights = mathref.scaled_dot_product_attention(q, k, v, mask)
    # One head, identity projections for Q, K, V: MultiHeadAttention is then exactly
    # softmax(QK^T / sqrt(d_k)) V, followed by its output projection (a random matrix M here).
    mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=d_k, value_dim=d_v)
    mha(q, v, key=k)  # builds the layer
    m = rng.normal(size=(1, d_v, d_k)).astype(np.float32)
    eye_k, eye_v = np.eye(d_k, dtype=np.float32)[:, None, :], np.eye(d_v, dtype=np.float32)[:, None, :]
    zeros = lambda dim: np.zeros((1, dim), np.float32)  # noqa: E731
    mha.set_weights([eye_k, zeros(d_k), eye_k, zeros(d_k), eye_v, zeros(d_v), m, np.zeros(d_k, np.float32)])
    expected_out, expected_weights = mha(q, v, key=k, attention_mask=mask, return_attention_scores=True)
    _close(weights, keras.ops.convert_to_numpy(expected_weights)[:, 0])
    _close(out @ m[0], expected_out)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-6)
    if mask is not None:
        assert np.all(weights[~mask] == 0.0)


@pytest.mark.parametrize("batch, t_q, t_k, d", [(1, 3, 3, 4), (2, 5, 7, 8)])
def test_attention_output_equals_keras_ops_dot_product_attention(batch: int, t_q: int, t_k: int, d: int) -> None:
    rng = _rng(batch, t_q, t_k, d)
    q, k, v = (rng.normal(size=(batch, t, d)).astype(np.float32) for t in (t_q, t_k, t_k))
    mask = _mask(rng, batch, t_q, t_k)
    out, _ = mathref.scaled_dot_product_attention(q, k, v, mask)
    heads = lambda a: a[:, :, None, :]  # noqa: E731  (B, T, N=1, H)
    expected = keras.ops.dot_product_attention(heads(q), heads(k), heads(v), mask=mask[:, None])
    _close(out, keras.ops.convert_to_numpy(expected)[:, :, 0])


def test_attention_with_a_fully_masked_row_gives_zeros_not_nan() -> None:
    q = k = v = np.ones((1, 2, 3))
    out, weights = mathref.scaled_dot_product_attention(q, k, v, np.array([[True, True], [False, False]]))
    assert np.all(np.isfinite(out)) and np.all(weights[0, 1] == 0.0)
    np.testing.assert_allclose(weights[0, 0], [0.5, 0.5])


# --------------------------------------------------------------------------- the two-layer network, backward


def _two_layer_case(activation: str, n: int = 6, n_in: int = 5, hidden: int = 4, classes: int = 3, seed: int = 0):
    rng = _rng(n, n_in, hidden, seed)
    x = rng.normal(size=(n, n_in))
    y = rng.integers(0, classes, n)
    params = mathref.init_two_layer(n_in, hidden, classes, seed=seed)
    params["b1"] = rng.normal(scale=0.1, size=hidden)  # nonzero, so relu's kinks are not all at 0
    params["b2"] = rng.normal(scale=0.1, size=classes)
    return x, y, params


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_two_layer_backward_equals_gradienttape(activation: str) -> None:
    x, y, params = _two_layer_case(activation)
    probs, cache = mathref.two_layer_forward(x, params, activation)
    grads = mathref.two_layer_backward(cache, y, params, activation)
    variables = {name: tf.Variable(value) for name, value in params.items()}  # float64
    act = TF_ACTIVATIONS[activation]
    with tf.GradientTape() as tape:
        logits = act(x @ variables["W1"] + variables["b1"]) @ variables["W2"] + variables["b2"]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    expected = tape.gradient(loss, variables)
    _close(probs, tf.nn.softmax(logits), atol=GRAD_TOL, rtol=GRAD_TOL)
    assert mathref.two_layer_loss(x, y, params, activation) == pytest.approx(float(loss), rel=1e-12)
    for name in params:
        _close(grads["d" + name], expected[name], atol=GRAD_TOL, rtol=GRAD_TOL)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_two_layer_backward_equals_finite_differences(activation: str) -> None:
    x, y, params = _two_layer_case(activation, seed=1)
    _, cache = mathref.two_layer_forward(x, params, activation)
    grads = mathref.two_layer_backward(cache, y, params, activation)
    for name in params:
        numeric = mathref.numerical_gradient(lambda _: mathref.two_layer_loss(x, y, params, activation), params[name])
        np.testing.assert_allclose(grads["d" + name], numeric, atol=FD_TOL)


def test_numerical_gradient_of_a_known_function() -> None:
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(mathref.numerical_gradient(lambda a: float(np.sum(a**3)), x), 3 * x**2, atol=1e-6)
    with pytest.raises(TypeError):
        mathref.numerical_gradient(lambda a: 0.0, x.astype(np.float32))


def test_articles_weight_gradient_shapes_do_not_match() -> None:
    """Column form, as the article writes it: W2 is (n_out, n_hidden), A1 is (n_hidden, N), delta2 (n_out, N)."""
    x, y, params = _two_layer_case("relu")
    _, cache = mathref.two_layer_forward(x, params, "relu")
    grads = mathref.two_layer_backward(cache, y, params, "relu")
    delta2_col = ((cache["P"] - mathref.one_hot(y, 3)) / len(y)).T
    a1_col = cache["A1"].T
    np.testing.assert_allclose(delta2_col @ a1_col.T, grads["dW2"].T, atol=1e-12)  # dJ/dW = delta A^T
    with pytest.raises(ValueError):
        _ = a1_col @ delta2_col  # the article's A^(l-1) delta^(l+1): (4, 6) @ (3, 6) cannot be multiplied


def test_conv2d_backward_matches_tensorflow_and_refuses_mismatched_shapes() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 9, 8, 2))
    w, b = rng.normal(size=(3, 3, 2, 4)), rng.normal(size=4)
    for stride in (1, 2):
        r = rng.normal(size=mathref.conv2d(x, w, b, stride=stride).shape)
        w_var, b_var = tf.Variable(w), tf.Variable(b)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(r * (tf.nn.conv2d(x, w_var, stride, "VALID") + b_var))  # so dJ/dZ = r
        dw_tf, db_tf = tape.gradient(loss, [w_var, b_var])
        dw, db = mathref.conv2d_backward(x, r, 3, stride)
        np.testing.assert_allclose(dw, dw_tf.numpy(), atol=1e-10)
        np.testing.assert_allclose(db, db_tf.numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="does not fit"):
        mathref.conv2d_backward(x, np.zeros((3, 5, 5, 4)), 3)


def test_compare_prints_one_line_and_catches_a_difference(capsys: pytest.CaptureFixture[str]) -> None:
    mathref.compare("same", np.ones(3), tf.ones(3, dtype=tf.float64))
    mathref.compare("different", np.zeros(3), np.array([0.0, 0.0, 1e-3]))
    mathref.compare("shapes", np.zeros(3), np.zeros((3, 1)))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "same: max |diff| < 1e-05: True",
        "different: max |diff| < 1e-05: False",
        "shapes: max |diff| < 1e-05: False",
    ]
