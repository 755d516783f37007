"""Notebook 11b's checkers accept the right answer, reject the usual slips, and agree with Keras's own count."""

from __future__ import annotations

from course_utils.checks import nb11b
from course_utils.topics import language_model as lm


def test_lora_parameters() -> None:
    assert nb11b.ex11b_lora_parameters(4 * (64 + 192), in_dim=64, out_dim=192, rank=4)
    assert not nb11b.ex11b_lora_parameters(64 * 192, in_dim=64, out_dim=192, rank=4)
    assert "two matrices" in nb11b.ex11b_lora_parameters(64 * 4, in_dim=64, out_dim=192, rank=4).hint
    assert not nb11b.ex11b_lora_parameters(4 * (64 + 192) + 192, in_dim=64, out_dim=192, rank=4)
    assert not nb11b.ex11b_lora_parameters("some", in_dim=64, out_dim=192, rank=4)


def test_lora_parameters_match_keras() -> None:
    model = lm.build_gpt(lm.GPTConfig(vocab_size=50, context=8, d_model=16, num_heads=2, num_layers=1))
    qkv = lm.blocks_of(model)[0].attention.qkv
    before = qkv.count_params()
    qkv.enable_lora(3)
    assert nb11b.ex11b_lora_parameters(qkv.count_params() - before, in_dim=16, out_dim=48, rank=3)


def test_block_parameters_match_keras() -> None:
    model = lm.build_gpt(lm.GPTConfig(vocab_size=50, context=8, d_model=24, num_heads=2, num_layers=1))
    block = lm.blocks_of(model)[0]
    assert nb11b.ex11b_block_parameters(block.count_params(), d_model=24)
    assert not nb11b.ex11b_block_parameters(12 * 24 * 24, d_model=24)
    assert "layer norms" in nb11b.ex11b_block_parameters(12 * 24 * 24 + 9 * 24, d_model=24).hint
    assert not nb11b.ex11b_block_parameters(None, d_model=24)
