"""Loudness finishing steps: BS.1770-4 integrated loudness, true peak, and normalisation to a
target loudness under a true-peak ceiling with a look-ahead limiter.

Fast by construction: the meter is vectorised (the K-weighting by FFT, gating blocks from a
cumulative sum) and agrees with pyloudnorm within 0.1 LU; true peaks are oversampled only
where the signal comes near the ceiling. Mono float32 numpy arrays in [-1, 1].

Imports: numpy and ``synthesis.dsp`` only (no scipy: its import alone cost a one-off render
~0.7 s; ``dsp`` reproduces scipy's oversampling and limiter filters bit for bit).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from synthesis import dsp

OVERSAMPLE = 4  # BS.1770-4 true-peak meter: 4x oversampling (under-reads by < 0.5 dB at 48 kHz)
BLOCK_S = 0.4  # BS.1770 gating block: pyloudnorm refuses shorter input
LIMITER_ATTACK_S = 0.010  # gain starts falling this long before a peak (look-ahead)
LIMITER_HOLD_S = 0.030  # and stays down this long around it, so it does not flutter per pitch period
LIMITER_MARGIN_DB = 0.1  # aim slightly under the ceiling: smoothing the gain creates tiny new peaks
LOUDNESS_TOLERANCE_LU = 0.05
MAX_MAKEUP_PASSES = 6
MAKEUP_HEADROOM_DB = 3.0  # makeup gain the near-ceiling peak search allows for before re-measuring
ABSOLUTE_GATE_LUFS = -70.0
# True peaks are oversampled only in blocks whose sample peak comes within this of the ceiling:
# a 4x-oversampled peak of band-limited audio sits < 3 dB above its sample peak (a full-scale
# sine at a quarter of the rate, worst case: +3 dB), so 6 dB misses nothing.
TRUE_PEAK_MARGIN_DB = 6.0
TRUE_PEAK_BLOCK = 1024
TRUE_PEAK_BRIDGE = 8  # blocks: runs of near blocks closer than this are oversampled as one
TRUE_PEAK_CONTEXT = 64  # samples each side: longer than resample_poly's filter reaches at 4x
# Input the K-weighting filter keeps from before each chunk: its slowest pole (the 38 Hz high
# pass, a double pole) has decayed by e^-119 after half a second, at any rate.
K_WEIGHTING_HISTORY_S = 0.5


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def _mono32(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-D array), got shape {samples.shape}")
    return samples


@functools.lru_cache(maxsize=None)
def _k_weighting(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting (high shelf, then high pass) as second-order sections, designed as
    pyloudnorm designs it so both meters read the same."""
    sections = []
    for gain_db, q, fc, shelf in ((4.0, 1 / math.sqrt(2), 1500.0, True), (0.0, 0.5, 38.0, False)):
        a_lin = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * fc / sample_rate
        alpha, cos = math.sin(w0) / (2.0 * q), math.cos(w0)
        if shelf:
            root = 2.0 * math.sqrt(a_lin) * alpha
            b = [a_lin * ((a_lin + 1) + (a_lin - 1) * cos + root), -2 * a_lin * ((a_lin - 1) + (a_lin + 1) * cos),
                 a_lin * ((a_lin + 1) + (a_lin - 1) * cos - root)]
            a = [(a_lin + 1) - (a_lin - 1) * cos + root, 2 * ((a_lin - 1) - (a_lin + 1) * cos),
                 (a_lin + 1) - (a_lin - 1) * cos - root]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        sections.append([*(x / a[0] for x in b), 1.0, a[1] / a[0], a[2] / a[0]])
    return np.asarray(sections)


ENERGY_CHUNK = 1 << 20  # samples K-weighted at a time: bounded memory for long narrations


def _running_energy(samples: np.ndarray, sample_rate: int, at: np.ndarray) -> np.ndarray:
    """Sum of the squared K-weighted signal before each index in ``at`` (ascending).

    Filtered in chunks with the filter's history carried over, in float64, so a 10-minute render
    never holds the whole weighted signal and its running sum (five float64 copies, ~580 MB at
    24 kHz) at once; the sum is the same sequence of additions as one cumulative sum."""
    k_weighting = dsp.IIRFilter(_k_weighting(sample_rate), round(K_WEIGHTING_HISTORY_S * sample_rate))
    out = np.zeros(len(at))
    total = 0.0
    for start in range(0, len(samples), ENERGY_CHUNK):
        chunk = samples[start:start + ENERGY_CHUNK].astype(np.float64)
        weighted = k_weighting(chunk)
        running = np.cumsum(np.square(weighted))
        running += total
        inside = (at > start) & (at <= start + len(chunk))  # index 0 stays 0: nothing before it
        out[inside] = running[at[inside] - start - 1]
        total = float(running[-1])
    return out


def integrated_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of a mono signal; -inf for silence.

    Vectorised: K-weighting by FFT in large chunks and the 400 ms blocks (75 % overlap)
    from a running sum, where pyloudnorm loops over blocks in Python; same blocks, same gates.
    Clips shorter than one 400 ms block are tiled up to block length rather than zero-padded:
    the repeated clip has the clip's own mean energy, while padding would dilute it.
    """
    samples = _mono32(samples)
    if len(samples) == 0 or not np.any(samples):
        return -math.inf
    need = math.ceil(BLOCK_S * sample_rate) + 1
    if len(samples) < need:
        samples = np.tile(samples, math.ceil(need / len(samples)))
    count = int(round((len(samples) / sample_rate - BLOCK_S) / (BLOCK_S * 0.25))) + 1
    starts = np.arange(count) * BLOCK_S * 0.25
    lower = np.minimum((starts * sample_rate).astype(np.int64), len(samples))
    upper = np.minimum(((starts + BLOCK_S) * sample_rate).astype(np.int64), len(samples))
    energy = _running_energy(samples, sample_rate, np.concatenate([lower, upper]))
    z = (energy[count:] - energy[:count]) / (BLOCK_S * sample_rate)
    with np.errstate(divide="ignore"):
        level = -0.691 + 10.0 * np.log10(z)
    gated = z[level >= ABSOLUTE_GATE_LUFS]
    if not len(gated):
        return -math.inf
    relative = -0.691 + 10.0 * math.log10(gated.mean()) - 10.0
    gated = z[(level > relative) & (level > ABSOLUTE_GATE_LUFS)]
    return -0.691 + 10.0 * math.log10(gated.mean()) if len(gated) and gated.mean() > 0 else -math.inf


@functools.lru_cache(maxsize=None)
def _oversampling_filter() -> np.ndarray:
    """resample_poly's own default filter for 4x up, designed once instead of on every call."""
    return dsp.lowpass(20 * OVERSAMPLE + 1, 1.0 / OVERSAMPLE).astype(np.float32)


def _oversampled_peaks(x: np.ndarray) -> np.ndarray:
    """Per input sample, the largest |value| at it or on the way to the next sample (4x oversampled)."""
    up = np.abs(dsp.resample_poly(x, OVERSAMPLE, 1, window=_oversampling_filter())).reshape(-1, OVERSAMPLE)
    return np.maximum(np.maximum(np.abs(x), np.maximum(up[:, 0], up[:, 1])), np.maximum(up[:, 2], up[:, 3]))


def _sample_peaks(samples: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per input sample, its true (4x oversampled) peak wherever the signal comes within
    TRUE_PEAK_MARGIN_DB of ``floor``; elsewhere the sample's own |value|, which is then known
    to stay under ``floor`` (oversampling is the costly part and speech rarely nears the ceiling)."""
    x = np.asarray(samples, dtype=np.float32)  # float32 halves the cost; ample for a peak level
    peaks = np.abs(x)
    if floor <= 0.0:
        _oversample_into(peaks, x, 0, len(x))
        return peaks
    blocks = np.pad(peaks, (0, -len(peaks) % TRUE_PEAK_BLOCK)).reshape(-1, TRUE_PEAK_BLOCK).max(axis=1)
    near = np.flatnonzero(blocks * 10.0 ** (TRUE_PEAK_MARGIN_DB / 20.0) >= floor)
    if not len(near):
        return peaks
    # runs of near blocks (short gaps bridged: one call costs more than a few blocks), each
    # oversampled with context for the filter
    breaks = np.flatnonzero(np.diff(near) > TRUE_PEAK_BRIDGE)
    for first, last in zip(near[np.r_[0, breaks + 1]], near[np.r_[breaks, len(near) - 1]]):
        _oversample_into(peaks, x, first * TRUE_PEAK_BLOCK, min(len(x), (last + 1) * TRUE_PEAK_BLOCK))
    return peaks


def _oversample_into(peaks: np.ndarray, x: np.ndarray, lo: int, hi: int) -> None:
    """peaks[lo:hi] = true peaks of x there, in pieces of ENERGY_CHUNK samples with context for
    the filter: oversampling a whole 10-minute render at once held ~1 GB of 4x signal."""
    for start in range(lo, hi, ENERGY_CHUNK):
        end = min(hi, start + ENERGY_CHUNK)
        pad_lo, pad_hi = max(0, start - TRUE_PEAK_CONTEXT), min(len(x), end + TRUE_PEAK_CONTEXT)
        peaks[start:end] = _oversampled_peaks(x[pad_lo:pad_hi])[start - pad_lo: end - pad_lo]


def true_peak_dbfs(samples: np.ndarray, sample_rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP; -inf for silence. (Rate kept for symmetry.)"""
    if len(samples) == 0:
        return -math.inf
    return _db(float(_sample_peaks(samples).max()))


def _limit(samples: np.ndarray, sample_rate: int, ceiling: float, peaks: np.ndarray | None = None) -> np.ndarray:
    """Look-ahead peak limiter: a smooth gain envelope that dips only around over-ceiling peaks.

    ``need`` is the gain each sample requires. A centred running minimum (width 2*(attack+hold))
    spreads each dip so it is held over neighbouring pitch periods, then two running means (each
    +-attack/2) turn the steps into triangular ramps. Because the smoothing reaches no further
    than the minimum did, the gain at every peak is still <= what that peak needs.
    ``peaks``: ``_sample_peaks(samples)`` if the caller already has it.
    """
    peaks = _sample_peaks(samples) if peaks is None else peaks
    over = np.flatnonzero(peaks > ceiling)  # exactly where a sample needs a gain below 1
    if not len(over):
        return samples
    attack = max(1, round(LIMITER_ATTACK_S * sample_rate))
    hold = round(LIMITER_HOLD_S * sample_rate)
    half = attack // 2
    # How far one peak's dip reaches. The gain is computed only around the peaks, region by
    # region (with that much context each side): on a whole 10-minute render the filters' float
    # copies held ~400 MB, and the gain is exactly 1 everywhere else anyway.
    reach = attack + hold + 2 * half + 1
    out = np.array(samples, dtype=np.float32)
    breaks = np.flatnonzero(np.diff(over) > 2 * reach)
    for first, last in zip(over[np.r_[0, breaks + 1]], over[np.r_[breaks, len(over) - 1]]):
        lo, hi = max(0, first - reach), min(len(samples), last + reach + 1)
        pad_lo, pad_hi = max(0, lo - reach), min(len(samples), hi + reach)
        need = np.minimum(1.0, ceiling / np.maximum(peaks[pad_lo:pad_hi], 1e-12))
        gain = dsp.running_min(need, 2 * (attack + hold) + 1)
        for _ in range(2):
            gain = dsp.running_mean(gain, 2 * half + 1)
        out[lo:hi] = samples[lo:hi] * gain[lo - pad_lo: hi - pad_lo]
    return out


def normalize_loudness(
    samples: np.ndarray, sample_rate: int, target_lufs: float = -16.0, true_peak_dbfs: float = -1.0
) -> np.ndarray:
    """Gain to ``target_lufs`` integrated loudness with the true peak kept <= ``true_peak_dbfs``.

    Peaks that the gain pushes over the ceiling are limited locally (see _limit) instead of
    turning the whole clip down, which would miss the target. Limiting removes a little
    loudness, so the gain is re-measured and corrected for a few passes. Silence is returned as is.
    """
    samples = _mono32(samples)
    loudness = integrated_lufs(samples, sample_rate)
    if not math.isfinite(loudness):
        return samples.copy()
    ceiling = 10.0 ** ((true_peak_dbfs - LIMITER_MARGIN_DB) / 20.0)
    gain_db = target_lufs - loudness
    # Oversampled peaks scale with gain: measure them once, not on every makeup pass, and only
    # where the gain (plus the makeup passes' headroom) could bring them near the ceiling.
    planned_db = gain_db + MAKEUP_HEADROOM_DB
    peaks = _sample_peaks(samples, ceiling / 10.0 ** (planned_db / 20.0))
    for _ in range(MAX_MAKEUP_PASSES):
        if gain_db > planned_db:  # makeup went further than planned: measure the peaks again
            planned_db = gain_db + MAKEUP_HEADROOM_DB
            peaks = _sample_peaks(samples, ceiling / 10.0 ** (planned_db / 20.0))
        gain = np.float32(10.0 ** (gain_db / 20.0))
        out = _limit(samples * gain, sample_rate, ceiling, peaks * gain)
        error = target_lufs - integrated_lufs(out, sample_rate)
        if abs(error) <= LOUDNESS_TOLERANCE_LU:
            break
        gain_db += error
    # Last resort for the tiny overshoot gain smoothing can leave: costs at most a fraction of a dB.
    over = _db(float(_sample_peaks(out, ceiling).max())) - true_peak_dbfs
    if over > 0:
        out = out * np.float32(10.0 ** (-over / 20.0))
    return out.astype(np.float32, copy=False)
