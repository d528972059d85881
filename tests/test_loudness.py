"""The fast finishing steps agree with the reference meters: integrated loudness within 0.1 LU of
pyloudnorm on whole files, and a true peak (full 4x oversampling) at or under -1 dBTP after
normalisation, although the normaliser oversamples only near the ceiling."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from synthesis import audio, limiter, loudness


def speech_like(rate: int, seconds: float, seed: int, peaky: bool = False) -> np.ndarray:
    """Harmonic syllables with pauses between them, some loud, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    f0 = 180 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = (np.sin(2 * np.pi * 3.5 * t) > 0.2) * (np.sin(2 * np.pi * 0.23 * t) > -0.6)
    level = np.where(rng.random(len(t)) < 0.0005, 4.0, 1.0) if peaky else 1.0
    x = 0.08 * voice * syllables * level + 0.002 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def reference_lufs(x: np.ndarray, rate: int) -> float:
    return pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64))


@pytest.mark.parametrize("rate", [16000, 24000, 44100, 48000])
@pytest.mark.parametrize("seconds", [0.8, 7.3, 61.0])
def test_integrated_loudness_matches_pyloudnorm(rate, seconds):
    x = speech_like(rate, seconds, seed=int(seconds * 10) + rate)
    assert abs(audio.integrated_lufs(x, rate) - reference_lufs(x, rate)) <= 0.1


def test_gates_agree_on_mostly_silent_audio():
    rate = 24000
    x = np.zeros(rate * 20, np.float32)
    x[rate * 3: rate * 4] = speech_like(rate, 1.0, seed=3)  # one second of speech in twenty
    x[rate * 10: rate * 10 + rate // 2] = 1e-4  # far under the relative gate
    assert abs(audio.integrated_lufs(x, rate) - reference_lufs(x, rate)) <= 0.1


# (a peaky file at -12 LUFS under -1 dBTP is beyond this limiter's few makeup passes: -13.3)
@pytest.mark.parametrize(("peaky", "target"), [(False, -23.0), (False, -16.0), (False, -12.0), (True, -23.0), (True, -16.0)])
def test_normalised_files_hit_the_target_under_the_true_peak_ceiling(peaky, target):
    rate = 24000
    x = speech_like(rate, 30.0, seed=7, peaky=peaky)
    out = audio.normalize_loudness(x, rate, target_lufs=target, true_peak_dbfs=-1.0)
    assert abs(reference_lufs(out, rate) - target) <= 0.1
    full = loudness._oversampled_peaks(out).max()  # the whole file, 4x oversampled
    assert 20 * np.log10(full) <= -1.0 + 1e-6


def test_intersample_peaks_near_the_ceiling_are_still_limited():
    """A tone at a quarter of the rate, 45 degrees off the samples: its true peak is 3 dB over
    every sample, the case the near-ceiling search must not miss."""
    rate = 24000
    n = np.arange(rate * 5)
    x = (0.5 * np.sin(np.pi / 2 * n + np.pi / 4)).astype(np.float32)
    assert audio.true_peak_dbfs(x, rate) - 20 * np.log10(np.abs(x).max()) > 2.5
    out = audio.normalize_loudness(x, rate, target_lufs=-10.0, true_peak_dbfs=-1.0)
    assert 20 * np.log10(loudness._oversampled_peaks(out).max()) <= -1.0 + 1e-6


def test_peak_candidates_are_exactly_the_true_peaks_over_the_floor():
    """The limiter sees only samples whose true peak reaches the floor, found without
    oversampling the stretches that stay far under it; nothing over the floor is missed."""
    rate = 24000
    x = speech_like(rate, 20.0, seed=11, peaky=True) * np.float32(2.0)
    full = loudness._oversampled_peaks(x)  # the whole file at once
    floor = float(full.max()) / 2  # 6 dB under the loudest peak
    searched = sum(hi - lo for lo, hi in loudness._near_runs(x, floor))
    assert 0 < searched < len(x)  # some of it skipped (else the test proves nothing)
    at, peaks = loudness._peak_candidates(x, floor)
    expected = np.flatnonzero(full > floor * loudness.CANDIDATE_SLACK)
    assert len(expected) > 10
    assert np.array_equal(at, expected) and np.array_equal(peaks, full[expected])


def test_true_peak_in_chunks_is_the_whole_file_peak(monkeypatch):
    rate = 24000
    x = speech_like(rate, 12.0, seed=5, peaky=True)
    monkeypatch.setattr(loudness, "TRUE_PEAK_PIECE", 1 << 12)  # many pieces, many seams
    assert loudness._peak_max(x) == loudness._oversampled_peaks(x).max()


def test_in_place_normalisation_is_the_same_as_on_a_copy():
    rate = 24000
    x = speech_like(rate, 20.0, seed=9, peaky=True)
    kept = x.copy()
    copied = audio.normalize_loudness(x, rate, target_lufs=-14.0)
    assert np.array_equal(x, kept)  # the caller's array is left alone
    out = audio.normalize_loudness(x, rate, target_lufs=-14.0, in_place=True)
    assert out is x and np.array_equal(out, copied)
    assert not np.array_equal(x, kept)
    with pytest.raises(ValueError, match="float32"):
        audio.normalize_loudness(kept.astype(np.float64), rate, in_place=True)


def _limited(x: np.ndarray, rate: int, gain_db: float, ceiling: float = 0.8):
    """(gain, regions) of one makeup pass over x: its peaks over the ceiling after the gain."""
    gain = np.float32(10 ** (gain_db / 20))
    at, peaks = loudness._peak_candidates(x, ceiling / float(gain))
    over = peaks * gain > ceiling
    return gain, limiter.limiter_gain(at[over], peaks[over] * gain, len(x), rate, ceiling)


@pytest.mark.parametrize("rate", [16000, 24000, 48000])
def test_each_makeup_pass_reads_what_measuring_its_whole_output_reads(rate, monkeypatch):
    """The passes K-weight only around the limiter's regions and scale the input's energies
    elsewhere; the loudness must be the finished output's, measured whole."""
    monkeypatch.setattr(loudness, "ENERGY_CHUNK", 1 << 16)  # chunk seams inside re-filtered stretches too
    x = speech_like(rate, 25.0, seed=rate, peaky=True)
    x[3] = x[-2] = 0.5  # peaks at both ends: regions clipped by the file's edges
    meter = loudness._GainedLoudness(x, rate)
    assert meter.input_lufs == loudness.integrated_lufs(x, rate)
    for gain_db in (6.0, 14.0):
        gain, regions = _limited(x, rate, gain_db)
        assert len(regions) > 5 and regions[0][0] == 0 and regions[-1][1] == len(x)
        whole = loudness.integrated_lufs(limiter.finished(x, gain, regions)(0, len(x)), rate)
        assert abs(whole - (meter.input_lufs + gain_db)) > 0.05  # the limiter took loudness away
        # (not to the last bit: the whole output's float32 samples x*gain are rounded, ~1e-9 LU)
        assert abs(meter.output_lufs(gain, regions) - whole) <= 1e-7


def test_limiter_regions_are_the_same_computed_together_or_one_by_one():
    rate = 24000
    x = speech_like(rate, 20.0, seed=4, peaky=True)
    x[3] = x[-2] = 0.5
    gain, together = _limited(x, rate, 12.0)
    at, peaks = loudness._peak_candidates(x, 0.8 / float(gain))
    assert len(together) > 5
    for lo, hi, envelope in together:
        inside = (at >= lo) & (at < hi) & (peaks * gain > 0.8)
        (alone,) = limiter.limiter_gain(at[inside], peaks[inside] * gain, len(x), rate, 0.8)
        assert alone[:2] == (lo, hi) and np.array_equal(alone[2], envelope)
        assert envelope[0] == envelope[-1] == 1.0 or lo == 0 or hi == len(x)


def test_normalisation_is_deterministic_wherever_the_array_lies():
    """Renders are cached by their inputs: the same samples must give the same bytes, also from
    an array at another memory alignment."""
    rate = 24000
    x = speech_like(rate, 30.0, seed=12, peaky=True)
    first = audio.normalize_loudness(x, rate)
    assert np.array_equal(first, audio.normalize_loudness(x, rate))
    shifted = np.zeros(len(x) + 1, np.float32)[1:]  # 4 bytes off the usual alignment
    shifted[:] = x
    assert np.array_equal(first, audio.normalize_loudness(shifted, rate, in_place=True))
