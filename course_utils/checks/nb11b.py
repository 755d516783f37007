"""Checkers for notebook 11b's exercises (pretraining and adapting a small GPT): the parameters LoRA adds
to one layer, and the parameters of one decoder block.

Each takes the learner's answer and returns a :class:`~course_utils.checks.common.Feedback`;
tests/test_check_11b.py tries a right and a wrong answer.
"""

from __future__ import annotations

from course_utils.checks.common import Feedback, is_int, verdict


def ex11b_lora_parameters(answer: int, *, in_dim: int, out_dim: int, rank: int) -> Feedback:
    """Notebook 11b, exercise 1: parameters a rank-``rank`` LoRA adapter adds to a ``Dense(in_dim -> out_dim)``."""
    if not is_int(answer):
        return verdict(False, "answer with one whole number")
    got = int(answer)  # type: ignore[call-overload]
    if got == in_dim * out_dim:
        return verdict(False, "that is the frozen kernel W itself; LoRA adds two thin matrices beside it")
    if got in (in_dim * rank, out_dim * rank):
        return verdict(False, "there are two matrices: A maps the input down to the rank, B maps it back up")
    return verdict(got == rank * (in_dim + out_dim), "A is (inputs x rank) and B is (rank x outputs); no bias")


def ex11b_block_parameters(answer: int, *, d_model: int, ff_mult: int = 4) -> Feedback:
    """Notebook 11b, exercise 2: parameters of one pre-norm :class:`DecoderBlock` of width ``d_model``."""
    if not is_int(answer):
        return verdict(False, "answer with one whole number")
    got, d, ff = int(answer), d_model, ff_mult * d_model  # type: ignore[call-overload]
    kernels = d * 3 * d + d * d + d * ff + ff * d
    biases = 3 * d + d + ff + d
    norms = 2 * 2 * d  # two layer norms, each a scale and an offset per feature
    if got == kernels:
        return verdict(False, "every Dense layer has a bias too, and the two layer norms have weights")
    if got == kernels + biases:
        return verdict(False, "each of the two layer norms learns a scale and an offset per feature")
    return verdict(got == kernels + biases + norms, "count qkv (d -> 3d), out (d -> d), ff_in (d -> 4d), ff_out")
