"""A stand-in for ModelScope's Sambert-HiFiGAN that keeps the real contract, as read from source.

What it mirrors (ModelScope 1.9.x, KAN-TTS):
* ``FakePipeline`` — TextToSpeechSambertHifiganPipeline (pipelines/audio/text_to_speech_pipeline.py):
  ``pipe.model`` is the model; ``pipe(input=text, voice=name)`` returns
  ``{OutputKeys.OUTPUT_WAV: model.forward(text, voice)}``.
* ``FakeSambertHifigan`` — SambertHifigan (models/audio/tts/sambert_hifi.py): public
  ``frontend``, ``voices`` (name -> Voice, in voices.json order), ``default_voice_name``,
  ``sample_rate``; ``forward`` splits the front-end result into lines, checks the voice only
  when a sentence is synthesised (``synthesis_one_sentences``), scales by 32768 to int16 and
  returns WAV bytes; no sentence -> an empty WAV.
* ``FakeFrontend`` — ttsfrd.TtsFrontendEngine.gen_tacotron_symbols: one ``index\\tsymbols``
  line per sentence (split at 。！？…), symbols ``{phone$tone$syllable_flag$word_segment$
  emotion_neutral$F7}`` for phones and ``emotion_none`` on prosody marks #1–#4.
* ``FakeVoice`` — Voice (models/audio/tts/voice.py): ``am_config`` (the YAML dict),
  ``ling_unit`` (KanTtsLinguisticUnit: ``emo_category`` = emotion_types + pad/eos/mask,
  ``encode_symbol_sequence`` raising KeyError on names outside its vocabularies), and
  ``forward(symbols)`` returning float samples in [-1, 1] at 16 kHz.

Audio: per syllable SYLLABLE_S of a tone at the voice's pitch times the emotion's ratio
(so decoded audio tells which emotion each syllable got), faded in and out over RAMP_S like
the energy dip between real syllables; SILENCE_S of silence at each end and at every #3/#4
mark (ttsfrd's phrase and sentence breaks).
"""
from __future__ import annotations

import io
import threading
import time
import types
import wave

import numpy as np
from pypinyin import Style, pinyin

OUTPUT_WAV = "output_wav"  # modelscope.outputs.OutputKeys.OUTPUT_WAV
TASK = "text-to-speech"  # modelscope.utils.constant.Tasks.text_to_speech
SAMPLE_RATE = 16000
VOICES = ("zhitian_emo", "zhiyan_emo", "zhizhe_emo", "zhibei_emo")
VOICE_HZ = {"zhitian_emo": 220.0, "zhiyan_emo": 262.0, "zhizhe_emo": 330.0, "zhibei_emo": 392.0}
# kantts/utils/ling_unit/emotion_types.py (first entries; the rest are KAN-TTS's extra styles)
EMOTION_TYPES = (
    "emotion_none", "emotion_neutral", "emotion_angry", "emotion_disgust", "emotion_fear", "emotion_happy",
    "emotion_sad", "emotion_surprise", "emotion_calm", "emotion_gentle", "emotion_relax", "emotion_lyrical",
    "emotion_serious", "emotion_disgruntled", "emotion_satisfied", "emotion_disappointed", "emotion_excited",
)
EMOTION_RATIO = {
    "emotion_neutral": 1.0, "emotion_happy": 1.25, "emotion_sad": 0.8, "emotion_angry": 1.5,
    "emotion_fear": 1.125, "emotion_surprise": 1.375, "emotion_disgust": 0.875,
}
SPEAKERS = "F7,F74,FBYN,FRXL,M7,xiaoyu"  # linguistic_unit.speaker_list of the zh-cn voices
LFEAT_TYPES = "sy,tone,syllable_flag,word_segment,emo_category,speaker_category"
SYLLABLE_S = 0.1
SILENCE_S = 0.05
RAMP_S = 0.005
SENTENCE_END = "。！？…"
PHRASE_BREAK = "，、：；"
SYLLABLE_FLAGS = ("s_begin", "s_end", "s_none", "s_both", "s_middle")  # ch_symbols.ch_syllable_flags
WORD_SEGMENTS = ("word_begin", "word_end", "word_middle", "word_both", "word_none")
TONES = ("tone1", "tone_none", "tone4", "tone2", "tone3", "tone5", "tone0")


class TtsException(Exception):
    """modelscope.utils.audio.tts_exceptions hierarchy, same class names."""


class TtsModelConfigurationException(TtsException):
    pass


class TtsModelNotExistsException(TtsException):
    pass


class TtsVoiceNotExistsException(TtsException):
    pass


class TtsFrontendException(TtsException):
    pass


class TtsFrontendInitializeFailedException(TtsFrontendException):
    pass


def am_config() -> dict:
    """The part of a voice's am/config.yaml that Voice and KanTtsLinguisticUnit read."""
    return {"linguistic_unit": {"cleaners": "english_cleaners", "lfeat_type_list": LFEAT_TYPES, "speaker_list": SPEAKERS}}


class FakeLingUnit:
    """KanTtsLinguisticUnit's vocabularies and encode_symbol_sequence (KeyError on unknown names)."""

    def __init__(self, config: dict, emotion_types=EMOTION_TYPES):
        unit = config["linguistic_unit"]
        self._lfeat_type_list = unit["lfeat_type_list"].strip().split(",")
        pads = ["_", "~", "@[MASK]"]
        vocab = {"tone": list(TONES), "syllable_flag": list(SYLLABLE_FLAGS), "word_segment": list(WORD_SEGMENTS)}
        if "emo_category" in self._lfeat_type_list:
            self.emo_category = list(emotion_types) + pads
            vocab["emo_category"] = self.emo_category
        if "speaker_category" in self._lfeat_type_list:
            vocab["speaker_category"] = unit["speaker_list"].strip().split(",") + pads
        self._vocab = {kind: {name: i for i, name in enumerate(names)} for kind, names in vocab.items()}

    def encode_symbol_sequence(self, lfeat_symbol: str) -> list:
        columns = [[] for _ in self._lfeat_type_list]
        for symbol in lfeat_symbol.strip().split(" "):
            fields = symbol.strip("{").strip("}").split("$")
            for index in range(len(columns)):
                columns[index].append(fields[index])
        return [
            np.asarray([self._vocab[kind][v] for v in column] if kind in self._vocab else [0] * len(column), np.int32)
            for kind, column in zip(self._lfeat_type_list, columns)
        ]


class FakeVoice:
    def __init__(self, name: str, delay: float = 0.0, emotion_types=EMOTION_TYPES):
        self.voice_name = name
        self.am_config = am_config()
        self.ling_unit = FakeLingUnit(self.am_config, emotion_types)
        self.delay = delay
        self.calls: list[str] = []
        self.overlaps = 0
        self._busy = False
        self._guard = threading.Lock()

    def forward(self, symbol_seq: str) -> np.ndarray:
        with self._guard:
            self.overlaps += self._busy
            self._busy = True
        try:
            self.ling_unit.encode_symbol_sequence(symbol_seq)  # the real one fails here on bad names
            self.calls.append(symbol_seq)
            if self.delay:
                time.sleep(self.delay)
            types_ = self.ling_unit._lfeat_type_list
            emo = types_.index("emo_category") if "emo_category" in types_ else None
            gap = np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32)
            t = np.arange(int(SYLLABLE_S * SAMPLE_RATE)) / SAMPLE_RATE
            ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / RAMP_S)  # syllables dip at their edges
            pieces = [gap]
            for symbol in symbol_seq.split():
                fields = symbol[1:-1].split("$")
                if fields[2] in ("s_begin", "s_both"):
                    ratio = EMOTION_RATIO[fields[emo]] if emo is not None else 1.0
                    tone = 0.5 * ramp * np.sin(2 * np.pi * VOICE_HZ[self.voice_name] * ratio * t)
                    pieces.append(tone.astype(np.float32))
                elif fields[0] in ("#3", "#4"):
                    pieces.append(gap)
            pieces.append(gap)
            return np.concatenate(pieces)
        finally:
            with self._guard:
                self._busy = False


def _phones(syllable: str) -> tuple[str, str, str]:
    """(initial phone, final phone, tone) in KAN-TTS's ch_symbols spelling, e.g. 'b_c', 'ei_c'."""
    initial = pinyin(syllable, style=Style.INITIALS, strict=False)[0][0]
    final = pinyin(syllable, style=Style.FINALS_TONE3, strict=False, neutral_tone_with_five=True)[0][0]
    tone = f"tone{final[-1]}" if final[-1:].isdigit() else "tone5"
    final = final.rstrip("012345") or "a"
    return (f"{initial}_c" if initial else "ge"), f"{final}_c", tone


class FakeFrontend:
    """ttsfrd.TtsFrontendEngine after initialize(resource) and set_lang_type('PinYin')."""

    def __init__(self, speaker: str = "F7"):
        self.speaker = speaker
        self.texts: list[str] = []

    def _symbol(self, sy: str, tone: str, flag: str, word: str, emotion: str) -> str:
        return "{" + "$".join((sy, tone, flag, word, emotion, self.speaker)) + "}"

    def gen_tacotron_symbols(self, text: str) -> str:
        self.texts.append(text)
        sentences, current = [], ""
        for ch in text:
            current += ch
            if ch in SENTENCE_END:
                sentences.append(current)
                current = ""
        sentences.append(current)
        lines = []
        for sentence in sentences:
            symbols = []
            chars = [ch for ch in sentence if "\u4e00" <= ch <= "\u9fff" or ch in PHRASE_BREAK]
            word_len = 0
            for i, ch in enumerate(chars):
                if ch in PHRASE_BREAK:
                    symbols.append(self._symbol("#3", "tone_none", "s_none", "word_none", "emotion_none"))
                    word_len = 0
                    continue
                initial, final, tone = _phones(ch)
                word = "word_begin" if word_len == 0 else "word_middle"
                symbols.append(self._symbol(initial, tone, "s_begin", word, "emotion_neutral"))
                last_of_word = word_len == 1 or i + 1 == len(chars) or chars[i + 1] in PHRASE_BREAK
                symbols.append(self._symbol(final, tone, "s_end", "word_end" if last_of_word else "word_middle", "emotion_neutral"))
                word_len = 0 if last_of_word else word_len + 1
                if last_of_word and i + 1 < len(chars) and chars[i + 1] not in PHRASE_BREAK:
                    symbols.append(self._symbol("#1", "tone_none", "s_none", "word_none", "emotion_none"))
            if any("$s_begin$" in s for s in symbols):
                symbols.append(self._symbol("#4", "tone_none", "s_none", "word_none", "emotion_none"))
                lines.append(f"{len(lines)}\t{' '.join(symbols)}")
        return "\n".join(lines) + ("\n" if lines else "")


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """modelscope.utils.audio.audio_utils.ndarray_pcm_to_wav: int16 mono WAV."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


class FakeSambertHifigan:
    def __init__(self, model_dir: str, voices=VOICES, sample_rate=SAMPLE_RATE, delay=0.0, emotion_types=EMOTION_TYPES):
        self.model_dir = model_dir
        self.sample_rate = sample_rate
        self.voices = {name: FakeVoice(name, delay, emotion_types) for name in voices}
        self.voice_cfg = {"voices": list(voices)}
        if not self.voices:
            raise TtsVoiceNotExistsException("modelscope error: voices empty")
        self.default_voice_name = self.voice_cfg["voices"][0]
        self.frontend = FakeFrontend()

    def synthesis_one_sentences(self, voice_name: str, text: str) -> np.ndarray:
        if voice_name not in self.voices:
            raise TtsVoiceNotExistsException(f"modelscope error: Voice {voice_name} not exists")
        return self.voices[voice_name].forward(text)

    def forward(self, text: str, voice_name: str | None = None) -> bytes:
        voice = voice_name if voice_name is not None else self.default_voice_name
        result = self.frontend.gen_tacotron_symbols(text)
        audio_total = np.empty(0, dtype="int16")
        for line in [s for s in result.splitlines() if s != ""]:
            audio = 32768.0 * self.synthesis_one_sentences(voice, line.strip().split("\t")[1])
            audio_total = np.append(audio_total, audio.astype("int16"), axis=0)
        return wav_bytes(audio_total, self.sample_rate)


class FakePipeline:
    def __init__(self, model: FakeSambertHifigan):
        self.model = model

    def __call__(self, input: str, voice: str | None = None, **_kwargs) -> dict:
        return {OUTPUT_WAV: self.model.forward(input, voice)}


class Factory:
    """Called like modelscope.pipelines.pipeline(task=..., model=..., device=...)."""

    def __init__(self, fail: BaseException | None = None, **model_options):
        self.fail = fail
        self.options = model_options
        self.created: list[dict] = []
        self.pipe: FakePipeline | None = None

    @property
    def model(self) -> FakeSambertHifigan:
        return self.pipe.model

    def __call__(self, task: str, model: str, device: str = "gpu", **kwargs) -> FakePipeline:
        if task != TASK:
            raise ValueError(f"unexpected task {task!r}")
        self.created.append({"task": task, "model": model, "device": device, **kwargs})
        if self.fail is not None:
            raise self.fail
        self.pipe = FakePipeline(FakeSambertHifigan(model, **self.options))
        return self.pipe


def fake_modules(pipeline, kantts_real: bool = True, ttsfrd_real: bool = True) -> dict:
    """sys.modules entries: modelscope.pipelines.pipeline = ``pipeline``, plus ttsfrd and kantts.

    The real ttsfrd exposes TtsFrontendEngine and the real kantts has kantts.utils.ling_unit;
    PyPI's packages of those names have neither.
    """
    def module(name: str, is_package: bool = True, **attrs) -> types.ModuleType:
        mod = types.ModuleType(name)
        if is_package:
            mod.__path__ = []  # so importlib.util.find_spec can look for submodules
        mod.__spec__ = __import__("importlib.machinery").machinery.ModuleSpec(name, None, is_package=is_package)
        mod.__dict__.update(attrs)
        return mod

    mods = {"modelscope": module("modelscope"), "modelscope.pipelines": module("modelscope.pipelines", pipeline=pipeline)}
    mods["ttsfrd"] = module("ttsfrd", False, **({"TtsFrontendEngine": FakeFrontend} if ttsfrd_real else {}))
    mods["kantts"] = module("kantts")
    for sub in ("kantts.utils", "kantts.utils.ling_unit"):  # None: import fails, find_spec says None
        mods[sub] = module(sub) if kantts_real else None
    return mods
