"""What a large model costs: compute, time, money, memory and energy, from a few published numbers.

Taught in notebook 14 (the outlook made concrete). Plain functions of plain numbers, framework-free
(only the scaling laws and 6·N·D also take NumPy arrays or pandas columns), so each one can be
checked by hand:

- training compute, C ≈ 6·N·D (Kaplan et al. 2020), and the compute-optimal token count, D ≈ 20·N
  (Hoffmann et al. 2022);
- the published scaling laws of Kaplan et al. (2020) and Hoffmann et al. (2022), as functions;
- wall-clock time, accelerator-hours, money and energy of a training run (:func:`estimate_training`);
- memory to train (weights, gradients, Adam states, activations) and to serve (weights at a given
  precision plus the KV cache);
- the cost of serving: an upper bound on decoding speed from memory bandwidth, and the cost per
  million generated tokens.

Every constant here is either a definition (bytes in a bf16 number) or cited where it is defined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SECONDS_PER_DAY = 86_400.0
PF_DAY_FLOPS = 1e15 * SECONDS_PER_DAY  # one petaFLOP/s for a day: Kaplan et al.'s compute unit
CHINCHILLA_TOKENS_PER_PARAMETER = 20.0  # Hoffmann et al. 2022, Table 3: about 20 tokens per parameter
#: Bytes per stored number at the precisions the calculators offer.
BYTES_PER_VALUE = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}
#: Mixed-precision training with Adam keeps 16 bytes per parameter (Rajbhandari et al. 2020, ZeRO, section 3.1):
#: 2 (16-bit weights) + 2 (16-bit gradients) + 12 (fp32 master weights, momentum and variance).
ADAM_MIXED_PRECISION_BYTES = {"weights": 2.0, "gradients": 2.0, "optimizer": 12.0}


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """``value`` as a float, or a ``ValueError`` that names the argument and says what it must be."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or number < 0 or (number == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return number


def _count(name: str, value: Any) -> int:
    """``value`` as a whole number of at least one (``8`` or ``8.0``), or a ``ValueError`` that says what to pass.

    ``int(0.5)`` is 0 (a division by zero later) and ``int(8.7)`` is 8 (a quiet wrong answer): refuse both.
    """
    message = f"{name} is a count: pass a whole number of at least 1 (for example 8), got {value!r}"
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (number >= 1 and number.is_integer()):  # also NaN and infinity
        raise ValueError(message)
    return int(number)


def _fraction(name: str, value: float) -> float:
    """A utilisation in (0, 1], or a ``ValueError``: 40% is 0.4, not 40."""
    number = _positive(name, value)
    if number > 1:
        raise ValueError(f"{name} is a fraction of the peak (0-1], got {value!r}; 40% is 0.4")
    return number


def _positive_values(name: str, value: Any) -> Any:
    """Like :func:`_positive` for a number, an array or a pandas column; arrays come back as float arrays."""
    if np.ndim(value) == 0:
        return _positive(name, value)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, got {value!r}") from None
    if not np.all(array > 0):  # also catches NaN
        raise ValueError(f"{name} must all be more than zero")
    return array


# --------------------------------------------------------------------------- compute and scaling laws


def training_flops(num_parameters: Any, num_tokens: Any) -> Any:
    """Training compute of a dense Transformer: C ≈ 6·N·D floating-point operations.

    2 FLOPs per parameter per token forward, 4 backward (Kaplan et al. 2020, section 2.1). Taught in
    notebook 01; notebook 14 builds the cost calculator on it.

    >>> f"{training_flops(175e9, 300e9):.3g}"  # GPT-3; Brown et al. (2020) publish 3.14e23
    '3.15e+23'
    """
    return 6.0 * _positive_values("num_parameters", num_parameters) * _positive_values("num_tokens", num_tokens)


def compute_optimal_tokens(
    num_parameters: float, tokens_per_parameter: float = CHINCHILLA_TOKENS_PER_PARAMETER
) -> float:
    """Tokens that train ``num_parameters`` compute-optimally: about 20 per parameter (Hoffmann et al. 2022).

    Taught in notebook 14.
    """
    return _positive("num_parameters", num_parameters) * _positive("tokens_per_parameter", tokens_per_parameter)


def compute_optimal_size(
    flops: float, tokens_per_parameter: float = CHINCHILLA_TOKENS_PER_PARAMETER
) -> tuple[float, float]:
    """``(parameters, tokens)`` that spend ``flops`` compute-optimally, from C = 6·N·D and D = k·N.

    Solving 6·N·(k·N) = C gives N = sqrt(C / (6k)). Taught in notebook 14.
    """
    ratio = _positive("tokens_per_parameter", tokens_per_parameter)
    parameters = math.sqrt(_positive("flops", flops) / (6.0 * ratio))
    return parameters, ratio * parameters


def kaplan_loss_parameters(num_parameters: Any, *, alpha_n: float = 0.076, n_c: float = 8.8e13) -> Any:
    """Kaplan et al. (2020), eq. 1.1: L(N) = (N_c / N)^α_N, in nats per token on WebText2.

    ``num_parameters`` counts non-embedding parameters; the law holds when data and compute do not
    limit the model. Defaults are the paper's fitted values. Taught in notebook 14.
    """
    return (_positive("n_c", n_c) / _positive_values("num_parameters", num_parameters)) ** alpha_n


def kaplan_loss_compute(compute_pf_days: Any, *, alpha_c: float = 0.050, c_c: float = 3.1e8) -> Any:
    """Kaplan et al. (2020), eq. 1.3: L(C_min) = (C_c / C_min)^α_C, compute in PF-days (8.64e19 FLOPs).

    Taught in notebook 14.
    """
    return (_positive("c_c", c_c) / _positive_values("compute_pf_days", compute_pf_days)) ** alpha_c


def chinchilla_loss(
    num_parameters: Any,
    num_tokens: Any,
    *,
    e: float = 1.69,
    a: float = 406.4,
    b: float = 410.7,
    alpha: float = 0.34,
    beta: float = 0.28,
) -> Any:
    """Hoffmann et al. (2022), section 3.3: L(N, D) = E + A / N^α + B / D^β, in nats per token.

    Defaults are the paper's fitted values (its "Approach 3", on MassiveText). Taught in notebook 14.
    """
    n = _positive_values("num_parameters", num_parameters)
    d = _positive_values("num_tokens", num_tokens)
    return e + a / n**alpha + b / d**beta


# --------------------------------------------------------------------------- a training run


@dataclass(frozen=True)
class TrainingEstimate:
    """What one training run costs, as :func:`estimate_training` computes it."""

    flops: float
    seconds: float
    accelerator_hours: float
    cost_usd: float
    energy_kwh: float | None

    @property
    def days(self) -> float:
        """Wall-clock days."""
        return self.seconds / SECONDS_PER_DAY

    def describe(self) -> str:
        """A few lines for a notebook printout."""
        lines = [
            f"training compute:   {self.flops:.3g} FLOPs ({self.flops / PF_DAY_FLOPS:,.0f} PF-days)",
            f"wall-clock time:    {self.days:,.1f} days",
            f"accelerator-hours:  {self.accelerator_hours:,.0f}",
            f"cost:               ${self.cost_usd:,.0f}",
        ]
        if self.energy_kwh is not None:
            lines.append(f"energy (board power only): {self.energy_kwh / 1000:,.0f} MWh")
        return "\n".join(lines)


def estimate_training(
    num_parameters: float,
    num_tokens: float,
    *,
    peak_tflops: float,
    utilisation: float,
    num_accelerators: int,
    price_per_accelerator_hour: float,
    power_watts: float | None = None,
) -> TrainingEstimate:
    """Compute, time, accelerator-hours, money and (optionally) energy of one training run.

    FLOPs from :func:`training_flops`; time = FLOPs / (accelerators × peak × utilisation), where
    utilisation is the *model FLOPs utilisation* (MFU, Chowdhery et al. 2022); cost = accelerator-hours
    × price; energy = accelerator-hours × ``power_watts`` (board power only: no host, network or cooling,
    so a lower bound on the facility's energy). Taught in notebook 14.
    """
    flops = training_flops(num_parameters, num_tokens)
    peak = _positive("peak_tflops", peak_tflops) * 1e12
    mfu = _fraction("utilisation", utilisation)
    count = _count("num_accelerators", num_accelerators)
    price = _positive("price_per_accelerator_hour", price_per_accelerator_hour, allow_zero=True)
    seconds = flops / (count * peak * mfu)
    hours = seconds / 3600.0 * count
    energy = None if power_watts is None else hours * _positive("power_watts", power_watts) / 1000.0
    return TrainingEstimate(
        flops=flops, seconds=seconds, accelerator_hours=hours, cost_usd=hours * price, energy_kwh=energy
    )


# --------------------------------------------------------------------------- memory


def bytes_per_value(precision: str) -> float:
    """Bytes one number takes at ``precision`` (``fp32``, ``bf16``, ``fp16``, ``int8``, ``int4``)."""
    key = str(precision).lower()
    if key not in BYTES_PER_VALUE:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(BYTES_PER_VALUE)}")
    return BYTES_PER_VALUE[key]


def activation_bytes_per_layer(seq_len: int, batch_size: int, hidden_size: int, num_heads: int) -> float:
    """Activations one Transformer layer stores for the backward pass, in bytes, 16-bit, no recomputation.

    s·b·h·(34 + 5·a·s/h) (Korthikanti et al. 2022, *Reducing activation recomputation in large
    Transformer models*, eq. 1): a rough estimate; recomputation or sequence parallelism cut it a lot.
    Taught in notebook 14.
    """
    s = _positive("seq_len", seq_len)
    b = _positive("batch_size", batch_size)
    h = _positive("hidden_size", hidden_size)
    a = _positive("num_heads", num_heads)
    return s * b * h * (34.0 + 5.0 * a * s / h)


def training_memory(num_parameters: float, *, activation_bytes: float = 0.0) -> dict[str, float]:
    """Bytes to train with Adam in mixed precision: weights, gradients, optimizer states, activations.

    16 bytes per parameter before activations (see ``ADAM_MIXED_PRECISION_BYTES``), plus
    ``activation_bytes`` (for example layers × :func:`activation_bytes_per_layer`). Returns the parts
    and their ``"total"``. Taught in notebook 14.
    """
    n = _positive("num_parameters", num_parameters)
    parts = {name: n * size for name, size in ADAM_MIXED_PRECISION_BYTES.items()}
    parts["activations"] = _positive("activation_bytes", activation_bytes, allow_zero=True)
    parts["total"] = sum(parts.values())
    return parts


def kv_cache_bytes(
    *,
    num_layers: int,
    num_kv_heads: int,
    head_dim: int,
    context_length: int,
    batch_size: int,
    bytes_per_value: float = 2.0,
) -> float:
    """Bytes of the KV cache: 2 · layers · kv_heads · head_dim · context · batch · bytes.

    The 2 is one key and one value vector per head, per layer, per token kept. Models with grouped-query
    attention have fewer KV heads than query heads, and a smaller cache. Taught in notebook 14.
    """
    factors = {
        "num_layers": num_layers,
        "num_kv_heads": num_kv_heads,
        "head_dim": head_dim,
        "context_length": context_length,
        "batch_size": batch_size,
        "bytes_per_value": bytes_per_value,
    }
    total = 2.0
    for name, value in factors.items():
        total *= _positive(name, value)
    return total


def serving_memory(num_parameters: float, *, precision: str = "bf16", kv_cache: float = 0.0) -> dict[str, float]:
    """Bytes to serve: weights at ``precision`` plus a KV cache (from :func:`kv_cache_bytes`).

    Taught in notebook 14.
    """
    weights = _positive("num_parameters", num_parameters) * bytes_per_value(precision)
    cache = _positive("kv_cache", kv_cache, allow_zero=True)
    return {"weights": weights, "kv_cache": cache, "total": weights + cache}


def accelerators_needed(total_bytes: float, memory_gb_per_accelerator: float) -> int:
    """How many accelerators hold ``total_bytes`` at the least (ignores fragmentation and workspace)."""
    per_chip = _positive("memory_gb_per_accelerator", memory_gb_per_accelerator) * 1e9
    return max(1, math.ceil(_positive("total_bytes", total_bytes, allow_zero=True) / per_chip))


# --------------------------------------------------------------------------- serving economics


def decode_tokens_per_second_bound(
    *, weight_bytes: float, kv_bytes_per_sequence: float, batch_size: int, bandwidth_gb_s: float
) -> float:
    """Upper bound on generated tokens per second for a memory-bound decoder, summed over the batch.

    Each decoding step reads every weight once (shared by the batch) and each sequence's KV cache, so a
    step takes at least (weights + batch · kv) / bandwidth seconds and yields ``batch_size`` tokens.
    Real servers reach a fraction of it; compute limits large batches. Taught in notebook 14.
    """
    batch = _positive("batch_size", batch_size)
    bytes_per_step = _positive("weight_bytes", weight_bytes) + batch * _positive(
        "kv_bytes_per_sequence", kv_bytes_per_sequence, allow_zero=True
    )
    return batch * _positive("bandwidth_gb_s", bandwidth_gb_s) * 1e9 / bytes_per_step


def decode_tokens_per_second_compute_bound(
    num_parameters: float, *, peak_tflops: float, num_accelerators: int, utilisation: float
) -> float:
    """Upper bound on generated tokens per second from arithmetic: a forward pass costs about 2·N FLOPs a token.

    Large batches turn a memory-bound decoder into a compute-bound one; the real speed is at most the
    smaller of this and :func:`decode_tokens_per_second_bound`. Taught in notebook 14.
    """
    flops_per_second = (
        _positive("peak_tflops", peak_tflops)
        * 1e12
        * _count("num_accelerators", num_accelerators)
        * _fraction("utilisation", utilisation)
    )
    return flops_per_second / (2.0 * _positive("num_parameters", num_parameters))


def cost_per_million_tokens(price_per_hour: float, tokens_per_second: float) -> float:
    """Dollars per million generated tokens: price per hour / (tokens per second × 3,600) × 10⁶.

    ``tokens_per_second`` is the whole machine's throughput (all sequences of the batch together).
    Taught in notebook 14.

    >>> round(cost_per_million_tokens(3.6, 1000.0), 6)  # $3.60 an hour at 1,000 tokens/s
    1.0
    """
    return (
        _positive("price_per_hour", price_per_hour, allow_zero=True)
        / (_positive("tokens_per_second", tokens_per_second) * 3600.0)
        * 1e6
    )


def energy_joules(power_watts: float, seconds: float) -> float:
    """Energy in joules of a device drawing ``power_watts`` for ``seconds`` (1 kWh = 3.6e6 J)."""
    return _positive("power_watts", power_watts, allow_zero=True) * _positive("seconds", seconds, allow_zero=True)
