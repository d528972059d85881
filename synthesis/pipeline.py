"""Script in, finished audio files out: the one entry point the rest of the product uses.

    rendering = render("欢迎来到[happy]青铜器展厅[/happy]。", RenderConfig(out_dir="media/audio"))

Identical requests (same spoken content, voice, lexicon, engine model and audio settings) share
one cache key and return the files already on disk without loading or running a model.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from synthesis import audio, prosody
from synthesis.unit_cache import UnitCache, unit_key
from synthesis.clause import Clause, Script
from synthesis.engines import DEFAULT_ENGINE, ClauseAudio, engine_class, get_engine
from synthesis.frontend import PauseConfig, analyse
from synthesis.lexicon import Lexicon

FORMATS = ("mp3", "wav")
CACHE_FORMAT = 1  # bump when the layout of cached files or timings changes
EDGE_MIN_MS = 40.0  # engine audio always kept around speech at a cut, and at the file's two ends


@dataclass(frozen=True)
class RenderConfig:
    out_dir: Path | str = "media/audio"
    engine: str = DEFAULT_ENGINE
    voice: str = ""  # "" = the engine's default voice
    emotion: str = "neutral"  # default for text outside emotion tags
    intensity: float = 1.0
    speed: float = 1.0  # 1.25 = a quarter faster
    sample_rate: int = 24000
    formats: tuple[str, ...] = FORMATS
    mp3_bitrate: str = "64k"
    target_lufs: float = -16.0
    true_peak_dbfs: float = -1.0
    pauses: PauseConfig = field(default_factory=PauseConfig)
    lexicon: Mapping[str, str] | None = None  # caller terms, override the shipped museum lexicon
    # Folder of the sentence-level audio cache (synthesis.unit_cache); None = synthesise every
    # sentence. Not part of the render's cache key: a unit is bit-identical to fresh audio.
    unit_cache_dir: Path | str | None = None

    def validate(self) -> None:
        if not 0.5 <= self.speed <= 2.0:
            raise ValueError(f"speed {self.speed} out of range 0.5–2.0")
        if not 16000 <= self.sample_rate <= 48000:
            raise ValueError(f"sample rate {self.sample_rate} out of range 16000–48000 Hz")
        if not 0.1 <= self.intensity <= 2.0:
            raise ValueError(f"intensity {self.intensity} out of range 0.1–2.0")
        unknown = set(self.formats) - set(FORMATS)
        if unknown or not self.formats:
            raise ValueError(f"formats must be among {FORMATS}, got {self.formats}")


@dataclass(frozen=True)
class Rendering:
    cache_key: str
    paths: dict[str, Path]  # format -> file
    duration: float  # seconds
    sample_rate: int
    transcript: str
    timings: list[dict]  # per clause: transcript span, seconds, per-character seconds
    warnings: list[str]
    engine: str
    model_version: str
    cached: bool  # True when the files already existed and nothing was synthesised
    synthesized_units: int = 0  # sentences the engine said in this call
    reused_units: int = 0  # sentences taken from the unit cache

    @property
    def mp3_path(self) -> Path | None:
        return self.paths.get("mp3")

    @property
    def wav_path(self) -> Path | None:
        return self.paths.get("wav")


def lexicon_for(config: RenderConfig) -> Lexicon:
    return Lexicon(dict(config.lexicon)) if config.lexicon else Lexicon.default()


def prepare(script: str, config: RenderConfig, model_version: str | None = None) -> tuple[Script, str]:
    """Front end + cache key; raises ScriptError for bad markup. Synthesises nothing, but the
    key includes the model version, so the engine is loaded once per process unless the
    caller knows the version (a web process told it by the worker that has the voice)."""
    parsed = check(script, config)
    engine = engine_class(config.engine)
    version = model_version or model_version_of(config.engine)
    return parsed, cache_key(parsed, config, lexicon_for(config).version, engine.name, version)


def check(script: str, config: RenderConfig) -> Script:
    """The front end alone (ScriptError / ValueError for bad input): never loads an engine, so a
    web process can validate a request that a worker will render."""
    config.validate()
    return analyse(script, lexicon=lexicon_for(config), emotion=config.emotion, intensity=config.intensity,
                   pauses=config.pauses)


_model_versions: dict[str, str] = {}


def model_version_of(engine_name: str) -> str:
    """The loaded engine's model version (loading it once if needed)."""
    if engine_name not in _model_versions:
        _model_versions[engine_name] = get_engine(engine_name).model_version
    return _model_versions[engine_name]


def cache_key(parsed: Script, config: RenderConfig, lexicon_version: str, engine: str, model_version: str) -> str:
    spoken = [(c.normalized, c.spoken, c.emotion, c.intensity, c.pause_ms, c.text) for c in parsed.clauses]
    material = {
        "v": CACHE_FORMAT,
        "spoken": spoken,
        "lead": parsed.lead_pause_ms,
        "transcript": parsed.transcript,
        "voice": config.voice,
        "speed": config.speed,
        "lexicon": lexicon_version,
        "engine": [engine, model_version],
        "audio": [config.sample_rate, sorted(config.formats), config.mp3_bitrate, config.target_lufs, config.true_peak_dbfs],
    }
    blob = json.dumps(material, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _paths(config: RenderConfig, key: str) -> tuple[dict[str, Path], Path]:
    folder = Path(config.out_dir) / key[:2]
    return {fmt: folder / f"{key}.{fmt}" for fmt in config.formats}, folder / f"{key}.json"


def cached_rendering(config: RenderConfig, key: str) -> Rendering | None:
    """The finished files for this key, or None (the metadata file is written last)."""
    paths, meta_path = _paths(config, key)
    # The metadata file is written last, so its presence means every audio file is complete.
    if not meta_path.exists() or not all(p.exists() for p in paths.values()):
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return Rendering(paths=paths, cached=True, **meta)


def render(script: str, config: RenderConfig | None = None) -> Rendering:
    config = config or RenderConfig()
    parsed, key = prepare(script, config)
    return render_prepared(parsed, key, config)


def render_prepared(parsed: Script, key: str, config: RenderConfig) -> Rendering:
    """``render`` for a caller that already ran ``prepare`` (a render job needs the key before
    it renders), so the front end does not run a second time."""
    return cached_rendering(config, key) or _synthesize(parsed, key, config)


@dataclass
class UnitCounts:
    synthesized: int = 0
    reused: int = 0


def clause_audio(parsed: Script, config: RenderConfig, counts: UnitCounts | None = None) -> Iterator[tuple[Clause, ClauseAudio]]:
    """Per clause, in order: the engine's audio, sentence by sentence (see prosody.sentences),
    taken from the unit cache where it holds the sentence; only missing sentences reach the
    engine (still in one stream, so its look-ahead keeps working)."""
    counts = counts if counts is not None else UnitCounts()
    engine = get_engine(config.engine)
    voice = engine.check_voice(config.voice)
    sentences = prosody.sentences(parsed.clauses, config.pauses.comma)
    if config.unit_cache_dir is None:
        counts.synthesized += len(sentences)
        yield from zip(parsed.clauses, engine.synthesize_sentences(sentences, voice, config.speed))
        return
    store = UnitCache(config.unit_cache_dir)
    keys = [unit_key(s, voice=voice, speed=config.speed, engine=engine.name, model_version=engine.model_version)
            for s in sentences]
    with store.pinned(keys):
        found = {key: store.get(key) for key in dict.fromkeys(keys)}
        missing = {key: sentence for key, sentence in zip(keys, sentences) if found[key] is None}
        fresh = engine.synthesize_sentences(list(missing.values()), voice, config.speed)
        for key, sentence in zip(keys, sentences):
            if found[key] is None:
                found[key] = [next(fresh) for _ in sentence]
                store.put(key, found[key])
                counts.synthesized += 1
            else:
                counts.reused += 1
            yield from zip(sentence, found[key])


def speech_bounds(out: ClauseAudio) -> tuple[int, int]:
    """Samples [start, end) from the first character's start to the last one's end (the
    engine's own timings, so pauses measured between characters are exact); the voice
    activity detector's bounds for an engine that gives no timings."""
    rate = out.sample_rate
    if out.char_times:
        return round(out.char_times[0][0] * rate), round(out.char_times[-1][1] * rate)
    return audio.find_speech_bounds(out.samples, rate, keep_ms=0)


def _edge(pause_ms: float) -> float:
    """How much of the engine's own audio to keep on one side of a pause (ms): half of it,
    at least EDGE_MIN_MS so a breath or a decaying vowel is not clipped."""
    return max(pause_ms / 2, EDGE_MIN_MS)


def _synthesize(parsed: Script, key: str, config: RenderConfig) -> Rendering:
    """Clauses joined with their pauses. Inside a sentence the engine's audio is used as is
    (the model made its own comma pauses); at a pause the pipeline inserts, each side keeps
    up to half the pause of the engine's own quiet audio around the speech, faded where it is
    cut, and silence fills the rest, so the pause from last to first character is exact. The
    file starts and ends EDGE_MIN_MS from the speech."""
    engine = get_engine(config.engine)
    rate = engine.sample_rate
    pieces: list[np.ndarray] = []
    cursor, pause_ms, kept_tail = 0.0, float(parsed.lead_pause_ms), 0
    joined = False  # whether the previous clause's audio runs straight on into this one's
    timings, warnings = [], list(parsed.warnings)
    counts = UnitCounts()
    for clause, out in clause_audio(parsed, config, counts):
        warnings += out.warnings
        samples = out.samples
        start, end = speech_bounds(out)
        head = 0 if joined else max(0, start - round(_edge(pause_ms) * rate / 1000))
        tail = len(samples) if out.joined else min(len(samples), end + round(_edge(clause.pause_ms) * rate / 1000))
        if not joined:
            gap = audio.silence(max(0.0, pause_ms - (kept_tail + start - head) * 1000 / rate), rate)
            pieces.append(gap)
            cursor += len(gap) / rate
        kept = audio.fade(samples[head:tail], rate, head=not joined, tail=not out.joined)
        shift = head / rate
        length = len(kept) / rate
        timings.append(
            {
                "text": clause.text,
                "start": clause.start,
                "end": clause.end,
                "t0": round(cursor, 3),
                "t1": round(cursor + length, 3),
                "chars": [[round(cursor + min(max(a - shift, 0.0), length), 3), round(cursor + min(max(b - shift, 0.0), length), 3)]
                          for a, b in (out.char_times or [])],
            }
        )
        pieces.append(kept)
        cursor += length
        joined, pause_ms, kept_tail = out.joined, float(clause.pause_ms), max(0, tail - end)
    excess = kept_tail - round(EDGE_MIN_MS * rate / 1000)
    if timings and excess > 0:  # the last clause kept audio for a pause that never comes
        pieces[-1] = audio.fade(pieces[-1][:-excess], rate, head=False)
        last = timings[-1]
        last["t1"] = round(last["t1"] - excess / rate, 3)
        last["chars"] = [[min(a, last["t1"]), min(b, last["t1"])] for a, b in last["chars"]]
    samples = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
    del pieces  # a long narration's audio is tens of MB per copy: keep one at a time
    samples = audio.resample(samples, rate, config.sample_rate)  # the same array at the same rate
    samples = audio.normalize_loudness(samples, config.sample_rate, config.target_lufs, config.true_peak_dbfs,
                                       in_place=True)
    paths, meta_path = _paths(config, key)
    writers = {"wav": audio.write_wav, "mp3": lambda p, s, r: audio.write_mp3(p, s, r, bitrate=config.mp3_bitrate)}
    for fmt, path in paths.items():
        writers[fmt](path, samples, config.sample_rate)
    meta = {
        "cache_key": key,
        "duration": round(len(samples) / config.sample_rate, 3),
        "sample_rate": config.sample_rate,
        "transcript": parsed.transcript,
        "timings": timings,
        "warnings": warnings,
        "engine": engine.name,
        "model_version": engine.model_version,
    }
    _write_json_atomic(meta_path, meta)
    return Rendering(paths=paths, cached=False, synthesized_units=counts.synthesized, reused_units=counts.reused, **meta)


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def describe(config: RenderConfig) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
