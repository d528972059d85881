"""Loudness finishing steps: BS.1770-4 integrated loudness, true peak, and normalisation to a
target loudness under a true-peak ceiling with a look-ahead limiter.

Fast by construction: the meter is vectorised (the K-weighting by FFT, gating blocks from a
cumulative sum) and agrees with pyloudnorm within 0.1 LU; true peaks are oversampled only
where the signal comes near the ceiling. Mono float32 numpy arrays in [-1, 1].

The normaliser K-weights its input once: the K-weighting is linear, so the output of a gain g has
g^2 times the input's energy in every gating block, except near the limiter's regions, the only
stretches it filters again for each gain it tries (see ``_GainedLoudness``).

Bounded memory on long renders: the K-weighting, the true peaks and every output the gain search
tries are worked through in chunks of ENERGY_CHUNK samples, the limiter (``synthesis.limiter``)
gets only the samples whose true peak can reach the ceiling, and
``normalize_loudness(..., in_place=True)`` finishes the caller's array itself: ~40 MB beside a
10-minute render's signal (it was ~300 MB).

Imports: numpy and ``synthesis.dsp`` only (no scipy: its import alone cost a one-off render
~0.7 s; ``dsp`` reproduces scipy's oversampling and limiter filters bit for bit).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np

from synthesis import dsp
from synthesis.limiter import Chunks, Region, finished, limiter_gain

OVERSAMPLE = 4  # BS.1770-4 true-peak meter: 4x oversampling (under-reads by < 0.5 dB at 48 kHz)
BLOCK_S = 0.4  # BS.1770 gating block: pyloudnorm refuses shorter input
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
# Samples oversampled at a time: the 4x signal and its filter terms (~1.3 MB) stay in the CPU's
# cache, where whole ENERGY_CHUNKs went through memory 84 times (~1.5x slower).
TRUE_PEAK_PIECE = 1 << 16
# Input the K-weighting filter keeps from before each chunk: its slowest pole (the 38 Hz high
# pass, a double pole) has decayed by e^-119 after half a second, at any rate.
K_WEIGHTING_HISTORY_S = 0.5
# The same for the short stretches around limiter regions filtered again for each gain tried (where
# the history is most of the work): the filter's impulse response is under 1e-16 of its peak after
# 0.15 s, at 16-48 kHz alike (its poles are fixed in Hz), so what comes before that, and a region's
# effect on what comes after, is below float64 rounding.
LOCAL_HISTORY_S = 0.15


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


def _running_energy(chunk_of: Chunks, begin: int, end: int, sample_rate: int, at: np.ndarray,
                    history_s: float = K_WEIGHTING_HISTORY_S) -> np.ndarray:
    """Sum of the squared K-weighted signal from ``begin`` to before each index in ``at``
    (ascending, within [begin, end]). The filter is primed with ``history_s`` of the input
    before ``begin`` (none before 0: the filter starts from rest there).

    Filtered in chunks with the filter's history carried over, in float64, so a 10-minute render
    never holds the whole weighted signal and its running sum (five float64 copies, ~580 MB at
    24 kHz) at once; within a chunk the squares and their running sum overwrite the filter's
    output. The chunk grid is fixed: the float64 sums, and so the gain, never depend on it moving."""
    history = round(history_s * sample_rate)
    k_weighting = dsp.IIRFilter(_k_weighting(sample_rate), history)
    if begin > 0:
        k_weighting.prime(chunk_of(max(0, begin - history), begin))
    out = np.zeros(len(at))
    total = 0.0
    for start in range(begin, end, ENERGY_CHUNK):
        chunk = chunk_of(start, min(end, start + ENERGY_CHUNK))
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
    grid = _GatingGrid(len(samples), sample_rate)
    return grid.lufs(_running_energy(lambda a, b: samples[a:b], 0, len(samples), sample_rate, grid.points))


def _too_short(length: int, sample_rate: int) -> bool:
    return length < math.ceil(BLOCK_S * sample_rate) + 1


class _GatingGrid:
    """The BS.1770 gating blocks of a signal of ``length`` (at least one block) samples: 400 ms,
    75 % overlap. ``points``: every block edge, ascending and distinct; each block runs from
    ``points[lower[i]]`` to ``points[upper[i]]``, and the first point is 0."""

    def __init__(self, length: int, sample_rate: int):
        count = int(round((length / sample_rate - BLOCK_S) / (BLOCK_S * 0.25))) + 1
        starts = np.arange(count) * BLOCK_S * 0.25
        lower = np.minimum((starts * sample_rate).astype(np.int64), length)
        upper = np.minimum(((starts + BLOCK_S) * sample_rate).astype(np.int64), length)
        self.points, where = np.unique(np.concatenate([lower, upper]), return_inverse=True)
        where = where.ravel()
        self.lower, self.upper = where[:count], where[count:]
        self.block = BLOCK_S * sample_rate

    def lufs(self, energy: np.ndarray) -> float:
        """Integrated loudness from the K-weighted energy before each point (-inf when all is gated)."""
        return _gated((energy[self.upper] - energy[self.lower]) / self.block)


def _gated(z: np.ndarray) -> float:
    """Integrated loudness from the gating blocks' mean squares: absolute, then relative gate."""
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
    """Per input sample, the largest |value| at it or on the way to the next sample (4x oversampled).
    Each phase of the 4x signal is one value per input sample: their maximum, never interleaved."""
    peaks = np.abs(x)
    for _, phase in dsp.resample_phases(x, OVERSAMPLE, 1, window=_oversampling_filter()):
        np.maximum(peaks, np.abs(phase, out=phase), out=peaks)
    return peaks


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
    """(start, true peaks of x from start on) over the runs, in pieces of TRUE_PEAK_PIECE samples
    with context for the filter: oversampling a whole 10-minute render at once held ~1 GB of 4x signal."""
    for lo, hi in runs:
        for start in range(lo, hi, TRUE_PEAK_PIECE):
            end = min(hi, start + TRUE_PEAK_PIECE)
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


class _GainedLoudness:
    """Integrated loudness of ``samples`` and of any output made from it by a gain and the
    limiter's regions, from one K-weighting pass over ``samples``.

    K-weighting is linear: between two gating-grid points away from the regions, the output's
    K-weighted energy is gain^2 times the input's. Only the intervals from a region's start to
    LOCAL_HISTORY_S after its end (where its effect has died away) are filtered again, from the
    output itself: a quarter of a speech render, where each makeup pass K-weighted all of it."""

    def __init__(self, samples: np.ndarray, sample_rate: int):
        self.samples, self.rate = samples, sample_rate
        self.tiny = _too_short(len(samples), sample_rate)
        if self.tiny:  # under one block: tiled, as integrated_lufs does, and cheap to measure whole
            self.input_lufs = integrated_lufs(samples, sample_rate)
            return
        self.grid = _GatingGrid(len(samples), sample_rate)
        energy = _running_energy(lambda a, b: samples[a:b], 0, len(samples), sample_rate, self.grid.points)
        self.input_lufs = self.grid.lufs(energy)
        self.between = np.diff(energy)  # the input's energy from each point to the next

    def output_lufs(self, gain: np.float32, regions: list[Region]) -> float:
        chunk_of = finished(self.samples, gain, regions)
        if self.tiny:
            return integrated_lufs(chunk_of(0, len(self.samples)), self.rate)
        points = self.grid.points
        between = self.between * float(gain) ** 2
        for first, last in self._limited(regions):
            energy = _running_energy(chunk_of, int(points[first]), int(points[last]), self.rate,
                                     points[first:last + 1], LOCAL_HISTORY_S)
            between[first:last] = np.diff(energy)
        return self.grid.lufs(np.r_[0.0, np.cumsum(between)])

    def _limited(self, regions: list[Region]) -> list[list[int]]:
        """[first, last) point indices of the intervals whose energy the regions change, merged."""
        points, tail = self.grid.points, round(LOCAL_HISTORY_S * self.rate)
        firsts = np.searchsorted(points, [lo for lo, _, _ in regions], "right") - 1
        lasts = np.minimum(np.searchsorted(points, [hi + tail for _, hi, _ in regions]), len(points) - 1)
        spans: list[list[int]] = []
        for first, last in zip(firsts.tolist(), lasts.tolist()):
            if first >= last:  # after the last block
                continue
            if spans and points[first] - points[spans[-1][1]] < tail:  # cheaper than another history
                spans[-1][1] = max(spans[-1][1], last)
            else:
                spans.append([first, last])
        return spans


def normalize_loudness(
    samples: np.ndarray, sample_rate: int, target_lufs: float = -16.0, true_peak_dbfs: float = -1.0,
    *, in_place: bool = False,
) -> np.ndarray:
    """Gain to ``target_lufs`` integrated loudness with the true peak kept <= ``true_peak_dbfs``.

    Peaks that the gain pushes over the ceiling are limited locally (see limiter.limiter_gain) instead
    of turning the whole clip down, which would miss the target. Limiting removes a little
    loudness, so the gain is re-measured and corrected for a few passes; each pass measures its
    output from the input's K-weighting and the limited stretches (``_GainedLoudness``), and
    only the chosen one is written. Silence is returned as is.

    ``in_place``: gain and limit the caller's float32 array itself and return it (a long
    render's signal is tens of MB); otherwise a copy is finished and ``samples`` is left alone.
    """
    if in_place and not (isinstance(samples, np.ndarray) and samples.dtype == np.float32 and samples.flags.writeable):
        raise ValueError("in_place needs a writeable float32 array")
    samples = _mono32(samples)
    if not in_place:
        samples = samples.copy()
    meter = _GainedLoudness(samples, sample_rate)
    loudness = meter.input_lufs
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
        regions = limiter_gain(at[over], gained[over], len(samples), sample_rate, ceiling)
        error = target_lufs - meter.output_lufs(gain, regions)
        if abs(error) <= LOUDNESS_TOLERANCE_LU:
            break
        gain_db += error
    samples *= gain
    for lo, hi, envelope in regions:
        samples[lo:hi] *= envelope
    # Last resort for the tiny overshoot gain smoothing can leave: costs at most a fraction of a dB.
    # Only the regions can have it: elsewhere the output is the input times the gain, and every
    # sample whose true peak that gain could bring near the ceiling was a candidate (the gain is
    # within the planned one), found at or under the ceiling, which is LIMITER_MARGIN_DB under
    # the limit: far more than float32 rounding of the product could add.
    near = [(max(0, lo - TRUE_PEAK_CONTEXT), min(len(samples), hi + TRUE_PEAK_CONTEXT)) for lo, hi, _ in regions]
    over_db = _db(max((float(p.max()) for _, p in _true_peaks(samples, near)), default=0.0)) - true_peak_dbfs
    if over_db > 0:
        samples *= np.float32(10.0 ** (-over_db / 20.0))
    return samples
