"""The look-ahead peak limiter of ``synthesis.loudness.normalize_loudness``: a smooth gain that
dips only around the samples whose true peak a makeup gain pushes over the ceiling, and the
finished output (gain, then that dip) handed over chunk by chunk.

Imports: numpy and ``synthesis.dsp`` only.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

import numpy as np

from synthesis import dsp

LIMITER_ATTACK_S = 0.010  # gain starts falling this long before a peak (look-ahead)
LIMITER_HOLD_S = 0.030  # and stays down this long around it, so it does not flutter per pitch period

# One stretch of the limiter's gain: samples [lo, hi) are multiplied by gain (float32, hi - lo long).
Region = tuple[int, int, np.ndarray]

# A signal handed over piece by piece: (start, stop) -> its float32 samples there. While the gain is
# searched, the gained and limited output is measured this way and never held whole.
Chunks = Callable[[int, int], np.ndarray]


def limiter_gain(over: np.ndarray, over_peaks: np.ndarray, length: int, sample_rate: int,
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
    # How far one peak's dip reaches. The gain is computed only around the peaks, in regions
    # reaching that far either side: on a whole 10-minute render the filters' float copies held
    # ~400 MB, and the gain is exactly 1 everywhere else anyway.
    reach = attack + hold + 2 * half + 1
    breaks = np.flatnonzero(np.diff(over) > 2 * reach)
    first, last = over[np.r_[0, breaks + 1]], over[np.r_[breaks, len(over) - 1]]
    lo, hi = np.maximum(0, first - reach), np.minimum(length, last + reach + 1)
    # All regions back to back in one array, filtered in one go (one region at a time cost ~0.4 ms
    # each in numpy calls; speech has ~45 a minute). The same numbers as region by region with
    # "nearest" edges: the filters reach < ``reach`` samples, and each region has that many ones
    # (no peak) at either end, which is what "nearest" would have extended it by, except at the
    # file's ends, which are the array's; and the running means' float64 sums of float32 gains
    # in [2^-21, 1] are exact, so they do not depend on what was summed before.
    offset = np.r_[0, np.cumsum(hi - lo)]
    region_of = np.repeat(np.arange(len(first)), np.diff(np.r_[0, breaks + 1, len(over)]))
    need = np.ones(offset[-1], np.float32)
    need[over - lo[region_of] + offset[region_of]] = np.minimum(1.0, ceiling / np.maximum(over_peaks, 1e-12))
    gain = dsp.running_min(need, 2 * (attack + hold) + 1)
    for _ in range(2):
        gain = dsp.running_mean(gain, 2 * half + 1)
    return [(int(a), int(b), gain[s: s + b - a]) for a, b, s in zip(lo, hi, offset[:-1])]


def finished(samples: np.ndarray, gain: np.float32, regions: list[Region]) -> Chunks:
    """The output for one gain, chunk by chunk: samples * gain, limited in the regions (which
    ``limiter_gain`` returns ascending and apart)."""
    starts = [lo for lo, _, _ in regions]

    def chunk(start: int, stop: int) -> np.ndarray:
        out = samples[start:stop] * gain
        for lo, hi, envelope in regions[max(0, bisect_right(starts, start) - 1):]:
            if lo >= stop:
                break
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                out[a - start: b - start] *= envelope[a - lo: b - lo]
        return out
    return chunk
