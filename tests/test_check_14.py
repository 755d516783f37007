"""Checkers of notebook 14 (outlook): a right and a wrong answer each, and no answer revealed."""

from __future__ import annotations

from course_utils.checks import nb14
from course_utils.topics import costs


def test_optimal_tokens() -> None:
    assert nb14.ex14_optimal_tokens(costs.compute_optimal_tokens(7e9))
    wrong = nb14.ex14_optimal_tokens(7e9 * 1.7)  # GPT-3's ratio, not Chinchilla's
    assert not wrong and "140" not in str(wrong)
    assert not nb14.ex14_optimal_tokens("lots")  # type: ignore[arg-type]


def test_kv_cache_bytes() -> None:
    right = costs.kv_cache_bytes(
        num_layers=32, num_kv_heads=32, head_dim=128, context_length=4096, batch_size=8, bytes_per_value=2
    )
    assert nb14.ex14_kv_cache_bytes(right)
    forgot_the_two = nb14.ex14_kv_cache_bytes(right / 2)  # keys only
    assert not forgot_the_two and "17" not in str(forgot_the_two)
    assert not nb14.ex14_kv_cache_bytes(right / 1e9)  # in GB, not bytes


def test_training_days() -> None:
    estimate = costs.estimate_training(
        70e9, 1.4e12, peak_tflops=989, utilisation=0.4, num_accelerators=1024, price_per_accelerator_hour=0
    )
    assert nb14.ex14_training_days(estimate.days)
    wrong = nb14.ex14_training_days(estimate.days * 0.4)  # utilisation applied the wrong way round
    assert not wrong and "16." not in str(wrong)
