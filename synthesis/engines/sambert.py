"""Optional voice: ModelScope's Sambert-HiFiGAN (``damo/speech_sambert-hifigan_tts_zh-cn_16k``).

Four multi-emotion 16 kHz voices behind ModelScope's text-to-speech pipeline:

    sambert = pipeline(task=Tasks.text_to_speech, model=MODEL_ID)
    wav_bytes = sambert(input=text_or_ssml, voice="zhitian_emo")[OutputKeys.OUTPUT_WAV]

It only runs where ModelScope's stack runs: Python ≤3.10, ``modelscope`` + torch, and the
``ttsfrd`` front-end binary (plus ``kantts``) from ModelScope's own wheel index; the PyPI
packages of those two names are empty squats. Everything else in the project works without it,
so ``load`` explains exactly what is missing instead of failing on import.

Choices (see the tests for the executable version):
* Text: Sambert has its own front end (ttsfrd) but we feed it *our* normalisation, so digits,
  dates and units read the same as with every other engine and as the transcript promises.
  ``Clause.normalized`` has no punctuation, which Sambert uses for phrasing, so we rebuild
  "normalized with the clause's punctuation kept" by aligning ``text`` onto ``normalized``
  (else ``normalized`` + the clause's final punctuation). Our pinyin/sandhi is not passed: the
  pipeline takes text only.
* Length: at most MAX_CHARS characters per call, split at sentence punctuation first, then at
  pauses (，、：), and only then evenly inside a run with no punctuation (no word boundaries are
  known here, so balanced pieces are the least bad hard split).
* Emotion: SSML ``<speak><emotion category=".." intensity="..">..</emotion></speak>``. Category
  names are the model's own emotion vocabulary (KAN-TTS ``emotion_types``: emotion_neutral,
  _happy, _sad, _angry, _fear, _surprise, _disgust), which covers our EMOTIONS one to one.
  Intensity follows Alibaba's SSML ``<emotion>`` range 0.01–2.0 (default 1.0); ours is 0.1–2.0,
  so it is passed through, clamped. Plain text is sent when neutral at intensity 1.
* Speed: the pipeline has no rate control, so speed ≠ 1 is a WSOLA time-stretch of the output
  (pitch kept; mild artefacts beyond ±25 %).
* char_times: an estimate. Inside each piece, the voiced span is shared equally among its
  characters; piece boundaries are exact.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from synthesis import audio
from synthesis.clause import Clause
from synthesis.engines.base import ClauseAudio, Engine, EngineUnavailable, VoiceInfo
from synthesis.engines.sambert_text import EMOTION_CATEGORY, PUNCT, build_input, emotion_attrs, speakable_text, split_pieces

MODEL_ID = "damo/speech_sambert-hifigan_tts_zh-cn_16k"
SAMPLE_RATE = 16000
TASK = "text-to-speech"  # == modelscope.utils.constant.Tasks.text_to_speech
OUTPUT_WAV = "output_wav"  # == modelscope.outputs.OutputKeys.OUTPUT_WAV
MODELSCOPE_INDEX = "https://modelscope.oss-cn-beijing.aliyuncs.com/releases/repo.html"
MAPPING_VERSION = "t1"  # bump when the clause -> pipeline input mapping changes (cache keys)

VOICES = {
    "zhitian_emo": "知甜",
    "zhiyan_emo": "知燕",
    "zhizhe_emo": "知哲",
    "zhibei_emo": "知贝",
}


def _python_version() -> tuple[int, int]:
    return sys.version_info[:2]  # a function so tests can pretend to be 3.10


# --- audio ---------------------------------------------------------------------------------------
def decode_wav(data, rate: int = SAMPLE_RATE) -> np.ndarray:
    import soundfile

    if not isinstance(data, (bytes, bytearray)):
        raise RuntimeError(f"Sambert pipeline returned {type(data).__name__} under {OUTPUT_WAV!r}, expected WAV bytes")
    samples, sr = soundfile.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=True)
    if sr != rate:
        raise RuntimeError(f"Sambert returned {sr} Hz audio, expected {rate} Hz: is this the 16 kHz model?")
    return samples.mean(axis=1).astype(np.float32)


def time_stretch(samples: np.ndarray, speed: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """WSOLA: ``speed`` times faster at the same pitch (overlap-add of best-matching frames)."""
    if speed == 1.0 or len(samples) == 0:
        return samples
    win, tol = int(0.03 * rate), int(0.01 * rate)
    hop = win // 2
    out_len = max(1, round(len(samples) / speed))
    frames = math.ceil(out_len / hop) + 1
    x = np.concatenate([np.zeros(tol), samples, np.zeros(3 * tol + 2 * win + int(hop * speed))]).astype(np.float32)
    window = np.hanning(win).astype(np.float32)
    out = np.zeros(frames * hop + win, np.float32)
    norm = np.zeros_like(out)
    prev = tol
    for k in range(frames):
        nominal = tol + int(k * hop * speed)
        if nominal + tol + win > len(x):
            break
        if k:
            # the frame that would naturally follow the previous one, searched near nominal
            target = x[prev + hop : prev + hop + win]
            region = x[nominal - tol : nominal + tol + win]
            pos = nominal - tol + int(np.argmax(np.correlate(region, target, mode="valid")))
        else:
            pos = nominal
        out[k * hop : k * hop + win] += x[pos : pos + win] * window
        norm[k * hop : k * hop + win] += window
        prev = pos
    return (out / np.maximum(norm, 1e-3))[:out_len]


# --- loading -------------------------------------------------------------------------------------
def _unavailable(reason: str) -> EngineUnavailable:
    return EngineUnavailable(f"Sambert engine unavailable: {reason}")


def _predownload_hint(model: str) -> str:
    return (
        f"pre-download it where the ModelScope hub is reachable: python -c \"from modelscope.hub.snapshot_download "
        f"import snapshot_download; print(snapshot_download('{MODEL_ID}'))\", copy that folder here and set "
        f"SAMBERT_MODEL_DIR=/path/to/it (or pass model=<dir>)"
    )


def _real_factory() -> tuple[Callable, str, str]:
    """ModelScope's pipeline(), after the checks its absence would otherwise turn into tracebacks."""
    major, minor = _python_version()
    if (major, minor) > (3, 10):
        raise _unavailable(
            f"Sambert needs Python ≤3.10; this is {major}.{minor}. ModelScope's ttsfrd front end ships "
            f"wheels only up to CPython 3.10: create a Python 3.10 virtualenv for workers that use this engine"
        )
    try:
        pipeline = importlib.import_module("modelscope.pipelines").pipeline
        task = importlib.import_module("modelscope.utils.constant").Tasks.text_to_speech
        output_key = importlib.import_module("modelscope.outputs").OutputKeys.OUTPUT_WAV
    except (ImportError, AttributeError) as exc:
        raise _unavailable(
            f"modelscope is not importable ({exc}). pip install -r requirements-sambert.txt, then "
            f"pip install --no-index --no-deps -f {MODELSCOPE_INDEX} ttsfrd kantts "
            f"(ttsfrd and kantts from ModelScope's own index, not PyPI's squatted packages)"
        ) from exc
    try:
        ttsfrd = importlib.import_module("ttsfrd")
    except ImportError as exc:
        raise _unavailable(
            f"ttsfrd (Sambert's text front end) is missing ({exc}): pip install --no-index --no-deps "
            f"-f {MODELSCOPE_INDEX} ttsfrd — from ModelScope's index, never PyPI (its 'ttsfrd' is an empty squat)"
        ) from exc
    if not hasattr(ttsfrd, "TtsFrontendEngine"):
        raise _unavailable(
            f"the installed ttsfrd has no TtsFrontendEngine, so it is PyPI's empty squat: pip uninstall ttsfrd, "
            f"then pip install --no-index --no-deps -f {MODELSCOPE_INDEX} ttsfrd"
        )
    return pipeline, task, output_key


def _dir_fingerprint(folder: Path) -> str:
    """Hash of a local model folder: config contents plus every other file's path and size.

    Checkpoints are hundreds of MB, so they count by size; ``resource/`` is skipped because
    the model unpacks resource.zip into it on every load.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith("resource/"):
            continue
        digest.update(rel.encode())
        if path.suffix in (".json", ".yaml", ".yml") and path.stat().st_size < 1 << 20:
            digest.update(path.read_bytes())
        else:
            digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()[:12]


def _resolve_model(model: str | os.PathLike | None) -> tuple[str, str]:
    """(model argument for the pipeline, identity for model_version)."""
    if model is None and os.environ.get("SAMBERT_MODEL_DIR"):
        folder = Path(os.environ["SAMBERT_MODEL_DIR"]).expanduser()
        if not folder.is_dir():
            raise _unavailable(f"SAMBERT_MODEL_DIR={folder} is not a directory; {_predownload_hint(MODEL_ID)}")
        return str(folder), f"local-{_dir_fingerprint(folder)}"
    model = os.fspath(model) if model is not None else MODEL_ID
    if Path(model).expanduser().is_dir():
        folder = Path(model).expanduser()
        return str(folder), f"local-{_dir_fingerprint(folder)}"
    return model, model


class SambertEngine(Engine):
    name = "sambert"
    sample_rate = SAMPLE_RATE
    default_voice = "zhitian_emo"

    def __init__(self, pipe: Callable, model_version: str, output_key: str = OUTPUT_WAV):
        self._pipe = pipe
        self._output_key = output_key
        self.model_version = model_version
        # one pipeline object is shared by every request thread; torch modules and ttsfrd's
        # C++ front end are not documented as re-entrant
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | os.PathLike | None = None,
        pipeline_factory: Callable | None = None,
        device: str = "cpu",
        revision: str | None = None,
        **_options,
    ) -> "SambertEngine":
        """``model``: hub id or local dir (default: $SAMBERT_MODEL_DIR, else MODEL_ID).

        ``pipeline_factory`` replaces ``modelscope.pipelines.pipeline`` (tests); it is called
        like it, so the Python/modelscope/ttsfrd checks only apply to the real one.
        """
        target, identity = _resolve_model(model)
        if pipeline_factory is None:
            pipeline_factory, task, output_key = _real_factory()
        else:
            task, output_key = TASK, OUTPUT_WAV
        kwargs = {"model_revision": revision} if revision else {}
        try:
            pipe = pipeline_factory(task=task, model=target, device=device, **kwargs)
        except Exception as exc:  # hub errors, missing checkpoints, bad configs: all "no weights"
            missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
            if missing in ("ttsfrd", "kantts"):
                raise _unavailable(
                    f"building the pipeline needs {missing}: pip install --no-index --no-deps -f {MODELSCOPE_INDEX} "
                    f"{missing} (ModelScope's index, not PyPI's squatted package)"
                ) from exc
            raise _unavailable(
                f"could not build the pipeline for model {target!r} ({type(exc).__name__}: {exc}). "
                f"The weights are missing or the hub is unreachable; {_predownload_hint(target)}"
            ) from exc
        ident = f"{identity}@{revision}" if revision else identity
        return cls(pipe, model_version=f"sambert-{ident}-{MAPPING_VERSION}", output_key=output_key)

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(
                name=name,
                description=f"{label} ({name}): ModelScope Sambert-HiFiGAN multi-emotion voice, 16 kHz",
                sample_rate=SAMPLE_RATE,
                emotions=tuple(EMOTION_CATEGORY),
            )
            for name, label in VOICES.items()
        ]

    def _call(self, text: str, voice: str) -> np.ndarray:
        with self._lock:
            output = self._pipe(input=text, voice=voice)
        try:
            data = output[self._output_key]
        except (KeyError, TypeError) as exc:
            raise RuntimeError(f"Sambert pipeline output has no {self._output_key!r}: {output!r:.200}") from exc
        return decode_wav(data)

    def synthesize(self, clauses: Iterable[Clause], voice: str = "", speed: float = 1.0) -> Iterator[ClauseAudio]:
        voice = self.check_voice(voice)
        if not 0.25 <= speed <= 4.0:
            raise ValueError(f"speed {speed} out of range 0.25–4.0")
        for clause in clauses:
            category, intensity, warnings = emotion_attrs(clause.emotion, clause.intensity)
            pieces, times, offset = [], [], 0.0
            for piece in split_pieces(speakable_text(clause)):
                chars = sum(1 for ch in piece if ch not in PUNCT)
                if not chars:
                    continue  # punctuation alone: nothing to say
                samples = self._call(build_input(piece, category, intensity), voice)
                start, end = audio.find_speech_bounds(samples, SAMPLE_RATE)
                if end <= start:
                    start, end = 0, len(samples)
                step = (end - start) / SAMPLE_RATE / chars
                t0 = offset + start / SAMPLE_RATE
                times += [(t0 + i * step, t0 + (i + 1) * step) for i in range(chars)]
                offset += len(samples) / SAMPLE_RATE
                pieces.append(samples)
            samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
            if speed != 1.0:
                samples = time_stretch(samples, speed)
                times = [(a / speed, b / speed) for a, b in times]
            times = times if len(times) == len(clause.normalized) else None  # equal by construction
            yield ClauseAudio(samples.astype(np.float32), SAMPLE_RATE, char_times=times, warnings=warnings)
