"""Signal-level audio helpers for rendered narration: trim, resampling, pitch, files (and the
loudness steps of ``synthesis.loudness``, re-exported).

Everything works on float32 mono numpy arrays in [-1, 1] plus an explicit sample rate, and every
function is pure (the only module state is the cached path of the bundled ffmpeg binary) except
``normalize_loudness(..., in_place=True)``, which finishes the caller's array. A long render's
signal is tens of MB, so nothing here copies it whole without need: files get their PCM a chunk
at a time. Files are written atomically so a visitor's player never sees a half-written WAV or MP3.
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import secrets
import subprocess
import threading
import wave
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from synthesis import dsp
# The finishing steps live in synthesis.loudness; re-exported: callers know them as audio.*
from synthesis.loudness import _mono32, integrated_lufs, normalize_loudness, true_peak_dbfs  # noqa: F401

MIN_RATE, MAX_RATE = 16000, 48000
MP3_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
VAD_FLOOR_DB = -80.0  # frames quieter than this are never speech, however quiet the clip is
# Raised-cosine ramp where audio meets inserted silence. Measured on rendered narration: a hard
# cut left the largest sample-to-sample step at a join above the steps inside the speech around
# it; 5 ms brings it under them, and is far too short to hear as a fade.
FADE_MS = 5.0


def silence(ms: float, sample_rate: int) -> np.ndarray:
    return np.zeros(max(0, round(ms * sample_rate / 1000.0)), dtype=np.float32)


def fade(samples: np.ndarray, sample_rate: int, head: bool = True, tail: bool = True, ms: float | None = None) -> np.ndarray:
    """A copy with a raised-cosine fade-in at the start and/or fade-out at the end (FADE_MS)."""
    out = _mono32(samples).copy()
    n = min(len(out) // 2, round((FADE_MS if ms is None else ms) * sample_rate / 1000.0))
    if n:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        if head:
            out[:n] *= ramp
        if tail:
            out[len(out) - n:] *= ramp[::-1]
    return out


# --- trimming ---------------------------------------------------------------------------------

def _frames(samples: np.ndarray, frame: int) -> np.ndarray:
    """Non-overlapping frames; the last partial frame is zero-padded so no sample is ignored."""
    padded = np.pad(samples, (0, -len(samples) % frame))
    return padded.reshape(-1, frame)


def _rms_db(frames: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=-1))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(rms)


def find_speech_bounds(
    samples: np.ndarray, sample_rate: int, threshold_db: float = -45.0, frame_ms: float = 10, keep_ms: float = 40
) -> tuple[int, int]:
    """Sample range [start, end) from the first to the last voiced frame, widened by keep_ms.

    A frame is voiced when its RMS is within ``threshold_db`` of the loudest frame (relative, so
    a quietly rendered clip is trimmed exactly like a loud one) and above VAD_FLOOR_DB dBFS (so
    dither or encoder noise in an otherwise silent clip is not mistaken for speech).
    Returns (0, 0) when nothing is voiced.
    """
    samples = _mono32(samples)
    frame = max(1, round(frame_ms * sample_rate / 1000.0))
    if len(samples) == 0:
        return 0, 0
    level = _rms_db(_frames(samples, frame))
    loudest = level.max()
    voiced = np.flatnonzero(level >= max(loudest + threshold_db, VAD_FLOOR_DB))
    if len(voiced) == 0:
        return 0, 0
    keep = round(keep_ms * sample_rate / 1000.0)
    start = max(0, voiced[0] * frame - keep)
    end = min(len(samples), (voiced[-1] + 1) * frame + keep)
    return int(start), int(end)


def trim_silence(samples: np.ndarray, sample_rate: int, **vad) -> tuple[np.ndarray, int]:
    """Drop leading and trailing silence (pauses inside stay); returns (trimmed, start offset)."""
    samples = _mono32(samples)
    start, end = find_speech_bounds(samples, sample_rate, **vad)
    return samples[start:end].copy(), start


# --- rate and pitch -----------------------------------------------------------------------------

def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """float32 samples at ``sr_out``; at the same rate the float32 input itself, not a copy (a
    long render's signal is tens of MB)."""
    for rate in (sr_in, sr_out):
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ValueError(f"unsupported sample rate {rate} Hz: use {MIN_RATE}-{MAX_RATE} Hz")
    samples = _mono32(samples)
    if sr_in == sr_out:
        return samples
    g = math.gcd(sr_in, sr_out)
    return dsp.resample_poly(samples, sr_out // g, sr_in // g)


def _cmnd(frames: np.ndarray, width: int, max_lag: int) -> np.ndarray:
    """YIN's cumulative-mean-normalised difference per frame; column i is lag i+1."""
    # d(tau) = sum_{j<width} (x_j - x_{j+tau})^2 = E(0) + E(tau) - 2 r(tau), r via one FFT product
    n_fft = 1 << (frames.shape[1] + width).bit_length()
    corr = np.fft.irfft(np.conj(np.fft.rfft(frames[:, :width], n_fft)) * np.fft.rfft(frames, n_fft), n_fft)
    energy = np.pad(np.cumsum(np.square(frames), axis=1), ((0, 0), (1, 0)))
    window_energy = energy[:, width : width + max_lag + 1] - energy[:, : max_lag + 1]
    diff = np.maximum(window_energy[:, :1] + window_energy - 2.0 * corr[:, : max_lag + 1], 0.0)[:, 1:]
    lags = np.arange(1, max_lag + 1)
    return diff * lags / np.maximum(np.cumsum(diff, axis=1), 1e-12)


def median_f0(
    samples: np.ndarray, sample_rate: int, fmin: float = 70.0, fmax: float = 500.0
) -> float:
    """Median fundamental frequency (Hz) over voiced frames, YIN-style; nan if nothing is voiced.

    Each frame's cumulative-mean-normalised difference function is searched for the first dip
    under 0.15 (YIN's rule: the first dip is the period, later ones are its multiples), refined
    by parabolic interpolation. Frames more than 30 dB under the loudest, or with no dip under
    0.35, count as unvoiced.
    """
    x = _mono32(samples).astype(np.float64)
    max_lag = math.ceil(sample_rate / fmin)
    min_lag = max(2, math.floor(sample_rate / fmax))
    width = max_lag  # the integration window must hold at least one period of fmin
    hop = max(1, round(0.01 * sample_rate))
    if len(x) < width + max_lag + 1:
        return math.nan
    frames = np.lib.stride_tricks.sliding_window_view(x, width + max_lag + 1)[::hop]
    level = _rms_db(frames)
    frames = frames[level >= max(level.max() - 30.0, VAD_FLOOR_DB)]
    chunks = [_cmnd(frames[i : i + 512], width, max_lag) for i in range(0, len(frames), 512)]  # bounds memory
    cmnd = np.concatenate(chunks) if chunks else np.empty((0, max_lag))
    f0s = []
    for row in cmnd:
        search = row[min_lag - 1 :]
        below = np.flatnonzero(search < 0.15)
        i = (below[0] if len(below) else int(np.argmin(search))) + min_lag - 1
        while i + 1 < len(row) and row[i + 1] < row[i]:
            i += 1  # walk down to the bottom of the dip
        if row[i] > 0.35:
            continue
        shift = 0.0
        if 0 < i < len(row) - 1:
            a, b, c = row[i - 1], row[i], row[i + 1]
            if a - 2 * b + c > 0:
                shift = 0.5 * (a - c) / (a - 2 * b + c)
        f0s.append(sample_rate / (i + 1 + shift))
    return float(np.median(f0s)) if f0s else math.nan


# --- files ---------------------------------------------------------------------------------------

def to_pcm16(samples: np.ndarray) -> bytes:
    """Little-endian 16-bit PCM; out-of-range samples are clipped, not wrapped."""
    scaled = np.clip(_mono32(samples), -1.0, 1.0)
    scaled *= np.float32(32767.0)
    return np.round(scaled, out=scaled).astype("<i2").tobytes()


PCM_CHUNK = 1 << 18  # samples converted at a time when a file is written: ~1.5 MB of copies, not the render's


def pcm16_chunks(samples: np.ndarray) -> Iterator[bytes]:
    """to_pcm16 piece by piece, so writing a long render never holds its whole PCM copy."""
    samples = _mono32(samples)
    for start in range(0, len(samples), PCM_CHUNK):
        yield to_pcm16(samples[start:start + PCM_CHUNK])


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """The ffmpeg bundled with imageio-ffmpeg: the servers have no system ffmpeg on PATH."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@contextlib.contextmanager
def _atomic_write(path: Path | str) -> Iterator[BinaryIO]:
    """Yield a temp file next to ``path``; on success fsync and rename it over ``path``.

    The rename is atomic on one filesystem, so readers see the old file or the complete new one;
    on any error the temp file is removed and an existing ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask decide permissions (mkstemp would force 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # persist the rename itself; not possible on every OS
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_wav(path: Path | str, samples: np.ndarray, sample_rate: int) -> None:
    """Mono 16-bit PCM WAV, written atomically (parent directories are created)."""
    samples = _mono32(samples)
    with _atomic_write(path) as fh, wave.open(fh, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.setnframes(len(samples))  # the header is right from the start: never patched afterwards
        for pcm in pcm16_chunks(samples):
            wav.writeframes(pcm)


# LAME's algorithm quality (ffmpeg's -compression_level, LAME's -q). At our 96 kb/s for mono
# 24 kHz speech, 7 (psychoacoustics kept for pre-echo, no noise-shaping search) halved the
# encode CPU of a 61 s narration (0.57 -> 0.30 s) and its decoded audio was *closer* to the
# source than LAME's default: SNR 20.8 -> 25.4 dB, magnitude-spectrum error 9 dB lower in
# every band from 2 to 10 kHz, band levels unchanged, PESQ-WB 4.27 -> 4.57 (4 narrations,
# neutral and emotional; measured for issue #13). The bitrate is generous enough that the
# slower search only spreads the noise differently.
MP3_QUALITY = "7"


def write_mp3(path: Path | str, samples: np.ndarray, sample_rate: int, bitrate: str = "96k") -> None:
    """Mono MP3 via the bundled ffmpeg, written atomically; no temporary file anywhere else.

    The rate is kept when MP3 supports it, otherwise resampled up to the next MP3 rate.
    PCM goes to ffmpeg on stdin and ffmpeg writes the atomic temp file beside ``path`` itself
    (through /dev/fd, so it can seek back and fill in the Xing/LAME header with the exact length).
    A process killed mid-encode leaves at most that hidden ``.<name>.<random>.tmp``, which
    ``cleanup_media`` removes; nothing in /tmp.
    """
    if sample_rate not in MP3_RATES:
        target = next((r for r in MP3_RATES if r >= sample_rate), MP3_RATES[-1])
        samples, sample_rate = resample(samples, sample_rate, target), target
    with _atomic_write(path) as fh:
        fd = fh.fileno()
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1",
               "-i", "pipe:0", "-b:a", bitrate, "-compression_level", MP3_QUALITY, "-f", "mp3", "-y", f"/dev/fd/{fd}"]
        returncode, stderr = _encode(cmd, samples, fd)
        if returncode != 0:
            tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"ffmpeg could not encode {Path(path).name}: {' / '.join(tail) or returncode}")
        fh.seek(0, os.SEEK_END)  # ffmpeg wrote through its own descriptor: flush/fsync see the full file


def _encode(cmd: list[str], samples: np.ndarray, fd: int) -> tuple[int, bytes]:
    """Run the encoder with the samples' PCM streamed to its stdin a chunk at a time (one
    whole-render PCM copy was ~30 MB for ten minutes); returns (exit status, its stderr)."""
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          pass_fds=(fd,)) as proc:
        # stderr is drained beside the writes: a full stderr pipe would stall ffmpeg, and us with it
        stderr: list[bytes] = []
        reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
        reader.start()
        try:
            for pcm in pcm16_chunks(samples):
                proc.stdin.write(pcm)
            proc.stdin.close()
        except BrokenPipeError:  # the encoder stopped reading: its status and message say why
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        reader.join()
        return proc.wait(), b"".join(stderr)


def decode(path: Path | str) -> tuple[np.ndarray, int]:
    """Read an audio file as (float32 mono samples, sample rate); MP3 goes through ffmpeg."""
    path = Path(path)
    if path.suffix.lower() != ".mp3":
        import soundfile  # here: rendering never reads audio files (loading libsndfile: ~20 ms)

        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        return data.mean(axis=1).astype(np.float32), int(rate)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-vn", "-ac", "1", "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    # No ffprobe either: the input stream's rate is the first "NNNN Hz" in ffmpeg's own report.
    found = re.search(rb"Audio: .*?(\d+) Hz", proc.stderr)
    if proc.returncode != 0 or not found:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"ffmpeg could not decode {path}: {' / '.join(tail)}")
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32), int(found.group(1))
