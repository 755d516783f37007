"""Checkers of notebooks 00-04: each accepts a right answer and refuses a wrong one, without revealing it."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from course_utils import data, mathref
from course_utils.checks import nb00, nb01, nb02, nb03, nb04a, nb04b


def _shared(train: np.ndarray, test: np.ndarray) -> set[str]:
    digest = lambda image: hashlib.sha1(image.tobytes()).hexdigest()  # noqa: E731
    return {digest(image) for image in train} & {digest(image) for image in test}


def _attention_max(angle: float) -> float:
    keys = (
        np.stack([np.cos(np.deg2rad(a)) for a in range(0, 360, 60)]),
        np.stack([np.sin(np.deg2rad(a)) for a in range(0, 360, 60)]),
    )
    keys_2d = np.stack(keys, axis=1) * 2.0
    query = 8 * np.array([[np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))]])
    return float(mathref.scaled_dot_product_attention(query, keys_2d, np.eye(6))[1].max())


RIGHT_AND_WRONG = [
    (nb01.ex01_chinchilla_estimate, (5.88e23,), (5.76e23,)),  # 6 x 70e9 x 1.4e12 by hand; 5.76e23 is published
    (nb01.ex01_gpt3_chinchilla_tokens, (3.5e12,), (300e9,)),
    (nb01.ex01_h100_count, (37_000,), (3_700,)),
    (nb02.ex02_densenet121_parameters, (8_062_504,), (8_100_000,)),
    (nb02.ex02_int4_step_ratio, (127 / 7,), (16,)),
    (nb03.ex03_shared_hashes, (_shared,), (lambda train, test: [],)),
    (nb04a.ex04a_uniform_loss, (math.log(10),), (math.log2(10),)),
    (nb04b.ex04b_dense128_parameters, (225_034,), (121_930,)),
    (nb04b.ex04b_attention_max_weight, (_attention_max(0.0), 0.0), (0.99, 30.0)),
    (nb04b.ex04b_attention_max_weight, (_attention_max(30.0), 30.0), (_attention_max(0.0), 30.0)),
    (nb04b.ex04b_same_padding, (14, (0, 1)), (14, (1, 0))),
]


@pytest.mark.parametrize(("checker", "right", "wrong"), RIGHT_AND_WRONG, ids=lambda v: getattr(v, "__name__", ""))
def test_checker_accepts_the_right_answer_and_refuses_a_wrong_one(checker, right, wrong) -> None:
    assert checker(*right).ok, checker(*right)
    feedback = checker(*wrong)
    assert not feedback.ok and feedback.hint
    expected_strings = {str(value) for value in right if isinstance(value, int | float)}
    assert not any(text in feedback.hint for text in expected_strings), "a hint never names the answer"


def test_test_image_count_follows_the_data_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """The count is the source's (10,000 for MNIST, 1,000 for the offline fallback), not a fixed number."""
    expected = 10_000 if data.mnist_source().full else 1_000  # what each source documents, not the checker's sum
    other = 1_000 if expected == 10_000 else 10_000  # the other source's count: a learner's likely slip
    assert nb00.ex00_test_images(expected).ok
    assert nb00.ex00_test_images(float(expected)).ok, "3.0 is a whole number"
    for wrong in (other, expected - 1, "many", 1.5):
        feedback = nb00.ex00_test_images(wrong)
        assert not feedback.ok and feedback.hint and str(expected) not in feedback.hint

    images = np.zeros((37, 28, 28), np.uint8)  # a source of 37 test images: the checker must follow it
    splits = ((images, np.zeros(37, np.uint8)), (images, np.zeros(37, np.uint8)))
    monkeypatch.setattr(data, "load_mnist", lambda **kwargs: splits)
    assert nb00.ex00_test_images(37).ok
    assert not nb00.ex00_test_images(expected).ok


def test_most_confused_pair_takes_either_order() -> None:
    matrix = np.diag([50] * 10)
    matrix[4, 9], matrix[9, 4], matrix[3, 5] = 6, 3, 8  # 4<->9: 9 in total, 3<->5: 8
    assert nb03.ex03_most_confused((9, 4), matrix).ok and nb03.ex03_most_confused((4, 9), matrix).ok
    assert not nb03.ex03_most_confused((3, 5), matrix).ok
    assert not nb03.ex03_most_confused((4, 4), matrix).ok
    assert "pair" in nb03.ex03_most_confused("nine", matrix).hint


def test_bad_input_gets_a_message_not_a_crash() -> None:
    assert "function" in nb03.ex03_shared_hashes(42).hint
    assert "raised" in nb03.ex03_shared_hashes(lambda train, test: 1 / 0).hint
    assert "number" in nb01.ex01_h100_count("many").hint
    assert not nb00.ex00_test_images("ten thousand").ok
