"""Optional voice: ModelScope's Sambert-HiFiGAN (``damo/speech_sambert-hifigan_tts_zh-cn_16k``).

We build ModelScope's text-to-speech pipeline as documented, then use its model object the
way ``SambertHifigan.forward`` (modelscope/models/audio/tts/sambert_hifi.py, 1.9.x) does,
with one step added in between:

    symbols = model.frontend.gen_tacotron_symbols(sentence)   # ttsfrd: "index\\tsymbols" lines
    symbols = <emotion field of every symbol set per emotion span>   # sambert_text.rewrite_emotions
    audio = model.voices[voice].forward(line)                  # Voice.forward: float samples

Nothing in ModelScope's Python reads SSML, and the acoustic model takes emotion only from
the symbols' ``emo_category`` field (``Voice.am_forward`` feeds it to the model as
``inputs_emo``). The model has no intensity input: intensity ≠ 1 is reported as a warning.

* Text: our normalisation (digits, dates, units read as the transcript promises) with the
  clauses' punctuation, one sentence per front-end call (``sambert_text.sentences``), so
  commas get phrase intonation, not sentence-final intonation. No length cut: the real
  pipeline has none either.
* Clause audio: a sentence is synthesised once, then cut back into its clauses at the quiet
  10 ms frame nearest each clause boundary (estimated by counting syllables and #3 phrase
  breaks), so the render pipeline can put its own pauses in and report clause timings.
  ``char_times`` are an estimate (characters share their clause's voiced span equally).
* Speed: the model has no rate control; speed ≠ 1 is a WSOLA time-stretch (pitch kept).
* Device: ModelScope's ``Voice`` uses CUDA whenever ``torch.cuda.is_available()``; the
  pipeline's ``device`` argument does not change that. Hide GPUs with
  ``CUDA_VISIBLE_DEVICES=`` to force the CPU.
* The model folder must be writable: ``SambertHifigan.__init__`` unpacks resource.zip into it.

Runs only where ModelScope's stack runs (Python 3.8–3.10 with modelscope, torch, kantts and
ttsfrd from ModelScope's own index); ``load`` says exactly what is missing. This module
itself stays importable on Python 3.8+.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from synthesis import audio
from synthesis.clause import Clause
from synthesis.engines.base import ClauseAudio, Engine, EngineUnavailable, VoiceInfo
from synthesis.engines.sambert_errors import MODELSCOPE_INDEX, explain_load_error, install_hint, predownload_hint, unavailable
from synthesis.engines.sambert_text import (
    DEFAULT_LFEAT_TYPES,
    EMOTION_TYPE,
    rewrite_emotions,
    sentences,
    sentence_text,
    syllable_midpoints,
    symbol_lines,
)

MODEL_ID = "damo/speech_sambert-hifigan_tts_zh-cn_16k"
SAMPLE_RATE = 16000
TASK = "text-to-speech"  # == modelscope.utils.constant.Tasks.text_to_speech
MAPPING_VERSION = "s1"  # bump when the clause -> model input mapping changes (cache keys)
CUT_SEARCH_S = 0.15  # how far from the estimated clause boundary a cut may move
CUT_FRAME_S = 0.01

VOICE_LABELS = {"zhitian_emo": "知甜", "zhiyan_emo": "知燕", "zhizhe_emo": "知哲", "zhibei_emo": "知贝"}


def _python_version() -> Tuple[int, int]:
    return sys.version_info[:2]  # a function so tests can pretend to be 3.10


# --- audio ---------------------------------------------------------------------------------------
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


def quietest_cut(samples: np.ndarray, estimate: int, lo: int, rate: int = SAMPLE_RATE) -> int:
    """A cut near ``estimate`` (not before ``lo``): the middle of the nearest quiet frame.

    Quiet: within 1.5x the quietest frame's energy in reach, and clearly (2x) quieter than
    the frame at the estimate; when nothing is, the estimate itself.
    """
    frame = int(CUT_FRAME_S * rate)
    reach = int(CUT_SEARCH_S * rate)
    estimate = min(max(estimate, lo), len(samples))
    start = max(lo, estimate - reach)
    stop = min(len(samples), estimate + reach)
    if stop - start < frame:
        return estimate
    starts = np.arange(start, stop - frame + 1, frame // 2)
    energy = np.array([float(np.sum(samples[s : s + frame] ** 2)) for s in starts])
    here = float(np.sum(samples[max(0, estimate - frame // 2) : estimate + frame // 2] ** 2))
    if energy.min() > 0.5 * here:
        return estimate
    quiet = starts[energy <= 1.5 * energy.min() + 1e-12] + frame // 2
    return int(quiet[np.argmin(np.abs(quiet - estimate))])


def split_sentence(parts: List[Tuple[np.ndarray, List[float]]], per_clause: List[int]) -> List[np.ndarray]:
    """Cut the audio of one sentence into clause pieces.

    ``parts``: (samples, syllable_midpoints) per front-end line; ``per_clause``: syllables
    per clause. A boundary after syllable b is first placed at its midpoint inside the voiced
    span of the line holding it, then moved to the quietest frame nearby.
    """
    whole = np.concatenate([p for p, _ in parts]) if parts else np.zeros(0, np.float32)
    cuts, lo, done = [], 0, 0
    for count in per_clause[:-1]:
        done += count
        offset, before, estimate = 0, 0, len(whole)
        for samples, midpoints in parts:
            local = done - before
            if local <= len(midpoints):  # the boundary lies in this line (0: at its start)
                a, b = audio.find_speech_bounds(samples, SAMPLE_RATE)
                estimate = offset + (a + round((b - a) * midpoints[local - 1]) if local else 0)
                break
            offset, before = offset + len(samples), before + len(midpoints)
        lo = quietest_cut(whole, estimate, lo)
        cuts.append(lo)
    edges = [0] + cuts + [len(whole)]
    return [whole[a:b] for a, b in zip(edges, edges[1:])]


def spread_chars(samples: np.ndarray, count: int) -> Optional[List[Tuple[float, float]]]:
    """Estimated (start, end) per character: the voiced span shared equally."""
    if count == 0:
        return []
    start, end = audio.find_speech_bounds(samples, SAMPLE_RATE)
    if end <= start:
        return None
    step = (end - start) / SAMPLE_RATE / count
    t0 = start / SAMPLE_RATE
    return [(t0 + i * step, t0 + (i + 1) * step) for i in range(count)]


# --- loading -------------------------------------------------------------------------------------
def _real_factory() -> Callable:
    """ModelScope's pipeline(), after the checks whose failure would otherwise be tracebacks."""
    major, minor = _python_version()
    if (major, minor) > (3, 10) or (major, minor) < (3, 8):
        raise unavailable(
            f"Sambert needs Python 3.8–3.10; this is {major}.{minor}. ModelScope's ttsfrd front end ships "
            f"wheels only for those: run this engine in its own worker (requirements-sambert.txt, Dockerfile.sambert)"
        )
    try:
        pipeline = importlib.import_module("modelscope.pipelines").pipeline
    except (ImportError, AttributeError) as exc:
        raise unavailable(f"modelscope is not importable ({exc}). {install_hint()}") from exc
    for name, marker in (("ttsfrd", "TtsFrontendEngine"), ("kantts", None)):
        if importlib.util.find_spec(name) is None:
            raise unavailable(f"{name} is not installed. {install_hint(name)}")
        module = importlib.import_module(name)
        real = hasattr(module, marker) if marker else importlib.util.find_spec("kantts.utils.ling_unit") is not None
        if not real:
            raise unavailable(
                f"the installed {name} is PyPI's empty package of that name, not ModelScope's: "
                f"pip uninstall -y {name}, then {install_hint(name)}"
            )
    return pipeline


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


def _resolve_model(model) -> Tuple[str, str]:
    """(model argument for the pipeline, identity for model_version)."""
    if model is None and os.environ.get("SAMBERT_MODEL_DIR"):
        folder = Path(os.environ["SAMBERT_MODEL_DIR"]).expanduser()
        if not folder.is_dir():
            raise unavailable(f"SAMBERT_MODEL_DIR={folder} is not a directory; {predownload_hint()}")
        return str(folder), f"local-{_dir_fingerprint(folder)}"
    model = os.fspath(model) if model is not None else MODEL_ID
    if Path(model).expanduser().is_dir():
        folder = Path(model).expanduser()
        return str(folder), f"local-{_dir_fingerprint(folder)}"
    return model, model


def _voice_emotions(voice) -> Tuple[dict, int, int]:
    """(our emotion -> emotion type the voice can encode, emotion field, syllable-flag field).

    Mirrors Voice.__init__ / KanTtsLinguisticUnit: the field order is the voice's
    am_config['linguistic_unit']['lfeat_type_list']; the emotion vocabulary is the ling
    unit's ``emo_category`` (KAN-TTS emotion_types), present only when that list has
    ``emo_category``.
    """
    unit_config = (getattr(voice, "am_config", None) or {}).get("linguistic_unit", {})
    types = [t.strip() for t in unit_config.get("lfeat_type_list", ",".join(DEFAULT_LFEAT_TYPES)).split(",")]
    flag_field = types.index("syllable_flag") if "syllable_flag" in types else 2
    if "emo_category" not in types:
        return {}, -1, flag_field
    known = set(getattr(getattr(voice, "ling_unit", None), "emo_category", ()) or ())
    supported = {ours: name for ours, name in EMOTION_TYPE.items() if name in known}
    return supported, types.index("emo_category"), flag_field


class SambertEngine(Engine):
    name = "sambert"
    sample_rate = SAMPLE_RATE
    default_voice = "zhitian_emo"

    def __init__(self, model, model_version: str):
        missing = [a for a in ("frontend", "voices", "default_voice_name") if not hasattr(model, a)]
        if missing:
            raise unavailable(
                f"this ModelScope's SambertHifigan has no public {', '.join(missing)} (older releases keep them "
                f"private); install the modelscope version pinned in requirements-sambert.txt"
            )
        rate = int(getattr(model, "sample_rate", SAMPLE_RATE))
        if rate != SAMPLE_RATE:
            raise unavailable(f"the model runs at {rate} Hz, expected {SAMPLE_RATE} Hz: is this {MODEL_ID}?")
        self.model = model
        self.model_version = model_version
        self.default_voice = model.default_voice_name
        self._emotions = {name: _voice_emotions(voice) for name, voice in model.voices.items()}
        # one model is shared by every request thread: ttsfrd's C++ front end is not documented
        # as re-entrant (Voice.forward has its own lock, the front end has none)
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model=None,
        pipeline_factory: Optional[Callable] = None,
        device: str = "cpu",
        revision: Optional[str] = None,
        **_options,
    ) -> "SambertEngine":
        """``model``: hub id or local dir (default: $SAMBERT_MODEL_DIR, else MODEL_ID).

        ``pipeline_factory`` replaces ``modelscope.pipelines.pipeline`` (tests); it is called
        like it, so the Python/modelscope/ttsfrd/kantts checks only apply to the real one.
        ``device`` is passed to the pipeline, but the voices use CUDA whenever torch sees it.
        """
        target, identity = _resolve_model(model)
        factory = pipeline_factory or _real_factory()
        kwargs = {"model_revision": revision} if revision else {}
        try:
            pipe = factory(task=TASK, model=target, device=device, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and re-raised
            raise unavailable(explain_load_error(exc, target)) from exc
        ident = f"{identity}@{revision}" if revision else identity
        return cls(pipe.model, model_version=f"sambert-{ident}-{MAPPING_VERSION}")

    def voices(self) -> List[VoiceInfo]:
        return [
            VoiceInfo(
                name=name,
                description=(
                    f"{VOICE_LABELS.get(name, name)} ({name}): ModelScope Sambert-HiFiGAN, 16 kHz. "
                    f"No emotion intensity: the model only knows the emotion, intensity is ignored with a warning"
                ),
                sample_rate=SAMPLE_RATE,
                emotions=tuple(self._emotions[name][0]),
            )
            for name in self.model.voices
        ]

    def _sentence_audio(self, text: str, spans, voice: str) -> Tuple[List[Tuple[np.ndarray, List[float]]], List[int]]:
        """(samples, syllable midpoints) per front-end line of one sentence, and syllables per clause."""
        _, emo_field, flag_field = self._emotions[voice]
        with self._lock:
            try:
                lines = symbol_lines(self.model.frontend.gen_tacotron_symbols(text))
                lines, per_clause = rewrite_emotions(lines, spans, emo_field if emo_field >= 0 else None, flag_field)
            except Exception as exc:  # noqa: BLE001 - a ttsfrd failure must name the text
                raise RuntimeError(f"Sambert front end (ttsfrd) failed on {text!r}: {type(exc).__name__}: {exc}") from exc
            parts = []
            for line in lines:
                try:
                    samples = self.model.voices[voice].forward(line)
                except Exception as exc:  # noqa: BLE001 - KeyError from the ling unit says little
                    raise RuntimeError(
                        f"Sambert voice {voice} could not synthesise {text!r} ({type(exc).__name__}: {exc})"
                    ) from exc
                samples = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
                parts.append((samples, syllable_midpoints(line, flag_field)))
        return parts, per_clause

    def synthesize(self, clauses: Iterable[Clause], voice: str = "", speed: float = 1.0) -> Iterator[ClauseAudio]:
        voice = self.check_voice(voice)
        if not 0.25 <= speed <= 4.0:
            raise ValueError(f"speed {speed} out of range 0.25–4.0")
        supported = self._emotions[voice][0]
        clauses = list(clauses)
        for group in sentences(clauses):
            members = [clauses[i] for i in group]
            warnings: List[List[str]] = [[] for _ in members]
            spans = []
            for clause, notes in zip(members, warnings):
                if clause.intensity != 1.0:
                    notes.append(
                        f"Sambert 没有情感强度，已忽略强度 {clause.intensity:g} "
                        f"(this engine has no emotion intensity; {clause.intensity:g} ignored)"
                    )
                kind = supported.get(clause.emotion)
                if kind is None:
                    if clause.emotion != "neutral":
                        notes.append(f"声音 {voice} 不支持情感 {clause.emotion}，已按中性朗读 (emotion not supported; neutral used)")
                    kind = EMOTION_TYPE["neutral"]
                spans.append((len(clause.normalized), kind))
            text = "".join(sentence_text(c) for c in members)
            parts, per_clause = self._sentence_audio(text, spans, voice)
            for clause, piece, notes in zip(members, split_sentence(parts, per_clause), warnings):
                times = spread_chars(piece, len(clause.normalized))
                if speed != 1.0:
                    piece = time_stretch(piece, speed)
                    times = [(a / speed, b / speed) for a, b in times] if times else times
                yield ClauseAudio(piece.astype(np.float32), SAMPLE_RATE, char_times=times, warnings=notes)


__all__ = ["MODEL_ID", "MODELSCOPE_INDEX", "SambertEngine", "EngineUnavailable"]
