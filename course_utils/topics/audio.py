"""Spoken digits synthesised with eSpeak NG, and log-mel spectrograms: the speech case of the course.

Taught in notebook 12 (keyword spotting). There is no recorded speech in any pip package the
course can rely on, so the course *makes* a spoken-digit set: eSpeak NG, a formant speech
synthesiser shipped as a shared library in the ``espeakng-loader`` wheel, says "zero" ... "nine"
and 零 ... 九 in several accents and voice variants ("speakers"), at random speaking rates and
pitches, with added noise. The test set is spoken by voice variants that never occur in training.

- :func:`spoken_digits`: the data set for a :class:`SpokenDigitsSpec`, generated once and cached under
  ``course_utils.data.cache_dir()``, keyed by a hash of the parameters and the eSpeak NG version;
- :func:`say`: one word or phrase, in this process, for listening;
- :func:`log_mel`: log-mel spectrograms through ``keras.layers.MelSpectrogram``, per clip in dB;
- :func:`mel_band_centres`: the centre frequency of each mel band of :func:`log_mel`;
- :func:`keyword_cnn`: the small CNN that spots the digits in log-mel frames.

eSpeak NG is driven through its C API with :mod:`ctypes` (``espeak_Initialize`` in synchronous mode,
a synthesis callback that collects the samples, ``espeak_SetVoiceByName``, ``espeak_SetParameter``,
``espeak_Synth``). Its output is not bit-identical from one call to the next within a process (the
synthesiser keeps internal state between utterances, and breathy variants draw random noise), so
the data set is generated in a fresh Python process with the generator reseeded per clip
(``espeak_ng_SetRandSeed``): the same parameters then give byte-identical waveforms, which
:func:`spoken_digits` checks against the sha256 stored with the cache.

eSpeak NG and its voice data are GPL-3.0-or-later; the course calls the library and redistributes
nothing of it (the clips it generates are data, made on the learner's machine).
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import data

__all__ = [
    "CHINESE_DIGITS",
    "ENGLISH_DIGITS",
    "SpokenDigits",
    "SpokenDigitsSpec",
    "espeak_version",
    "keyword_cnn",
    "log_mel",
    "mel_band_centres",
    "say",
    "spoken_digits",
]

PACKAGE = "espeakng_loader"
PIP_NAME = "espeakng-loader"
PINNED = "0.2.4"
REGISTRY_NAME = "spoken-digits"
#: Bumped whenever the way clips are made changes, so old caches are not reused.
GENERATOR_VERSION = 1

ENGLISH_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CHINESE_DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")

#: eSpeak NG voice variants, used as the data set's "speakers" (male, female and Klatt-synthesiser voices).
VARIANTS = ("m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "klatt", "m7", "klatt2", "m8", "klatt3")

# espeak_PARAMETER and other constants of speak_lib.h
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class SpokenDigitsSpec:
    """Everything that decides the spoken-digit set; two equal specs give byte-identical clips.

    ``speakers`` are eSpeak NG voice variants; those in ``test_speakers`` are kept for the test set
    only, so the test measures unseen voices. Each speaker says each digit in each of ``voices``
    (``"en"`` British, ``"en-us"``, ``"en-gb-scotland"``, ``"cmn"`` Mandarin, ...) ``repeats`` times,
    each clip with its own speaking rate (words per minute), pitch (0-100), loudness, position in
    the clip and signal-to-noise ratio of added white noise, drawn from the ranges with ``seed``.
    """

    speakers: tuple[str, ...] = VARIANTS[:12]
    test_speakers: tuple[str, ...] = ("f2", "m4", "klatt")
    voices: tuple[str, ...] = ("en", "en-us", "en-gb-scotland", "cmn")
    repeats: int = 2
    rate_wpm: tuple[int, int] = (130, 230)
    pitch: tuple[int, int] = (25, 75)
    gain_db: tuple[float, float] = (-12.0, 0.0)
    snr_db: tuple[float, float] = (5.0, 30.0)
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.test_speakers) - set(self.speakers)
        if unknown:
            raise ValueError(f"test speakers {sorted(unknown)} are not among the speakers {self.speakers}")
        if not self.test_speakers or len(self.test_speakers) == len(self.speakers):
            raise ValueError("keep at least one speaker for training and one for testing")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        for voice in self.voices:
            _words_for(voice)

    @classmethod
    def small(cls, seed: int = 0) -> SpokenDigitsSpec:
        """A few hundred clips in two languages and six speakers (two of them for testing): fast mode."""
        return cls(speakers=VARIANTS[:6], test_speakers=("f2", "f3"), voices=("en", "cmn"), repeats=1, seed=seed)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SpokenDigitsSpec:
        raw = json.loads(text)
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()})


@dataclass
class SpokenDigits:
    """The clips and what was said: ``waveforms`` int16 (N, samples), ``labels`` (the digit, 0-9),
    and per clip its ``speakers``, ``voices``, ``words`` and generation settings; ``is_test`` marks
    the clips of held-out speakers."""

    waveforms: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    voices: np.ndarray
    words: np.ndarray
    rates: np.ndarray
    pitches: np.ndarray
    snr_db: np.ndarray
    is_test: np.ndarray
    sample_rate: int
    espeak_version: str
    sha256: str
    path: Path | None = None
    spec: SpokenDigitsSpec = field(default_factory=SpokenDigitsSpec)

    def __len__(self) -> int:
        return len(self.labels)

    def float_waveforms(self) -> np.ndarray:
        """The clips as float32 in [-1, 1)."""
        return self.waveforms.astype(np.float32) / 32768.0


# --------------------------------------------------------------------------- the library


def _words_for(voice: str) -> tuple[str, ...]:
    language = voice.split("+")[0].split("-")[0].lower()
    if language == "en":
        return ENGLISH_DIGITS
    if language == "cmn":
        return CHINESE_DIGITS
    raise ValueError(f"no digit words for voice {voice!r}: use an English (en...) or Mandarin (cmn) voice")


def _loader() -> Any:
    """The ``espeakng_loader`` module, or a clear error saying how to install it."""
    if importlib.util.find_spec(PACKAGE) is None:
        raise data.DatasetNotFoundError(
            f"The spoken digits are synthesised with eSpeak NG, which the pip package {PIP_NAME!r} ships, "
            f"and it is not installed. Run `make install` (or `pip install {PIP_NAME}=={PINNED}`); "
            "no network is needed afterwards."
        )
    import espeakng_loader

    return espeakng_loader


def _library() -> ctypes.CDLL:
    loader = _loader()
    lib = ctypes.CDLL(loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    return lib


def espeak_version() -> str:
    """The version of the eSpeak NG library that ``espeakng-loader`` ships, e.g. ``"1.52.0"``."""
    return _library().espeak_Info(None).decode()


class _Synthesiser:
    """One initialised eSpeak NG in this process; :meth:`say` returns int16 samples at :attr:`sample_rate`."""

    def __init__(self) -> None:
        loader = _loader()
        self.lib = _library()
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # kept alive as long as the synthesiser
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples: Any, count: int, _events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0  # 0: go on synthesising

    def say(
        self, text: str, voice: str = "en", *, rate: int = 175, pitch: int = 50, seed: int | None = None
    ) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r} (try 'en', 'en-us', 'cmn', or 'en+f2')")
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        if seed is not None:
            self.lib.espeak_ng_SetRandSeed(int(seed))
        self._chunks = []
        raw = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        self.lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


_SYNTHESISER: _Synthesiser | None = None


def say(text: str, voice: str = "en", *, rate: int = 175, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Synthesise ``text`` with eSpeak NG in this process: (int16 samples, sample rate, 22,050 Hz).

    Taught in notebook 12, for listening (``IPython.display.Audio(samples, rate=rate)``). Repeated
    calls may differ in the last bits (eSpeak NG keeps state between utterances); the data set is
    made with :func:`spoken_digits`, which is reproducible.
    """
    global _SYNTHESISER
    if _SYNTHESISER is None:
        _SYNTHESISER = _Synthesiser()
    return _SYNTHESISER.say(text, voice, rate=rate, pitch=pitch), _SYNTHESISER.sample_rate


# --------------------------------------------------------------------------- making the data set


def _trim(samples: np.ndarray, level: int = 200) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def _resample(signal: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling through the FFT: keep the frequencies below the new Nyquist frequency."""
    if rate == new_rate:
        return signal
    count = round(len(signal) * new_rate / rate)
    spectrum = np.fft.rfft(signal)[: count // 2 + 1]
    return np.fft.irfft(spectrum, count) * (count / len(signal))


def _generate(spec: SpokenDigitsSpec) -> dict[str, np.ndarray]:
    """Make every clip of ``spec`` in a fixed order. Run in a fresh process (see :func:`spoken_digits`)."""
    synthesiser = _Synthesiser()
    rng = np.random.default_rng(spec.seed)
    length = round(spec.clip_seconds * spec.sample_rate)
    columns: dict[str, list[Any]] = {
        k: [] for k in ("labels", "speakers", "voices", "words", "rates", "pitches", "snr")
    }
    waveforms = []
    clip_index = 0
    for speaker in spec.speakers:
        for voice in spec.voices:
            words = _words_for(voice)
            for digit, word in enumerate(words):
                for _ in range(spec.repeats):
                    rate = int(rng.integers(spec.rate_wpm[0], spec.rate_wpm[1] + 1))
                    pitch = int(rng.integers(spec.pitch[0], spec.pitch[1] + 1))
                    gain = 10 ** (rng.uniform(*spec.gain_db) / 20)
                    snr = float(rng.uniform(*spec.snr_db))
                    raw = synthesiser.say(
                        word, f"{voice}+{speaker}", rate=rate, pitch=pitch, seed=spec.seed + clip_index
                    )
                    speech = _resample(
                        _trim(raw).astype(np.float64) / 32768.0, synthesiser.sample_rate, spec.sample_rate
                    )[:length]
                    speech *= 0.7 * gain / max(np.abs(speech).max(), 1e-9)
                    clip = np.zeros(length)
                    start = int(rng.integers(0, length - len(speech) + 1))
                    clip[start : start + len(speech)] = speech
                    noise_power = np.mean(speech**2) / 10 ** (snr / 10)
                    clip += rng.normal(0.0, np.sqrt(noise_power), size=length)
                    waveforms.append(np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16))
                    for key, value in zip(columns, (digit, speaker, voice, word, rate, pitch, snr)):
                        columns[key].append(value)
                    clip_index += 1
    return {
        "waveforms": np.stack(waveforms),
        "labels": np.asarray(columns["labels"], np.int64),
        "speakers": np.asarray(columns["speakers"]),
        "voices": np.asarray(columns["voices"]),
        "words": np.asarray(columns["words"]),
        "rates": np.asarray(columns["rates"], np.int64),
        "pitches": np.asarray(columns["pitches"], np.int64),
        "snr_db": np.asarray(columns["snr"], np.float64),
    }


def waveform_sha256(waveforms: np.ndarray) -> str:
    """sha256 of the clips' int16 bytes (little-endian, C order): the identity of a generated set."""
    return hashlib.sha256(np.ascontiguousarray(waveforms, dtype="<i2").tobytes()).hexdigest()


def _cache_key(spec: SpokenDigitsSpec) -> str:
    loader_version = importlib.metadata.version(PIP_NAME)
    identity = json.dumps(
        {
            "spec": json.loads(spec.to_json()),
            "espeak": espeak_version(),
            "loader": loader_version,
            "generator": GENERATOR_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _run_generator(spec: SpokenDigitsSpec, out: Path, timeout_s: float) -> None:
    """Generate in a fresh interpreter, so the synthesiser starts from the same state every time."""
    env = dict(os.environ)
    root = str(data.course_root())
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.topics.audio", "generate", spec.to_json(), str(out)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise data.DatasetError(f"generating the spoken digits failed:\n{result.stderr.strip()[-2000:]}")


def _reference_sha256(key: str) -> str | None:
    try:
        references = data.dataset_info(REGISTRY_NAME).get("reference_sha256", {})
    except KeyError:
        return None
    return next((ref["sha256"] for ref in references.values() if ref.get("cache_key") == key), None)


def spoken_digits(
    spec: SpokenDigitsSpec | None = None, *, use_cache: bool = True, verbose: bool = True, timeout_s: float = 600.0
) -> SpokenDigits:
    """The spoken-digit set of ``spec`` (default: :class:`SpokenDigitsSpec`), made once and then read from the cache.

    Taught in notebook 12. The cache file is ``<cache_dir>/spoken-digits/<key>.npz``, where the key
    hashes the spec, the eSpeak NG and ``espeakng-loader`` versions and :data:`GENERATOR_VERSION`.
    A cached file whose waveforms no longer match the sha256 stored with them raises
    :class:`course_utils.data.DatasetChecksumError`; for the course's own specs the sha256 is also
    compared with the one recorded in ``data/registry.json`` (a warning if this machine's eSpeak NG
    says them differently). Raises :class:`course_utils.data.DatasetNotFoundError` when
    ``espeakng-loader`` is missing.
    """
    spec = spec or SpokenDigitsSpec()
    _loader()
    key = _cache_key(spec)
    folder = data.cache_dir() / REGISTRY_NAME
    path = folder / f"{key}.npz"
    if not (use_cache and path.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            part = Path(scratch) / "part.npz"
            _run_generator(spec, part, timeout_s)
            if use_cache:
                part.replace(path)
            else:
                path = Path(scratch) / "clips.npz"
                part.replace(path)
                result = _read(path, spec, key)
                result.path = None
                return _report(result, verbose, "generated (not cached)")
        return _report(_read(path, spec, key), verbose, f"generated into {path}")
    return _report(_read(path, spec, key), verbose, f"from the cache {path}")


def _read(path: Path, spec: SpokenDigitsSpec, key: str) -> SpokenDigits:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as err:
        raise data.DatasetCorruptError(
            f"{path} cannot be read ({type(err).__name__}: {err}). Delete it; it is made again on the next call."
        ) from err
    actual = waveform_sha256(arrays["waveforms"])
    stored = str(arrays["sha256"])
    if actual != stored:
        raise data.DatasetChecksumError(
            f"The cached spoken digits {path} are damaged: their sha256 is {actual}, but {stored} was stored "
            "when they were made. Delete the file; it is made again on the next call."
        )
    reference = _reference_sha256(key)
    if reference is not None and reference != actual:
        warnings.warn(
            f"eSpeak NG on this machine synthesised the spoken digits differently from the course's reference "
            f"(sha256 {actual[:12]}... instead of {reference[:12]}...). The notebook runs, but its numbers may "
            "differ slightly from the text.",
            stacklevel=3,
        )
    test_speakers = set(spec.test_speakers)
    return SpokenDigits(
        waveforms=arrays["waveforms"],
        labels=arrays["labels"],
        speakers=arrays["speakers"],
        voices=arrays["voices"],
        words=arrays["words"],
        rates=arrays["rates"],
        pitches=arrays["pitches"],
        snr_db=arrays["snr_db"],
        is_test=np.isin(arrays["speakers"], sorted(test_speakers)),
        sample_rate=int(arrays["sample_rate"]),
        espeak_version=str(arrays["espeak_version"]),
        sha256=actual,
        path=path,
        spec=spec,
    )


def _report(result: SpokenDigits, verbose: bool, where: str) -> SpokenDigits:
    if verbose:
        train, test = int((~result.is_test).sum()), int(result.is_test.sum())
        print(
            f"spoken digits: {len(result):,} clips ({train:,} train / {test:,} test, test speakers "
            f"{', '.join(result.spec.test_speakers)}), eSpeak NG {result.espeak_version}, {where}"
        )
    return result


# --------------------------------------------------------------------------- log-mel features


def log_mel(
    waveforms: np.ndarray,
    sample_rate: int = 16000,
    *,
    num_mel_bins: int = 40,
    frame_length: int = 400,
    frame_step: int = 160,
    fft_length: int = 512,
    min_freq: float = 20.0,
    max_freq: float | None = None,
    floor: float = 1e-10,
    batch_size: int = 256,
) -> np.ndarray:
    """Log-mel spectrograms in dB, (N, frames, num_mel_bins) float32, from float waveforms (N, samples).

    Taught in notebook 12. The defaults are the usual speech front end: 25 ms Hann windows every
    10 ms at 16 kHz, a 512-point FFT, power spectra pooled by 40 triangular mel filters. The power
    comes from ``keras.layers.MelSpectrogram``; the log is taken here, per clip: the layer's own
    ``power_to_db`` clamps at ``top_db`` below the loudest value of the whole *batch*, so a clip's
    features would depend on which other clips share its batch. Frames: ``1 + samples // frame_step``
    (the STFT is centred).
    """
    import keras

    waveforms = np.asarray(waveforms, np.float32)
    if waveforms.ndim == 1:
        waveforms = waveforms[None]
    if waveforms.ndim != 2:
        raise ValueError(f"expected waveforms shaped (N, samples), got {waveforms.shape}")
    layer = keras.layers.MelSpectrogram(
        fft_length=fft_length,
        sequence_stride=frame_step,
        sequence_length=frame_length,
        window="hann",
        sampling_rate=sample_rate,
        num_mel_bins=num_mel_bins,
        min_freq=min_freq,
        max_freq=max_freq,
        power_to_db=False,
        mag_exp=2.0,
    )
    pieces = []
    for start in range(0, len(waveforms), batch_size):
        power = keras.ops.convert_to_numpy(layer(waveforms[start : start + batch_size]))
        pieces.append(np.swapaxes(10.0 * np.log10(np.maximum(power, floor)), 1, 2))
    return np.concatenate(pieces).astype(np.float32)


def keyword_cnn(
    input_shape: tuple[int, int], train_features: np.ndarray | None = None, *, filters: tuple[int, ...] = (64, 64, 96)
) -> Any:
    """A small keyword-spotting CNN over log-mel frames: (frames, mel bands) -> 10 digit logits.

    Taught in notebook 12. Convolutions run along time with the mel bands as channels (each kernel
    spans 5 frames, 50 ms, and every band), as in temporal-convolution keyword spotters; each block
    is convolution, batch normalisation, ReLU and max pooling by 2, and a global max over time makes
    the model indifferent to when the word was said. A ``Normalization`` layer first standardises
    each band with the mean and variance of ``train_features`` (when given).
    """
    import keras
    from keras import layers

    inputs = keras.Input(tuple(input_shape), name="log_mel")
    normalise = layers.Normalization(axis=-1, name="standardise_bands")
    if train_features is not None:
        normalise.adapt(np.asarray(train_features, np.float32))
    x = normalise(inputs)
    for width in filters:
        x = layers.Conv1D(width, 5, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, name="digit_logits")(x)
    return keras.Model(inputs, outputs, name="keyword_cnn")


def mel_band_centres(
    num_mel_bins: int = 40, *, min_freq: float = 20.0, max_freq: float | None = None, sample_rate: int = 16000
) -> np.ndarray:
    """Centre frequency in Hz of each triangular filter of :func:`log_mel` (HTK mel scale, as Keras uses).

    mel(f) = 1127 ln(1 + f / 700); the filters' edges are equally spaced on that scale.
    """
    top = sample_rate / 2 if max_freq is None else max_freq
    mel = np.linspace(1127.0 * np.log1p(min_freq / 700.0), 1127.0 * np.log1p(top / 700.0), num_mel_bins + 2)
    return 700.0 * np.expm1(mel[1:-1] / 1127.0)


def _main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "generate":
        print("usage: python -m course_utils.topics.audio generate SPEC_JSON OUT.npz", file=sys.stderr)
        return 2
    spec = SpokenDigitsSpec.from_json(args[1])
    arrays = _generate(spec)
    arrays["sha256"] = np.asarray(waveform_sha256(arrays["waveforms"]))
    arrays["sample_rate"] = np.asarray(spec.sample_rate)
    arrays["espeak_version"] = np.asarray(espeak_version())
    with open(args[2], "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
