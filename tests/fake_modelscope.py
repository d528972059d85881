"""A stand-in for ModelScope's Sambert text-to-speech pipeline, faithful to its call contract.

The real pipeline (modelscope.pipelines.audio.text_to_speech_pipeline) is called as
``pipe(input=text, voice=name)``, forwards to ``SambertHifigan.forward(text, voice)``, raises
TtsVoiceNotExistsException for an unknown voice and returns ``{OutputKeys.OUTPUT_WAV: bytes}``
where the bytes are a 16-bit mono WAV file at 16 kHz. This fake keeps all of that, and is
stricter where our engine promises something: SSML must be well-formed with the structure we
send, and at most 30 characters of text may arrive per call.

Audio: a tone (pitch per voice) of TONE_S per spoken character, with SILENCE_S of silence on
both sides, like the real model's leading/trailing silence.
"""
from __future__ import annotations

import io
import threading
import time
import types
import xml.etree.ElementTree as ET

import numpy as np
import soundfile

OUTPUT_WAV = "output_wav"  # the value of modelscope.outputs.OutputKeys.OUTPUT_WAV
TASK = "text-to-speech"  # the value of modelscope.utils.constant.Tasks.text_to_speech
VOICES = ("zhitian_emo", "zhiyan_emo", "zhizhe_emo", "zhibei_emo")
CATEGORIES = {"neutral", "happy", "sad", "angry", "fear", "surprise", "disgust"}
VOICE_HZ = {"zhitian_emo": 220.0, "zhiyan_emo": 262.0, "zhizhe_emo": 330.0, "zhibei_emo": 392.0}
TONE_S = 0.1
SILENCE_S = 0.05
MAX_CHARS = 30
PUNCT = set("，。！？；：、…")


class TtsVoiceNotExistsException(Exception):
    """Same name as modelscope.utils.audio.tts_exceptions' exception for an unknown voice."""


def parse_input(text: str) -> tuple[str, str | None, float | None]:
    """(spoken text, emotion category or None, intensity or None); raises on bad SSML."""
    if not text.lstrip().startswith("<"):
        return text, None, None
    root = ET.fromstring(text)  # ParseError when not well-formed (e.g. an unescaped &)
    if root.tag != "speak":
        raise ValueError(f"SSML root must be <speak>, got <{root.tag}>")
    children = list(root)
    stray_text = (root.text or "").strip() or (children and (children[0].tail or "").strip())
    if len(children) != 1 or children[0].tag != "emotion" or stray_text:
        raise ValueError("expected exactly <speak><emotion ...>text</emotion></speak>")
    emotion = children[0]
    if list(emotion):
        raise ValueError("<emotion> must contain text only")
    if set(emotion.attrib) != {"category", "intensity"}:
        raise ValueError(f"<emotion> attributes must be category and intensity, got {sorted(emotion.attrib)}")
    category = emotion.attrib["category"]
    if category not in CATEGORIES:
        raise ValueError(f"unknown emotion category {category!r}")
    intensity = float(emotion.attrib["intensity"])
    if not 0.01 <= intensity <= 2.0:
        raise ValueError(f"intensity {intensity} outside 0.01–2.0")
    return emotion.text or "", category, intensity


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class FakeSambertPipeline:
    def __init__(self, model: str = "", sample_rate: int = 16000, delay: float = 0.0):
        self.model = model
        self.sample_rate = sample_rate
        self.delay = delay  # seconds per call, to widen race windows in the threading test
        self.calls: list[dict] = []
        self.overlaps = 0
        self._busy = False
        self._guard = threading.Lock()

    def __call__(self, input: str, *args, voice: str | None = None, **kwargs):
        with self._guard:
            if self._busy:
                self.overlaps += 1
            self._busy = True
        try:
            voice = voice or VOICES[0]  # the real model falls back to the first voice in voices.json
            if voice not in VOICES:
                raise TtsVoiceNotExistsException(f"modelscope error: Voice {voice} not exists")
            spoken, category, intensity = parse_input(input)
            if len(spoken) > MAX_CHARS:
                raise ValueError(f"input of {len(spoken)} characters; at most {MAX_CHARS} per call")
            self.calls.append(
                {"input": input, "voice": voice, "text": spoken, "category": category, "intensity": intensity}
            )
            if self.delay:
                time.sleep(self.delay)
            chars = sum(1 for ch in spoken if ch not in PUNCT and not ch.isspace())
            rate = self.sample_rate
            t = np.arange(int(chars * TONE_S * rate)) / rate
            tone = 0.5 * np.sin(2 * np.pi * VOICE_HZ[voice] * t)
            gap = np.zeros(int(SILENCE_S * rate))
            return {OUTPUT_WAV: wav_bytes(np.concatenate([gap, tone, gap]), rate)}
        finally:
            with self._guard:
                self._busy = False


class Factory:
    """Called like modelscope.pipelines.pipeline(task=..., model=..., device=...)."""

    def __init__(self, **pipeline_options):
        self.options = pipeline_options
        self.created: list[dict] = []
        self.pipe: FakeSambertPipeline | None = None

    def __call__(self, task: str, model: str, device: str = "gpu", **kwargs) -> FakeSambertPipeline:
        if task != TASK:
            raise ValueError(f"unexpected task {task!r}")
        self.created.append({"task": task, "model": model, "device": device, **kwargs})
        self.pipe = FakeSambertPipeline(model, **self.options)
        return self.pipe


def failing_factory(task: str, model: str, **kwargs):
    # what a missing checkpoint looks like from modelscope (TtsModelNotExistsException)
    raise FileNotFoundError("modelscope error: am model file not found")


def fake_modelscope_modules(pipeline) -> dict[str, types.ModuleType]:
    """sys.modules entries that make ``import modelscope...`` yield ``pipeline`` and the constants."""
    root = types.ModuleType("modelscope")
    pipelines = types.ModuleType("modelscope.pipelines")
    pipelines.pipeline = pipeline
    utils = types.ModuleType("modelscope.utils")
    constant = types.ModuleType("modelscope.utils.constant")
    constant.Tasks = types.SimpleNamespace(text_to_speech=TASK)
    outputs = types.ModuleType("modelscope.outputs")
    outputs.OutputKeys = types.SimpleNamespace(OUTPUT_WAV=OUTPUT_WAV)
    root.pipelines, root.utils, root.outputs, utils.constant = pipelines, utils, outputs, constant
    return {
        "modelscope": root,
        "modelscope.pipelines": pipelines,
        "modelscope.utils": utils,
        "modelscope.utils.constant": constant,
        "modelscope.outputs": outputs,
    }


def fake_ttsfrd(real: bool = True) -> types.ModuleType:
    """ModelScope's ttsfrd exposes TtsFrontendEngine; PyPI's squatted one is empty."""
    module = types.ModuleType("ttsfrd")
    if real:
        module.TtsFrontendEngine = object
    return module
