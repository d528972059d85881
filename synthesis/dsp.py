"""The few signal filters the pipeline needs, on numpy alone, in place of scipy.signal and scipy.ndimage.

``import scipy.signal`` costs ~0.7 s of CPU (it pulls in scipy.stats, scipy.spatial, scipy.optimize,
…), the largest single part of a one-off ``python -m synthesis speak``. What the pipeline used:

- ``resample_poly``: scipy's polyphase resampler with its default Kaiser-windowed filter (or a
  given one), float32 in and out. Same filter, same order of float32 additions as scipy's
  upfirdn, so the samples are bit-identical (``tests/test_dsp.py`` compares).
- ``running_min`` / ``running_mean``: ``minimum_filter1d`` / ``uniform_filter1d`` with mode
  "nearest". The minimum is exact by nature; the mean repeats scipy's running sum (one
  subtraction and one addition per sample, in float64) so it is bit-identical too.
- ``IIRFilter``: a cascade of biquads (the K-weighting) applied by FFT, in chunks with the
  previous input kept as history. Not the recursion's rounding, so it differs from ``sosfilt``
  by ~1e-15 relative: far below anything a loudness figure shows.

Imports: numpy only.
"""
from __future__ import annotations

import functools
import math

import numpy as np


# --- filter design ---------------------------------------------------------------------------------

def kaiser_window(length: int, beta: float) -> np.ndarray:
    """scipy.signal.windows.kaiser(length, beta) (symmetric)."""
    if length <= 1:
        return np.ones(length)
    n = np.arange(0, length, dtype=np.float64)
    alpha = (length - 1) / 2.0
    return np.i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)) / np.i0(np.float64(beta))


@functools.lru_cache(maxsize=64)
def _lowpass(taps: int, cutoff: float, beta: float) -> np.ndarray:
    alpha = 0.5 * (taps - 1)
    m = np.arange(0, taps, dtype=np.float64) - alpha
    h = cutoff * np.sinc(cutoff * m)  # scipy adds it to 0 and subtracts 0 * sinc(0): both exact
    h *= kaiser_window(taps, beta)
    h /= np.sum(h)  # unit gain at 0 Hz (scipy: sum(h * cos(0)), the same pairwise sum)
    h.flags.writeable = False
    return h


def lowpass(taps: int, cutoff: float, beta: float = 5.0) -> np.ndarray:
    """scipy.signal.firwin(taps, cutoff, window=("kaiser", beta)): cutoff relative to Nyquist."""
    return _lowpass(taps, float(cutoff), float(beta)).copy()


# --- polyphase resampling --------------------------------------------------------------------------

def _upfirdn_length(h_len: int, in_len: int, up: int, down: int) -> int:
    """scipy.signal's _output_len: samples upfirdn produces."""
    total = (in_len + (h_len + (-h_len % up)) // up - 1) * up
    return total // down + bool(total % down)


def resample_poly(x: np.ndarray, up: int, down: int, window: np.ndarray | None = None) -> np.ndarray:
    """scipy.signal.resample_poly(x, up, down[, window=window]) for float32 mono ``x``, bit for bit.

    Output sample y of upfirdn is a sum over one phase of the (flipped) filter, added term by
    term from the oldest input sample to the newest, starting from zero; here each phase's
    outputs are computed as a whole array, term by term in that same order, in float32.
    """
    x = np.asarray(x, dtype=np.float32)
    g = math.gcd(up, down)
    up, down = up // g, down // g
    if up == down == 1:
        return x.copy()
    out = np.empty(-(-len(x) * up // down), np.float32)
    for first, values in resample_phases(x, up, down, window):
        out[first::up] = values
    return out


def resample_phases(x: np.ndarray, up: int, down: int, window: np.ndarray | None = None):
    """resample_poly's output as ``up`` interleaved pieces, (first, out[first::up]) for first in
    0 .. up-1, for whoever wants them apart (a true-peak meter takes their maximum). ``up`` and
    ``down`` in lowest terms, not both 1."""
    x = np.asarray(x, dtype=np.float32)
    n_in = len(x)
    n_out = -(-n_in * up // down)
    if window is None:
        half_len = 10 * max(up, down)
        h = lowpass(2 * half_len + 1, 1.0 / max(up, down)).astype(np.float32)
    else:
        h = np.array(window, dtype=np.float32)
        half_len = (len(h) - 1) // 2
    h *= np.float32(up)
    pre_pad = down - half_len % down
    pre_remove = (half_len + pre_pad) // down
    post_pad = 0
    while _upfirdn_length(len(h) + pre_pad + post_pad, n_in, up, down) < n_out + pre_remove:
        post_pad += 1
    h = np.concatenate([np.zeros(pre_pad, np.float32), h, np.zeros(post_pad + (-(len(h) + pre_pad + post_pad) % up), np.float32)])
    per_phase = len(h) // up
    # phases[t] = h[t + up * (per_phase - 1)], ..., h[t + up], h[t]: the taps output phase t
    # meets, oldest input sample first (scipy's "transposed, flipped" layout)
    phases = h.reshape(-1, up).T[:, ::-1]
    # output y (counted from upfirdn's first) uses phase (y*down) % up and input samples
    # (y*down)//up - per_phase + 1 ... (y*down)//up; x is padded with the zeros upfirdn assumes
    last_start = ((pre_remove + n_out - 1) * down) // up  # of the last output kept
    padded = np.zeros(max(last_start + per_phase, per_phase - 1 + n_in), np.float32)
    padded[per_phase - 1: per_phase - 1 + n_in] = x
    for first in range(min(up, n_out)):
        y = pre_remove + first
        count = len(range(first, n_out, up))
        start = (y * down) // up  # index of the oldest sample in ``padded``
        taps = phases[(y * down) % up]
        acc = np.zeros(count, np.float32)
        term = np.empty(count, np.float32)
        for k in range(per_phase):
            np.multiply(padded[start + k: start + k + down * count: down], taps[k], out=term)
            acc += term
        yield first, acc


# --- running minimum and mean ----------------------------------------------------------------------

def _nearest_padded(x: np.ndarray, size: int, dtype) -> np.ndarray:
    """``x`` extended by its edge values as scipy.ndimage does for a centred window of ``size``."""
    before = size // 2
    return np.pad(np.asarray(x, dtype=dtype), (before, size - before - 1), mode="edge")


def running_min(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.minimum_filter1d(x, size, mode="nearest"): min over each centred window.

    van Herk / Gil-Werman: minima running forwards and backwards inside blocks of ``size``
    meet so every window is the min of two values, O(n) for any size."""
    x = np.asarray(x)
    if size <= 1 or not len(x):
        return x.copy()
    ext = _nearest_padded(x, size, x.dtype)
    blocks = -(-len(ext) // size)
    grid = np.pad(ext, (0, blocks * size - len(ext)), constant_values=np.inf).reshape(blocks, size)
    forward = np.minimum.accumulate(grid, axis=1).ravel()
    backward = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    n = len(x)
    return np.minimum(backward[:n], forward[size - 1: size - 1 + n]).astype(x.dtype, copy=False)


def running_mean(x: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage.uniform_filter1d(x, size, mode="nearest"), bit for bit: scipy sums the first
    window, then per sample adds (entering - leaving) to that running sum, in float64, and
    divides each sum by ``size``; np.cumsum adds in that same order."""
    x = np.asarray(x)
    if size <= 1 or not len(x):
        return x.copy()
    ext = _nearest_padded(x, size, np.float64)
    n = len(x)
    steps = np.empty(n)
    steps[0] = np.cumsum(ext[:size])[-1]
    np.subtract(ext[size: size + n - 1], ext[: n - 1], out=steps[1:])
    sums = np.cumsum(steps)
    sums /= size
    return sums.astype(x.dtype, copy=False)


# --- IIR filtering ----------------------------------------------------------------------------------

class IIRFilter:
    """A cascade of second-order sections ([b0, b1, b2, 1, a1, a2] rows, as scipy's ``sos``),
    zero initial state, applied chunk by chunk (``__call__``) in float64.

    Overlap-save: each block of input is filtered by FFT together with the last ``history``
    input samples before it. The filter's response to anything older has decayed below float64
    precision by then, so the output is the recursion's up to rounding. ``history`` must be that
    long (a few time constants of the slowest pole; the caller knows its filter). The FFT length
    is a power of two about four times the history: the frequency response is computed once
    per filter design, and a short length keeps that cheap (it costs more than the transforms).
    """

    def __init__(self, sections: np.ndarray, history: int):
        self._sections = tuple(tuple(float(v) for v in row) for row in np.asarray(sections, dtype=np.float64))
        self._history = np.zeros(history)
        self._n_fft = 1 << max(12, (4 * history - 1).bit_length())

    def prime(self, before: np.ndarray) -> None:
        """Continue from ``before``, the input just ahead of the next chunk, as if it had been
        filtered (its output unwanted): only its last ``history`` samples matter, and none at all
        is the filter at rest."""
        keep = len(self._history)
        before = np.asarray(before, dtype=np.float64)[max(0, len(before) - keep):]
        self._history = np.concatenate([np.zeros(keep - len(before)), before])

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        chunk = np.asarray(chunk, dtype=np.float64)
        keep, n_fft = len(self._history), self._n_fft
        response = _response(self._sections, n_fft)
        out = np.empty(len(chunk))
        for start in range(0, len(chunk), n_fft - keep):
            block = chunk[start: start + n_fft - keep]
            segment = np.concatenate([self._history, block])
            spectrum = np.fft.rfft(segment, n_fft)
            spectrum *= response
            out[start: start + len(block)] = np.fft.irfft(spectrum, n_fft)[keep: len(segment)]
            self._history = segment[len(segment) - keep:]
        return out


@functools.lru_cache(maxsize=8)
def _response(sections: tuple, n_fft: int) -> np.ndarray:
    """The cascade's frequency response on the rfft grid of ``n_fft`` points."""
    z = np.exp(-2j * np.pi * np.arange(n_fft // 2 + 1) / n_fft)  # z^-1 on the grid
    response = np.ones(len(z), complex)
    for b0, b1, b2, _, a1, a2 in sections:
        response *= (b0 + z * (b1 + z * b2)) / (1.0 + z * (a1 + z * a2))
    response.flags.writeable = False
    return response
