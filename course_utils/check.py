"""Self-checks for the exercises: right or wrong, and a hint, without giving the answer away.

Taught in notebook 00 (how the exercises work); every notebook's exercises use it. Each checker
takes the learner's answer and returns a :class:`Feedback`, which shows as one line in a notebook
(``✓ right`` or ``✗ not yet: <hint>``). A checker never prints or returns the expected answer.
Checkers are grouped by the notebook that asks the question; each has a test with a right and a
wrong answer.

No library fits this: nbgrader's tests are for graders and reveal the assertion; these are for a
learner working alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``ok`` and a ``hint`` for the next try (empty when right)."""

    ok: bool
    hint: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return "✓ right" if self.ok else f"✗ not yet: {self.hint}"

    def _repr_markdown_(self) -> str:
        return f"**{self}**"


def verdict(ok: bool, hint: str) -> Feedback:
    """A :class:`Feedback`: right, or wrong with ``hint``. The building block of every checker."""
    return Feedback(True) if ok else Feedback(False, hint)


def close_to(answer: float, expected: float, *, rel: float = 1e-2, hint: str) -> Feedback:
    """Right when ``answer`` is within ``rel`` (relative) of ``expected``; the hint never names it."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"expected a number, got {type(answer).__name__}")
    return verdict(abs(value - expected) <= rel * max(abs(expected), 1e-12), hint)


# --------------------------------------------------------------------------- checkers by notebook
# Add a section per notebook ("# notebook NN"), each checker typed, documented, and tested in
# tests/test_check.py (or tests/test_check_NN.py) with one right and one wrong answer.


# --------------------------------------------------------------------------- notebook 13
# Recommendation: ranking metrics by hand, mean reciprocal rank, sampled versus full ranking.

_RANKS_13 = (0, 3, 12, 9)  # the 0-based ranks of exercise 1 of notebook 13


def recsys_metrics_by_hand(hit_rate: float, ndcg: float) -> Feedback:
    """Notebook 13, exercise 1: HR@10 and NDCG@10 of four users whose held-out items rank 0, 3, 12 and 9 (0-based)."""
    import math

    ranks = _RANKS_13
    expected_hr = sum(r < 10 for r in ranks) / len(ranks)
    expected_ndcg = sum(1 / math.log2(r + 2) for r in ranks if r < 10) / len(ranks)
    hr = close_to(hit_rate, expected_hr, rel=1e-3, hint="HR@10: the share of users whose item ranks in the top 10")
    if not hr:
        return hr
    return close_to(
        ndcg,
        expected_ndcg,
        rel=1e-3,
        hint="NDCG@10: a hit at 0-based rank r scores 1 / log2(r + 2), a miss scores 0; average over all four users",
    )


def recsys_mrr(mrr: object) -> Feedback:
    """Notebook 13, exercise 2: a function ``mrr(ranks)`` (0-based ranks) returning the mean reciprocal rank."""
    import numpy as np

    if not callable(mrr):
        return Feedback(False, "pass the function itself, e.g. check.recsys_mrr(mrr)")
    cases = [np.array([0, 0, 0]), np.array([1, 3, 9, 99]), np.array([0, 4]), np.array([2.0, 0.0, 50.0])]
    for ranks in cases:
        try:
            value = float(mrr(ranks))
        except Exception as err:  # a learner's function may fail in any way; say how
            return Feedback(False, f"mrr({ranks.tolist()}) raised {type(err).__name__}: {err}")
        expected = float(np.mean(1.0 / (ranks + 1.0)))
        if not np.isfinite(value) or abs(value - expected) > 1e-9:
            return Feedback(
                False,
                f"mrr({ranks.tolist()}) gave {value:.4f}; ranks are 0-based, so the top item (rank 0) scores 1/1",
            )
    return Feedback(True)


def recsys_full_ranking(hit_rate: float, split: object) -> Feedback:
    """Notebook 13, exercise 3: HR@10 of popularity when each test item is ranked against *all* its untouched items."""
    import numpy as np

    from course_utils import recsys

    counts = recsys.popularity(split)  # type: ignore[arg-type]
    rows = np.broadcast_to(counts, (len(split.test), split.num_items))  # type: ignore[attr-defined]
    expected = recsys.hit_rate_at_k(recsys.ranks_among_all_items(rows, split), 10)  # type: ignore[arg-type]
    return close_to(
        hit_rate,
        expected,
        rel=1e-6,
        hint="score every item by its training popularity for every test user, then use "
        "recsys.ranks_among_all_items (not 99 sampled candidates) and recsys.hit_rate_at_k",
    )


# --------------------------------------------------------------------------- notebook 00
def ex00_test_images(answer: int) -> Feedback:
    """00, exercise 3: how many test images your data source holds (it depends on the source)."""
    from course_utils import data

    expected = len(data.load_mnist(verbose=False)[1][0])
    return verdict(
        _is_int(answer) and int(answer) == expected, "count `len(x_test)`, the images the slider would browse"
    )


# --------------------------------------------------------------------------- notebook 01
def ex01_chinchilla_estimate(answer: float) -> Feedback:
    """01, exercise 1: the 6·N·D estimate of Chinchilla's training compute (not the published figure)."""
    return close_to(answer, 6 * 70e9 * 1.4e12, rel=5e-3, hint="use training_flops(N, D) with Chinchilla's row")


def ex01_gpt3_chinchilla_tokens(answer: float) -> Feedback:
    """01, exercise 2: tokens GPT-3 (175B) would need at about 20 tokens per parameter."""
    return close_to(answer, 20 * 175e9, rel=1e-2, hint="tokens = 20 x parameters")


def ex01_h100_count(answer: float) -> Feedback:
    """01, exercise 3: H100s that train Llama 3.1 405B (3.8e25 FLOPs) in 30 days at 40% utilisation.

    Uses the H100's dense 16-bit peak from the accelerators table (989 TFLOP/s).
    """
    expected = 3.8e25 / (989e12 * 0.40 * 30 * 86_400)
    return close_to(answer, expected, rel=2e-2, hint="chips = FLOPs / (peak FLOP/s x utilisation x seconds in 30 days)")


# --------------------------------------------------------------------------- notebook 02
def ex02_densenet121_parameters(answer: int) -> Feedback:
    """02, exercise 1: the parameter count Keras gives DenseNet121 built with ``weights=None``."""
    return verdict(
        _is_int(answer) and int(answer) == 8_062_504,
        "build keras.applications.DenseNet121(weights=None) and call count_params()",
    )


def ex02_int4_step_ratio(answer: float) -> Feedback:
    """02, exercise 4: how many times larger the 4-bit step is than the 8-bit step (same tensor)."""
    return close_to(answer, 127 / 7, rel=1e-2, hint="the step is max|w| / 127 for int8 and max|w| / 7 for 4 bits")


# --------------------------------------------------------------------------- notebook 03
def ex03_shared_hashes(find_shared: object) -> Feedback:
    """03, exercise 1: ``find_shared(train_images, test_images)`` returns what the two sets share.

    Accepts any collection (hashes or indices) or a count; it must find one planted copy among
    images that are otherwise all different, and nothing when there is none.
    """
    if not callable(find_shared):
        return Feedback(False, "pass your function itself, e.g. check.ex03_shared_hashes(find_shared)")
    import numpy as np

    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    try:
        none_shared = _count(find_shared(train, test))
        test[7] = train[21]
        one_shared = _count(find_shared(train, test))
    except Exception as err:  # a learner's function may fail in any way: report it, do not crash
        return Feedback(False, f"your function raised {type(err).__name__}: {err}")
    return verdict(
        none_shared == 0 and one_shared == 1,
        "hash every image of each set (hashlib.sha1(image.tobytes())) and intersect the two sets of hashes",
    )


def ex03_most_confused(answer: tuple[int, int], matrix: object) -> Feedback:
    """03, exercise 4: the pair of digits (either order) mixed up most often in ``matrix``, both ways counted."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        return Feedback(False, "pass the confusion matrix as the second argument")
    both_ways = counts + counts.T
    np.fill_diagonal(both_ways, -1)
    try:
        a, b = (int(digit) for digit in answer)
    except (TypeError, ValueError):
        return Feedback(False, "answer with a pair of digits, e.g. (4, 9)")
    best = both_ways.max()
    return verdict(
        a != b and 0 <= a < len(counts) and 0 <= b < len(counts) and both_ways[a, b] == best,
        "add the matrix to its transpose, ignore the diagonal, and find the largest entry",
    )


# --------------------------------------------------------------------------- notebook 04a
def ex04a_uniform_loss(answer: float) -> Feedback:
    """04a, exercise 1: the cross-entropy of a uniform prediction over 10 classes."""
    import math

    return close_to(
        answer, math.log(10), rel=1e-3, hint="every class gets probability 1/10; L = -log(p of the true class)"
    )


# --------------------------------------------------------------------------- notebook 04b
def ex04b_dense128_parameters(answer: int) -> Feedback:
    """04b, exercise 1: parameters of the article's CNN with Dense(128) (its third draft)."""
    expected = (9 + 1) * 32 + (9 * 32 + 1) * 64 + (5 * 5 * 64 + 1) * 128 + (128 + 1) * 10
    return verdict(_is_int(answer) and int(answer) == expected, "only the two dense layers change: (n_in + 1) x n_out")


def ex04b_attention_max_weight(answer: float, angle: float) -> Feedback:
    """04b, exercise 4: the largest attention weight of a length-8 query at ``angle`` degrees (the explorer's keys)."""
    import numpy as np

    from course_utils import mathref

    key_angles = np.deg2rad(np.arange(0, 360, 60))
    keys = np.stack([np.cos(key_angles), np.sin(key_angles)], axis=1) * 2.0
    query = 8.0 * np.array([[np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))]])
    expected = float(mathref.scaled_dot_product_attention(query, keys, np.eye(6))[1].max())
    return close_to(answer, expected, rel=1e-2, hint="read the tallest bar with length 8 at that angle")


def ex04b_same_padding(size: int, padding: tuple[int, int]) -> Feedback:
    """04b, exercise 5: output size and (before, after) padding of a 3x3, stride-2, "same" convolution of 28 pixels."""
    try:
        ok = int(size) == 14 and tuple(int(p) for p in padding) == (0, 1)
    except (TypeError, ValueError):
        return Feedback(False, "answer with a size and a (before, after) pair")
    return verdict(ok, "'same' gives ceil(n / stride); the one zero needed goes where TensorFlow puts it")


def _is_int(value: object) -> bool:
    try:
        return float(value) == int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _count(found: object) -> int:
    """A learner's answer as a count: a number stays, a collection gives its length."""
    if isinstance(found, bool):
        return int(found)
    if isinstance(found, int):
        return found
    return len(found)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- notebook 05
def _whole_number(value: object) -> bool:
    """True for an int or a float with no fractional part (not for a bool or a string)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def ex05_same_padding(flat: int, total: int) -> Feedback:
    """Exercise 1 of notebook 05: the flattened size and the parameter total with ``padding="same"``.

    For the first draft's network (64 hidden units): "same" keeps 28x28 through each convolution,
    so only the two poolings shrink the maps.
    """
    if not (_whole_number(flat) and _whole_number(total)):
        return verdict(False, "give both as whole numbers: the flattened length and the parameter total")
    side = 28 // 2 // 2
    expected_flat = side * side * 64
    expected_total = (3 * 3 * 1 + 1) * 32 + (3 * 3 * 32 + 1) * 64 + (expected_flat + 1) * 64 + (64 + 1) * 10
    if int(flat) != expected_flat:
        return verdict(False, "the flattened size: with 'same' only the two 2x2 poolings shrink the 28x28 maps")
    return verdict(int(total) == expected_total, "flat size right; recount the first dense layer: (inputs + 1) x units")


def ex05_half_the_parameters(count: int, baseline: int = 121_930) -> Feedback:
    """Exercise 4 of notebook 05: a variant of the first-draft CNN with at most half its parameters."""
    if not _whole_number(count) or int(count) <= 0:
        return verdict(False, "pass model.count_params() of your smaller model")
    return verdict(
        int(count) <= baseline / 2, "still more than half the original: which layer holds most of the weights?"
    )


# --------------------------------------------------------------------------- notebook 06
def ex06_resumed_epochs(resumed: object, *, epochs: int, interrupted_after: int) -> Feedback:
    """Exercise 2 of notebook 06: the epochs a resumed ``fit`` ran (``history.epoch``), after an interruption."""
    try:
        ran = [int(e) for e in resumed]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return verdict(False, "pass history.epoch of the resumed fit call: a list of epoch numbers")
    if ran == list(range(epochs)):
        return verdict(False, "it ran every epoch again: did both fit calls use the same BackupAndRestore folder?")
    return verdict(
        ran == list(range(interrupted_after, epochs)),
        "a resumed call should run exactly the epochs the interrupted one did not finish",
    )


# --------------------------------------------------------------------------- notebook 07
def ex07_macro_f1(answer: float, matrix: object) -> Feedback:
    """Exercise 3 of notebook 07: the macro-average F1 computed from a confusion matrix alone."""
    import numpy as np

    cm = np.asarray(matrix, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        return verdict(False, "pass the square confusion matrix as the second argument")
    hits = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(cm.sum(axis=0) > 0, hits / cm.sum(axis=0), 0.0)
        recall = np.where(cm.sum(axis=1) > 0, hits / cm.sum(axis=1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return close_to(
        answer,
        float(f1.mean()),
        rel=1e-6,
        hint="precision of digit k: diagonal over its column sum; recall: over its row sum; then average the ten F1s",
    )


def ex07_temperature_scaling(probabilities: object, scaled: object) -> Feedback:
    """Exercise 2 of notebook 07: temperature-scaled probabilities keep every prediction and stay distributions."""
    import numpy as np

    p, q = np.asarray(probabilities, dtype=float), np.asarray(scaled, dtype=float)
    if p.shape != q.shape or p.ndim != 2:
        return verdict(False, "pass the original and the scaled probabilities, both shaped (images, 10)")
    if not np.allclose(q.sum(axis=1), 1.0, atol=1e-5):
        return verdict(False, "each scaled row must sum to 1 again: renormalise after p ** (1 / T)")
    return verdict(
        bool(np.array_equal(p.argmax(axis=1), q.argmax(axis=1))),
        "a temperature must not change which digit is most probable; raise p to 1 / T, a positive power",
    )


# --------------------------------------------------------------------------- notebook 08
def ex08_underfits(train_accuracy: float) -> Feedback:
    """Exercise 4 of notebook 08: a penalty strong enough that the model no longer fits its own training images."""
    try:
        value = float(train_accuracy)
    except (TypeError, ValueError):
        return verdict(False, "pass the training accuracy of your strongly penalised run, a number in [0, 1]")
    return verdict(value < 0.98, "the model still fits its training images almost perfectly: try a larger penalty")


# --------------------------------------------------------------------------- notebook 09
def ex09_self_supervised_tasks(answer: object) -> Feedback:
    """Exercise 1 of notebook 09: which of the six tasks (a)-(f) are self-supervised pretext tasks."""
    try:
        letters = {str(item).strip().lower().strip("()") for item in answer}  # type: ignore[attr-defined]
    except TypeError:
        return verdict(False, "answer with a set of letters, for example {'a', 'b'}")
    if not letters <= set("abcdef"):
        return verdict(False, "use only the letters a to f")
    expected = {"a", "c", "e"}
    if letters - expected:
        return verdict(False, "one of your letters trains nothing, or uses labels that people made")
    return verdict(letters == expected, "there are more: look for every task whose target is computed from the example")


def ex09_pseudo_label_precision(
    answer: float, probabilities: object, hidden_labels: object, *, threshold: float
) -> Feedback:
    """Exercise 2 of notebook 09: the share of right pseudo-labels at ``threshold`` (recomputed, never shown)."""
    import numpy as np

    probabilities, hidden_labels = np.asarray(probabilities), np.asarray(hidden_labels)
    keep = probabilities.max(axis=1) >= threshold
    if not keep.any():
        return verdict(False, "no prediction reaches this threshold: there is nothing to measure")
    expected = float(np.mean(probabilities[keep].argmax(axis=1) == hidden_labels[keep]))
    return close_to(
        answer,
        expected,
        rel=1e-3,
        hint="keep only the rows whose largest probability reaches the threshold, then compare their argmax "
        "with the hidden labels of the same rows",
    )


def ex09_nt_xent(answer: float, z1: object, z2: object, *, temperature: float) -> Feedback:
    """Exercise 3 of notebook 09: the NT-Xent loss of two views, computed by hand (checked with NumPy)."""
    import numpy as np

    z = np.concatenate([np.asarray(z1, dtype=float), np.asarray(z2, dtype=float)])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z) // 2
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)
    partners = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    top = logits.max(axis=1, keepdims=True)
    log_softmax = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    expected = float(-log_softmax[np.arange(2 * n), partners].mean())
    return close_to(
        answer,
        expected,
        rel=1e-3,
        hint="normalise every vector first, divide the similarities by the temperature, and leave out each "
        "vector's similarity with itself before the softmax",
    )


# --------------------------------------------------------------------------- notebook 14
def ex14_optimal_tokens(answer: float) -> Feedback:
    """Exercise 1 of notebook 14: compute-optimal training tokens for a 7-billion-parameter model."""
    return close_to(answer, 20 * 7e9, rel=0.05, hint="Hoffmann et al. (2022): about 20 tokens per parameter")


def ex14_kv_cache_bytes(answer: float) -> Feedback:
    """Exercise 2 of notebook 14: the KV cache of Llama 2 7B at a 4,096-token context, batch 8, bf16."""
    return close_to(
        answer,
        2 * 32 * 32 * 128 * 4096 * 8 * 2,
        rel=0.01,
        hint="2 (key and value) x layers x KV heads x head_dim x context x batch x bytes per value, in bytes",
    )


def ex14_training_days(answer: float) -> Feedback:
    """Exercise 3 of notebook 14: days to train Chinchilla (70B, 1.4T tokens) on 1,024 H100s at 40% MFU."""
    seconds = 6 * 70e9 * 1.4e12 / (1024 * 989e12 * 0.4)
    return close_to(
        answer,
        seconds / 86400,
        rel=0.02,
        hint="6 N D FLOPs, divided by (chips x dense bf16 peak in FLOP/s x utilisation), then seconds to days",
    )


# --------------------------------------------------------------------------- notebook 10
def ex10_softened(answer: object, logits: object, *, temperature: float) -> Feedback:
    """Exercise 1 of notebook 10: softmax(logits / temperature), computed by hand (checked with NumPy)."""
    import numpy as np

    z = np.asarray(logits, dtype=float).ravel() / temperature
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    try:
        got = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        return verdict(False, "answer with an array of 10 numbers")
    if got.shape != expected.shape:
        return verdict(False, f"expected one probability per class ({expected.size}), got {got.size}")
    if abs(got.sum() - 1.0) > 1e-3:
        return verdict(False, "probabilities sum to 1: divide the exponentials by their sum")
    return verdict(
        bool(np.allclose(got, expected, atol=1e-4)),
        "divide the logits by the temperature before the exponential (not the probabilities after it)",
    )


def ex10_prune_function(prune: object) -> Feedback:
    """Exercise 2 of notebook 10: a ``prune(weights, sparsity)`` function, tried on random arrays."""
    import numpy as np

    if not callable(prune):
        return verdict(False, "pass the function itself: check.ex10_prune_function(prune)")
    rng = np.random.default_rng(2015)
    for shape, sparsity in [((6, 5), 0.5), ((3, 3, 2, 4), 0.9), ((100,), 0.25), ((4, 4), 0.0)]:
        weights = rng.normal(size=shape)
        try:
            got = np.asarray(prune(weights.copy(), sparsity), dtype=float)
        except Exception as err:  # the learner's code failing is feedback, not a crash
            return verdict(False, f"prune raised {type(err).__name__}: {err}")
        if got.shape != weights.shape:
            return verdict(False, f"keep the shape: got {got.shape} for weights shaped {weights.shape}")
        count = round(sparsity * weights.size)
        order = np.argsort(np.abs(weights), axis=None, kind="stable")
        expected = weights.ravel().copy()
        expected[order[:count]] = 0.0
        if int(np.sum(got == 0)) != count:
            return verdict(False, f"with sparsity {sparsity} exactly round(sparsity * size) weights must be zero")
        if not np.allclose(got.ravel(), expected):
            return verdict(False, "zero the weights of smallest *absolute* value, and leave the others unchanged")
    return verdict(True, "")


def ex10_int8_code(answer: object, value: float, *, scale: float, zero_point: int) -> Feedback:
    """Exercise 3 of notebook 10: the int8 code of ``value`` for a tensor's scale and zero point."""
    expected = int(min(127, max(-128, round(value / scale + zero_point))))
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one integer between -128 and 127")
    if got != expected and got == round(value * scale + zero_point):
        return verdict(False, "q = round(x / scale) + zero_point: divide by the scale")
    return verdict(got == expected, "q = round(x / scale) + zero_point, clipped to [-128, 127]")


# notebook 12


def ex12_box_iou(answer: float) -> Feedback:
    """Exercise 1 of notebook 12: the IoU of the boxes [0, 0, 20, 20] and [10, 10, 30, 30], by hand."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "answer with one number between 0 and 1")
    if abs(value - 100 / 400) < 1e-3:
        return verdict(False, "that is the overlap divided by one box's area; divide by the area of the union")
    if abs(value - 100 / 800) < 1e-3:
        return verdict(False, "the union counts the overlap once, not twice: area A + area B - overlap")
    return close_to(value, 1 / 7, rel=1e-2, hint="overlap area / (area A + area B - overlap area)")


def ex12_average_precision(answer: float) -> Feedback:
    """Exercise 2 of notebook 12: VOC's AP of the ranking hit, miss, hit, hit with four true digits."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "answer with one number between 0 and 1")
    uninterpolated = 0.25 * (1 + 2 / 3 + 3 / 4)
    if abs(value - uninterpolated) < 1e-3:
        return verdict(
            False, "VOC first makes precision monotone: at each recall take the best precision at that recall or higher"
        )
    if abs(value - 2.5 / 3) < 1e-3 or abs(value - (1 + 0.75 + 0.75) / 3) < 1e-3:
        return verdict(False, "recall is divided by all four true digits, including the one never found")
    return close_to(value, 0.625, rel=1e-3, hint="sum over recall steps of (recall step) x (interpolated precision)")


def ex12_num_frames(answer: int, *, seconds: float, sample_rate: int = 16000, frame_step: int = 160) -> Feedback:
    """Exercise 3 of notebook 12: how many log-mel frames a clip of ``seconds`` gives (centred STFT)."""
    samples = round(seconds * sample_rate)
    expected = 1 + samples // frame_step
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one whole number")
    if got == expected - 1:
        return verdict(False, "count the frame centred on the very first sample too")
    return verdict(got == expected, "one frame every frame_step samples, centred, starting at sample 0")


# --------------------------------------------------------------------------- notebook 11
# Language: perplexity of a uniform model, the size of multi-head attention, top-p sampling.


def ex11_uniform_perplexity(answer: float, vocab_size: int) -> Feedback:
    """Notebook 11, exercise 1: the perplexity of a model that gives all ``vocab_size`` tokens the same probability."""
    return close_to(
        answer,
        float(vocab_size),
        rel=1e-3,
        hint="perplexity = exp(mean of -log p); here p is the same for every character",
    )


def ex11_attention_parameters(answer: int, *, embed_dim: int, num_heads: int) -> Feedback:
    """Notebook 11, exercise 2: parameters of ``MultiHeadAttention(num_heads, key_dim=embed_dim // num_heads)``."""
    key_dim = embed_dim // num_heads
    projection = embed_dim * num_heads * key_dim + num_heads * key_dim  # one of Q, K, V: kernel and bias
    expected = 3 * projection + num_heads * key_dim * embed_dim + embed_dim  # plus the output projection
    try:
        got = int(answer)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return verdict(False, "answer with one whole number")
    if got == expected - 3 * num_heads * key_dim - embed_dim:
        return verdict(False, "every projection has a bias too")
    if got == 3 * projection:
        return verdict(False, "the heads are mixed back to the model width by an output projection: count it")
    return verdict(got == expected, "count the query, key, value and output projections: kernel and bias each")


def ex11_top_p_filter(top_p_filter: object) -> Feedback:
    """Notebook 11, exercise 3: a function ``top_p_filter(logits, p)`` keeping the smallest set reaching mass ``p``."""
    import numpy as np

    if not callable(top_p_filter):
        return verdict(False, "pass the function itself, e.g. check.ex11_top_p_filter(top_p_filter)")
    cases = [
        (np.log([0.5, 0.3, 0.15, 0.05]), 0.7, {0, 1}),
        (np.log([0.5, 0.3, 0.15, 0.05]), 0.5, {0}),
        (np.log([0.05, 0.15, 0.3, 0.5]), 0.9, {1, 2, 3}),
        (np.array([2.0, 0.0, 1.0]), 1.0, {0, 1, 2}),
        (np.array([3.0, 1.0, 2.0, 0.5]), 0.1, {0}),
    ]
    for logits, p, expected in cases:
        try:
            result = np.asarray(top_p_filter(logits.copy(), p), dtype=float)
        except Exception as err:  # a learner's function may fail in any way; say how
            return verdict(False, f"top_p_filter(..., p={p}) raised {type(err).__name__}: {err}")
        if result.shape != logits.shape:
            return verdict(False, f"return an array shaped like the logits {logits.shape}, got {result.shape}")
        kept = set(np.flatnonzero(np.isfinite(result)).tolist())
        if kept and not np.allclose(result[sorted(kept)], logits[sorted(kept)]):
            return verdict(False, "leave the kept logits unchanged (only the others become -inf)")
        if kept != expected:
            return verdict(
                False,
                f"with p={p} you kept {len(kept)} token(s): keep the most likely ones, in order, until their "
                "probabilities add up to at least p (the token that crosses p is kept)",
            )
    return verdict(True, "")
