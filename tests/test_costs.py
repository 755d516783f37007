"""course_utils.topics.costs: the calculators of notebook 14, checked against published runs and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import data
from course_utils.topics import costs

GPT3_PARAMETERS, GPT3_TOKENS, GPT3_FLOPS = 175e9, 300e9, 3.14e23  # Brown et al. 2020


def test_six_n_d_matches_gpt3_published_compute() -> None:
    assert costs.training_flops(GPT3_PARAMETERS, GPT3_TOKENS) == pytest.approx(GPT3_FLOPS, rel=0.01)


def test_gpt3_on_v100s_matches_patterson_et_al() -> None:
    """Patterson et al. 2021 (Table 4): GPT-3 on 10,000 V100s at 24.6 TFLOP/s each took 14.8 days."""
    estimate = costs.estimate_training(
        GPT3_PARAMETERS,
        GPT3_TOKENS,
        peak_tflops=125,
        utilisation=24.6 / 125,
        num_accelerators=10_000,
        price_per_accelerator_hour=2.0,
        power_watts=300,
    )
    assert estimate.days == pytest.approx(14.8, rel=0.02)
    assert estimate.accelerator_hours == pytest.approx(10_000 * estimate.days * 24)
    assert estimate.cost_usd == pytest.approx(2.0 * estimate.accelerator_hours)
    assert estimate.energy_kwh == pytest.approx(estimate.accelerator_hours * 0.3)
    assert "days" in estimate.describe() and "MWh" in estimate.describe()


def test_more_chips_or_utilisation_is_faster_but_not_cheaper() -> None:
    base = dict(peak_tflops=989, price_per_accelerator_hour=3.0)
    one = costs.estimate_training(1e9, 2e10, utilisation=0.4, num_accelerators=8, **base)
    two = costs.estimate_training(1e9, 2e10, utilisation=0.4, num_accelerators=16, **base)
    assert two.seconds == pytest.approx(one.seconds / 2) and two.cost_usd == pytest.approx(one.cost_usd)
    better = costs.estimate_training(1e9, 2e10, utilisation=0.8, num_accelerators=8, **base)
    assert better.cost_usd == pytest.approx(one.cost_usd / 2)
    assert one.energy_kwh is None


@pytest.mark.parametrize(
    "bad",
    [
        dict(utilisation=40),  # a percentage, not a fraction
        dict(utilisation=0),
        dict(num_accelerators=0),
        dict(num_accelerators=0.5),  # int(0.5) was 0: a ZeroDivisionError (issue 25)
        dict(num_accelerators=8.7),  # int(8.7) was 8: a quietly wrong answer
        dict(num_accelerators=True),
        dict(num_accelerators=float("nan")),
        dict(peak_tflops=-1),
        dict(price_per_accelerator_hour="cheap"),
    ],
)
def test_bad_training_inputs_say_what_to_fix(bad: dict) -> None:
    arguments = dict(peak_tflops=989, utilisation=0.4, num_accelerators=8, price_per_accelerator_hour=3.0)
    arguments.update(bad)
    with pytest.raises(ValueError, match=next(iter(bad))):
        costs.estimate_training(1e9, 2e10, **arguments)


def test_a_count_of_accelerators_says_to_pass_a_whole_number() -> None:
    arguments = dict(peak_tflops=989, utilisation=0.4, price_per_accelerator_hour=3.0)
    with pytest.raises(ValueError, match=r"num_accelerators is a count: pass a whole number of at least 1.*0\.5"):
        costs.estimate_training(1e9, 2e10, num_accelerators=0.5, **arguments)
    whole = costs.estimate_training(1e9, 2e10, num_accelerators=8.0, **arguments)
    assert whole == costs.estimate_training(1e9, 2e10, num_accelerators=8, **arguments), "8.0 is 8 accelerators"
    for bad in (0.5, 0, 2.5):
        with pytest.raises(ValueError, match="num_accelerators is a count"):
            costs.decode_tokens_per_second_compute_bound(7e9, peak_tflops=989, num_accelerators=bad, utilisation=0.5)
    with pytest.raises(ValueError, match=r"40% is 0\.4"):
        costs.decode_tokens_per_second_compute_bound(7e9, peak_tflops=989, num_accelerators=1, utilisation=40)


def test_compute_optimal_size_inverts_six_n_d() -> None:
    parameters, tokens = costs.compute_optimal_size(5.76e23)
    assert tokens == pytest.approx(20 * parameters)
    assert costs.training_flops(parameters, tokens) == pytest.approx(5.76e23)
    assert 60e9 < parameters < 75e9  # Chinchilla itself: 70B parameters for Gopher's budget


def test_chinchilla_table3_follows_six_n_d_and_twenty_tokens_per_parameter() -> None:
    table = data.load_table("chinchilla_optimal")
    ratio = table["flops"] / (6 * table["parameters"] * table["tokens"])
    assert ratio.between(0.9, 1.05).all(), ratio.tolist()
    per_parameter = table["tokens"] / table["parameters"]
    assert per_parameter.between(19, 23).all(), per_parameter.tolist()


def test_scaling_laws_table_holds_the_published_constants() -> None:
    table = data.load_table("scaling_laws").set_index(["law", "symbol"])["value"]
    assert table[("kaplan_n", "alpha_N")] == 0.076 and table[("kaplan_n", "N_c")] == 8.8e13
    chinchilla = {symbol: table[("chinchilla", symbol)] for symbol in ["E", "A", "B", "alpha", "beta"]}
    assert chinchilla == {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    assert costs.chinchilla_loss(70e9, 1.4e12, **{k.lower(): v for k, v in chinchilla.items()}) == pytest.approx(
        costs.chinchilla_loss(70e9, 1.4e12)
    )


def test_scaling_laws_fall_with_size() -> None:
    assert costs.kaplan_loss_parameters(1e9) > costs.kaplan_loss_parameters(1e10)
    assert costs.kaplan_loss_parameters(8.8e13) == pytest.approx(1.0)  # N = N_c gives 1 nat
    assert costs.kaplan_loss_compute(3.1e8) == pytest.approx(1.0)
    # Chinchilla's loss never goes below the irreducible term E.
    assert 1.69 < costs.chinchilla_loss(1e15, 1e18) < 1.7
    # For Gopher's budget, Chinchilla (70B, 1.4T) has a lower predicted loss than Gopher (280B, 300B).
    assert costs.chinchilla_loss(70e9, 1.4e12) < costs.chinchilla_loss(280e9, 300e9)


def test_kv_cache_by_hand() -> None:
    """Llama 2 70B (80 layers, 8 KV heads of 128) at 4,096 tokens, batch 1, bf16: 2*80*8*128*4096*2 bytes."""
    by_hand = 2 * 80 * 8 * 128 * 4096 * 1 * 2
    assert by_hand == 1_342_177_280
    assert (
        costs.kv_cache_bytes(num_layers=80, num_kv_heads=8, head_dim=128, context_length=4096, batch_size=1) == by_hand
    )
    doubled = costs.kv_cache_bytes(num_layers=80, num_kv_heads=8, head_dim=128, context_length=4096, batch_size=2)
    assert doubled == 2 * by_hand
    with pytest.raises(ValueError, match="context_length"):
        costs.kv_cache_bytes(num_layers=80, num_kv_heads=8, head_dim=128, context_length=0, batch_size=1)


def test_training_memory_is_sixteen_bytes_per_parameter_plus_activations() -> None:
    parts = costs.training_memory(7e9, activation_bytes=5e9)
    assert parts["weights"] == 14e9 and parts["gradients"] == 14e9 and parts["optimizer"] == 84e9
    assert parts["total"] == pytest.approx(16 * 7e9 + 5e9)


def test_activation_estimate_of_korthikanti_et_al() -> None:
    # s*b*h*(34 + 5*a*s/h) with s=2048, b=1, h=4096, a=32: computed by hand.
    assert costs.activation_bytes_per_layer(2048, 1, 4096, 32) == 2048 * 4096 * (34 + 5 * 32 * 2048 / 4096)


def test_serving_memory_by_precision() -> None:
    bf16 = costs.serving_memory(70e9, precision="bf16")["weights"]
    assert bf16 == 140e9
    assert costs.serving_memory(70e9, precision="int8")["weights"] == bf16 / 2
    assert costs.serving_memory(70e9, precision="INT4", kv_cache=1e9)["total"] == 35e9 + 1e9
    with pytest.raises(ValueError, match="int3"):
        costs.serving_memory(70e9, precision="int3")


def test_accelerators_needed() -> None:
    assert costs.accelerators_needed(140e9, 80) == 2
    assert costs.accelerators_needed(160e9, 80) == 2
    assert costs.accelerators_needed(160.1e9, 80) == 3
    assert costs.accelerators_needed(1, 80) == 1


def test_decode_bound_and_cost_per_million_tokens() -> None:
    # 14 GB of weights, no cache, 3,350 GB/s: at most 3350/14 steps per second, one token each.
    single = costs.decode_tokens_per_second_bound(
        weight_bytes=14e9, kv_bytes_per_sequence=0, batch_size=1, bandwidth_gb_s=3350
    )
    assert single == pytest.approx(3350 / 14)
    batched = costs.decode_tokens_per_second_bound(
        weight_bytes=14e9, kv_bytes_per_sequence=1e9, batch_size=16, bandwidth_gb_s=3350
    )
    assert batched == pytest.approx(16 * 3350e9 / (14e9 + 16e9))
    assert batched > single  # batching shares the weight reads
    assert costs.cost_per_million_tokens(3.6, 1000) == pytest.approx(1.0)
    assert costs.cost_per_million_tokens(12.29, batched) < costs.cost_per_million_tokens(12.29, single)
    with pytest.raises(ValueError, match="tokens_per_second"):
        costs.cost_per_million_tokens(3.6, 0)


def test_compute_bound_caps_large_batches() -> None:
    bound = costs.decode_tokens_per_second_compute_bound(7e9, peak_tflops=989, num_accelerators=1, utilisation=0.5)
    assert bound == pytest.approx(989e12 * 0.5 / (2 * 7e9))


def test_energy() -> None:
    assert costs.energy_joules(10, 3.6e5) == 3.6e6  # 1 kWh
    assert math.isclose(costs.SECONDS_PER_DAY, 24 * 3600)


def test_accelerator_table_has_the_three_calculator_chips() -> None:
    table = data.load_table("accelerators").set_index("accelerator")
    for chip, tflops, memory in [("A100 (SXM)", 312, 80), ("H100 (SXM)", 989, 80), ("H200 (SXM)", 989, 141)]:
        assert table.loc[chip, "dense_tflops"] == tflops and table.loc[chip, "memory_gb"] == memory
        assert table.loc[chip, "memory_bandwidth_gbs"] > 0 and table.loc[chip, "tdp_w"] > 0


def test_laws_take_arrays_and_refuse_bad_ones() -> None:
    sizes = np.array([1e8, 1e9, 1e10])
    losses = costs.kaplan_loss_parameters(sizes)
    assert losses.shape == (3,) and np.all(np.diff(losses) < 0)
    assert costs.chinchilla_loss(sizes, 20 * sizes)[1] == pytest.approx(costs.chinchilla_loss(1e9, 2e10))
    assert costs.training_flops(sizes, sizes).tolist() == pytest.approx((6 * sizes * sizes).tolist())
    with pytest.raises(ValueError, match="num_parameters must all be more than zero"):
        costs.kaplan_loss_parameters(np.array([1e9, 0.0]))


def test_llama2_70b_hours_imply_a_plausible_mfu() -> None:
    """Touvron et al. 2023 (Table 2): Llama 2 70B, 2.0T tokens, 1,720,320 A100-hours; independent of 6ND's inputs.

    At the A100's 312 TFLOP/s bf16 peak and 43% MFU the estimate must land within 5% of the published hours;
    a wrong FLOP count (2ND, 8ND) or hours bookkeeping would miss by far more.
    """
    estimate = costs.estimate_training(
        70e9, 2.0e12, peak_tflops=312, utilisation=0.43, num_accelerators=2048, price_per_accelerator_hour=0
    )
    assert estimate.accelerator_hours == pytest.approx(1_720_320, rel=0.05)
