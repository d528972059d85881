"""Loudness finishing steps: BS.1770-4 integrated loudness, true peak, and normalisation to a
target loudness under a true-peak ceiling with a look-ahead limiter.

Fast by construction: the meter is vectorised (the K-weighting by FFT, gating blocks from a
cumulative sum) and agrees with pyloudnorm within 0.1 LU; true peaks are oversampled only
where the signal comes near the ceiling. Mono float32 numpy arrays in [-1, 1].

Bounded memory on long renders: the K-weighting, the true peaks and every output the gain search
tries are worked through in chunks of ENERGY_CHUNK samples, the limiter gets only the samples
whose true peak can reach the ceiling, and ``normalize_loudness(..., in_place=True)`` finishes
the caller's array itself: ~40 MB beside a 10-minute render's signal (it was ~300 MB).

Imports: numpy and ``synthesis.dsp`` only (no scipy: its import alone cost a one-off render
~0.7 s; ``dsp`` reproduces scipy's oversampling and limiter filters bit for bit).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator

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


ENERGY_CHUNK = 1 << 20  # samples K-weighted (or oversampled) at a time: bounded memory for long narrations

# A signal handed over piece by piece: (start, stop) -> its float32 samples there. While the gain is
# searched, the gained and limited output is measured this way and never held whole.
Chunks = Callable[[int, int], np.ndarray]


def _running_energy(chunk_of: Chunks, length: int, sample_rate: int, at: np.ndarray) -> np.ndarray:
    """Sum of the squared K-weighted signal before each index in ``at`` (ascending).

    Filtered in chunks with the filter's history carried over, in float64, so a 10-minute render
    never holds the whole weighted signal and its running sum (five float64 copies, ~580 MB at
    24 kHz) at once; within a chunk the squares and their running sum overwrite the filter's
    output. The chunk grid is fixed: the float64 sums, and so the gain, never depend on it moving."""
    k_weighting = dsp.IIRFilter(_k_weighting(sample_rate), round(K_WEIGHTING_HISTORY_S * sample_rate))
    out = np.zeros(len(at))
    total = 0.0
    for start in range(0, length, ENERGY_CHUNK):
        chunk = chunk_of(start, min(length, start + ENERGY_CHUNK))
        running = k_weighting(chunk)  # a new float64 array: squared and summed in place below
        n = len(chunk)
        del chunk
        np.square(running, out=running)
        np.cumsum(running, out=running)
        running += total
        inside = (at > start) & (at <= start + n)  # index 0 stays 0: nothing before it
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
    if _too_short(len(samples), sample_rate):
        samples = np.tile(samples, math.ceil((math.ceil(BLOCK_S * sample_rate) + 1) / len(samples)))
    return _gated_lufs(lambda a, b: samples[a:b], len(samples), sample_rate)


def _too_short(length: int, sample_rate: int) -> bool:
    return length < math.ceil(BLOCK_S * sample_rate) + 1


def _gated_lufs(chunk_of: Chunks, length: int, sample_rate: int) -> float:
    """integrated_lufs of a signal of at least one block, given in chunks (-inf when all is gated)."""
    count = int(round((length / sample_rate - BLOCK_S) / (BLOCK_S * 0.25))) + 1
    starts = np.arange(count) * BLOCK_S * 0.25
    lower = np.minimum((starts * sample_rate).astype(np.int64), length)
    upper = np.minimum(((starts + BLOCK_S) * sample_rate).astype(np.int64), length)
    energy = _running_energy(chunk_of, length, sample_rate, np.concatenate([lower, upper]))
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
    up = dsp.resample_poly(x, OVERSAMPLE, 1, window=_oversampling_filter())
    up = np.abs(up, out=up).reshape(-1, OVERSAMPLE)
    return np.maximum(np.maximum(np.abs(x), np.maximum(up[:, 0], up[:, 1])), np.maximum(up[:, 2], up[:, 3]))


def _block_peaks(x: np.ndarray) -> np.ndarray:
    """max |x| per TRUE_PEAK_BLOCK samples (the last block zero-padded), a chunk at a time."""
    out = np.empty(-(-len(x) // TRUE_PEAK_BLOCK), np.float32)
    for start in range(0, len(x), ENERGY_CHUNK):  # ENERGY_CHUNK is a whole number of blocks
        chunk = np.abs(x[start:start + ENERGY_CHUNK])
        chunk = np.pad(chunk, (0, -len(chunk) % TRUE_PEAK_BLOCK)).reshape(-1, TRUE_PEAK_BLOCK)
        out[start // TRUE_PEAK_BLOCK: start // TRUE_PEAK_BLOCK + len(chunk)] = chunk.max(axis=1)
    return out


def _near_runs(x: np.ndarray, floor: float, blocks: np.ndarray | None = None) -> list[tuple[int, int]]:
    """[lo, hi) stretches whose sample peak comes within TRUE_PEAK_MARGIN_DB of ``floor``: the
    only places where the true peak can reach it (a 4x-oversampled peak of band-limited audio
    sits < 3 dB above its sample peak; oversampling is the costly part and speech rarely nears
    the ceiling). Everything when ``floor`` <= 0. ``blocks``: ``_block_peaks(x)`` if known."""
    if floor <= 0.0:
        return [(0, len(x))] if len(x) else []
    blocks = _block_peaks(x) if blocks is None else blocks
    near = np.flatnonzero(blocks * 10.0 ** (TRUE_PEAK_MARGIN_DB / 20.0) >= floor)
    if not len(near):
        return []
    # runs of near blocks (short gaps bridged: one call costs more than a few blocks)
    breaks = np.flatnonzero(np.diff(near) > TRUE_PEAK_BRIDGE)
    return [(int(first) * TRUE_PEAK_BLOCK, min(len(x), (int(last) + 1) * TRUE_PEAK_BLOCK))
            for first, last in zip(near[np.r_[0, breaks + 1]], near[np.r_[breaks, len(near) - 1]])]


def _true_peaks(x: np.ndarray, runs: list[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]:
    """(start, true peaks of x from start on) over the runs, in pieces of ENERGY_CHUNK samples
    with context for the filter: oversampling a whole 10-minute render at once held ~1 GB of 4x signal."""
    for lo, hi in runs:
        for start in range(lo, hi, ENERGY_CHUNK):
            end = min(hi, start + ENERGY_CHUNK)
            pad_lo, pad_hi = max(0, start - TRUE_PEAK_CONTEXT), min(len(x), end + TRUE_PEAK_CONTEXT)
            yield start, _oversampled_peaks(x[pad_lo:pad_hi])[start - pad_lo: end - pad_lo]


def _peak_max(x: np.ndarray, floor: float = 0.0) -> float:
    """The largest true peak of x, exact wherever it reaches ``floor`` (0.0: everywhere)."""
    blocks = _block_peaks(x)
    found = float(blocks.max()) if len(blocks) else 0.0  # the sample peak, a lower bound
    for _, peaks in _true_peaks(x, _near_runs(x, floor, blocks)):
        found = max(found, float(peaks.max()))
    return found


# Candidates are kept a hair under the floor: the limiter later tests float32 products of them
# against the ceiling, and a rounding there must not meet a sample that was left out.
CANDIDATE_SLACK = 0.999


def _peak_candidates(x: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, true peaks) of the samples of x whose true peak reaches ``floor``: all the limiter
    needs, where a dense array of peaks cost one float32 copy of the render per gain tried."""
    hits, values = [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for start, peaks in _true_peaks(x, _near_runs(x, floor)):
        hit = np.flatnonzero(peaks > floor * CANDIDATE_SLACK)
        hits.append(hit + start)
        values.append(peaks[hit])
    return np.concatenate(hits), np.concatenate(values)


def true_peak_dbfs(samples: np.ndarray, sample_rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP; -inf for silence. (Rate kept for symmetry.)"""
    samples = _mono32(samples)
    if len(samples) == 0:
        return -math.inf
    return _db(_peak_max(samples))


# One stretch of the limiter's gain: samples [lo, hi) are multiplied by gain (float32, hi - lo long).
Region = tuple[int, int, np.ndarray]


def _limiter_gain(over: np.ndarray, over_peaks: np.ndarray, length: int, sample_rate: int,
                  ceiling: float) -> list[Region]:
    """Look-ahead peak limiter: a smooth gain envelope that dips only around over-ceiling peaks
    (``over``: indices, ascending; ``over_peaks``: their true peaks after the gain).

    ``need`` is the gain each sample requires (1 wherever the peak is under the ceiling). A
    centred running minimum (width 2*(attack+hold)) spreads each dip so it is held over
    neighbouring pitch periods, then two running means (each +-attack/2) turn the steps into
    triangular ramps. Because the smoothing reaches no further than the minimum did, the gain at
    every peak is still <= what that peak needs. The gain is exactly 1 outside the regions returned.
    """
    if not len(over):
        return []
    attack = max(1, round(LIMITER_ATTACK_S * sample_rate))
    hold = round(LIMITER_HOLD_S * sample_rate)
    half = attack // 2
    # How far one peak's dip reaches. The gain is computed only around the peaks, region by
    # region (with that much context each side): on a whole 10-minute render the filters' float
    # copies held ~400 MB, and the gain is exactly 1 everywhere else anyway.
    reach = attack + hold + 2 * half + 1
    breaks = np.flatnonzero(np.diff(over) > 2 * reach)
    regions = []
    for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, len(over) - 1]):
        first, last = int(over[a]), int(over[b])
        lo, hi = max(0, first - reach), min(length, last + reach + 1)
        pad_lo, pad_hi = max(0, lo - reach), min(length, hi + reach)
        # regions lie over 2*reach apart, so no other region's peak falls inside this padding
        need = np.ones(pad_hi - pad_lo, np.float32)
        need[over[a:b + 1] - pad_lo] = np.minimum(1.0, ceiling / np.maximum(over_peaks[a:b + 1], 1e-12))
        gain = dsp.running_min(need, 2 * (attack + hold) + 1)
        for _ in range(2):
            gain = dsp.running_mean(gain, 2 * half + 1)
        regions.append((lo, hi, gain[lo - pad_lo: hi - pad_lo].copy()))
    return regions


def _finished(samples: np.ndarray, gain: np.float32, regions: list[Region]) -> Chunks:
    """The output for one gain, chunk by chunk: samples * gain, limited in the regions."""
    def chunk(start: int, stop: int) -> np.ndarray:
        out = samples[start:stop] * gain
        for lo, hi, envelope in regions:
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                out[a - start: b - start] *= envelope[a - lo: b - lo]
        return out
    return chunk


def _finished_lufs(samples: np.ndarray, sample_rate: int, gain: np.float32, regions: list[Region]) -> float:
    chunk_of = _finished(samples, gain, regions)
    if _too_short(len(samples), sample_rate):  # tiny: tiled like integrated_lufs does
        return integrated_lufs(chunk_of(0, len(samples)), sample_rate)
    return _gated_lufs(chunk_of, len(samples), sample_rate)


def normalize_loudness(
    samples: np.ndarray, sample_rate: int, target_lufs: float = -16.0, true_peak_dbfs: float = -1.0,
    *, in_place: bool = False,
) -> np.ndarray:
    """Gain to ``target_lufs`` integrated loudness with the true peak kept <= ``true_peak_dbfs``.

    Peaks that the gain pushes over the ceiling are limited locally (see _limiter_gain) instead
    of turning the whole clip down, which would miss the target. Limiting removes a little
    loudness, so the gain is re-measured and corrected for a few passes; each pass measures its
    output chunk by chunk, and only the chosen one is written. Silence is returned as is.

    ``in_place``: gain and limit the caller's float32 array itself and return it (a long
    render's signal is tens of MB); otherwise a copy is finished and ``samples`` is left alone.
    """
    if in_place and not (isinstance(samples, np.ndarray) and samples.dtype == np.float32 and samples.flags.writeable):
        raise ValueError("in_place needs a writeable float32 array")
    samples = _mono32(samples)
    if not in_place:
        samples = samples.copy()
    loudness = integrated_lufs(samples, sample_rate)
    if not math.isfinite(loudness):
        return samples
    ceiling = 10.0 ** ((true_peak_dbfs - LIMITER_MARGIN_DB) / 20.0)
    gain_db = target_lufs - loudness
    # Oversampled peaks scale with gain: find the candidates once, not on every makeup pass, and
    # only where the gain (plus the makeup passes' headroom) could bring them near the ceiling.
    planned_db = gain_db + MAKEUP_HEADROOM_DB
    at, peaks = _peak_candidates(samples, ceiling / 10.0 ** (planned_db / 20.0))
    for _ in range(MAX_MAKEUP_PASSES):
        if gain_db > planned_db:  # makeup went further than planned: look for candidates again
            planned_db = gain_db + MAKEUP_HEADROOM_DB
            at, peaks = _peak_candidates(samples, ceiling / 10.0 ** (planned_db / 20.0))
        gain = np.float32(10.0 ** (gain_db / 20.0))
        gained = peaks * gain
        over = gained > ceiling
        regions = _limiter_gain(at[over], gained[over], len(samples), sample_rate, ceiling)
        error = target_lufs - _finished_lufs(samples, sample_rate, gain, regions)
        if abs(error) <= LOUDNESS_TOLERANCE_LU:
            break
        gain_db += error
    samples *= gain
    for lo, hi, envelope in regions:
        samples[lo:hi] *= envelope
    # Last resort for the tiny overshoot gain smoothing can leave: costs at most a fraction of a dB.
    over_db = _db(_peak_max(samples, ceiling)) - true_peak_dbfs
    if over_db > 0:
        samples *= np.float32(10.0 ** (-over_db / 20.0))
    return samples
