"""The Sambert engine against a stand-in pipeline that keeps ModelScope's call contract.

The real model cannot run here (Python 3.11, no modelscope/ttsfrd, no hub), so the last tests
check that this is reported as EngineUnavailable with a message that says what to do.
"""
from __future__ import annotations

import sys
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from synthesis.clause import EMOTIONS, Clause
from synthesis.engines import EngineUnavailable, engine_class, get_engine
from synthesis.engines import sambert
from synthesis.engines import sambert_text
from synthesis.engines.sambert import SambertEngine, time_stretch
from synthesis.engines.sambert_text import MAX_CHARS, build_input, emotion_attrs, speakable_text, split_pieces
from tests import fake_modelscope as fake


def clause(text: str, normalized: str | None = None, **kw) -> Clause:
    normalized = normalized if normalized is not None else "".join(ch for ch in text if sambert_text._CJK.match(ch))
    syllables = tuple("a1" for _ in normalized)  # Sambert never sees pinyin
    return Clause(text=text, normalized=normalized, pinyin=syllables, spoken=syllables, **kw)


@pytest.fixture(autouse=True)
def no_model_dir_env(monkeypatch):
    monkeypatch.delenv("SAMBERT_MODEL_DIR", raising=False)


@pytest.fixture
def factory():
    return fake.Factory()


@pytest.fixture
def engine(factory):
    return SambertEngine.load(pipeline_factory=factory)


def say(engine, c: Clause, voice: str = "zhitian_emo", speed: float = 1.0):
    return next(engine.synthesize([c], voice, speed))


def dominant_hz(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


# --- SSML ----------------------------------------------------------------------------------------
def test_neutral_at_intensity_one_is_plain_text():
    assert build_input("你好。") == "你好。"


def test_ssml_structure_and_escaping():
    text = "A&B <c> \"d\" 'e' 你好"
    ssml = build_input(text, "happy", 1.5)
    assert "&amp;" in ssml and "&lt;c&gt;" in ssml and "&quot;d&quot;" in ssml and "&apos;e&apos;" in ssml
    root = ET.fromstring(ssml)
    assert root.tag == "speak" and [c.tag for c in root] == ["emotion"]
    assert root[0].attrib == {"category": "happy", "intensity": "1.5"}
    assert "".join(root.itertext()) == text
    assert fake.parse_input(ssml) == (text, "happy", 1.5)


def test_neutral_with_other_intensity_uses_ssml():
    root = ET.fromstring(build_input("你好", "neutral", 0.5))
    assert root[0].attrib == {"category": "neutral", "intensity": "0.5"}


def test_every_emotion_maps_to_a_model_category():
    for emotion in EMOTIONS:
        category, intensity, warnings = emotion_attrs(emotion, 1.0)
        assert category in fake.CATEGORIES and intensity == 1.0 and not warnings


def test_intensity_is_clamped_to_model_range_with_a_warning():
    assert emotion_attrs("sad", 0.1)[1:] == (0.1, [])
    assert emotion_attrs("sad", 2.0)[1:] == (2.0, [])
    _, value, warnings = emotion_attrs("sad", 3.0)
    assert value == 2.0 and warnings
    category, _, warnings = emotion_attrs("bored", 1.0)
    assert category == "neutral" and warnings


# --- text and chunking -----------------------------------------------------------------------------
def test_speakable_keeps_punctuation_and_uses_our_number_reading():
    c = clause("建于1998年，距今26年。", "建于一九九八年距今二十六年")
    assert speakable_text(c) == "建于一九九八年，距今二十六年。"


def test_speakable_drops_symbols_quotes_and_inner_separators():
    assert speakable_text(clause('他说："好！"', "他说好")) == "他说：好！"
    assert speakable_text(clause("共1,000件.", "共一千件")) == "共一千件。"
    assert speakable_text(clause("《兰亭序》&<真迹>", "兰亭序和真迹")) == "兰亭序和真迹"


def test_speakable_falls_back_to_normalized_when_they_disagree():
    assert speakable_text(clause("长安城。", "长安")) == "长安。"
    assert speakable_text(clause("甲乙", "丙丁")) == "丙丁"
    assert speakable_text(clause("“长安城。”", "长安")) == "长安。"
    # 年 is found first inside the reading of 618: no alignment, but the pause survives
    assert speakable_text(clause("618—907年是唐朝，", "六百一十八年至九百零七年是唐朝")) == "六百一十八年至九百零七年是唐朝，"


def test_short_text_is_one_piece():
    assert split_pieces("你好，世界。") == ["你好，世界。"]
    assert split_pieces("") == []


def test_pieces_break_at_sentence_ends_before_pauses():
    a, b, c = "甲" * 10 + "。", "乙" * 14 + "，", "丙" * 10 + "。"
    # a greedy packer would give [a + b, c], cutting at the pause instead of the full stop
    assert split_pieces(a + b + c) == [a, b + c]
    long_sentence = "甲" * 20 + "，" + "乙" * 20 + "。"
    assert split_pieces(long_sentence) == ["甲" * 20 + "，", "乙" * 20 + "。"]


def test_hundred_characters_without_punctuation_split_evenly():
    text = "".join(chr(0x4E00 + i) for i in range(100))
    pieces = split_pieces(text)
    assert "".join(pieces) == text
    assert [len(p) for p in pieces] == [25, 25, 25, 25]


def test_long_mixed_text_respects_limit_and_keeps_everything():
    text = ("这件青铜器出土于殷墟妇好墓，" * 3 + "器身" * 30 + "。") * 2
    pieces = split_pieces(text)
    assert "".join(pieces) == text and all(0 < len(p) <= MAX_CHARS for p in pieces)
    assert pieces[0].endswith("，")


# --- voices ----------------------------------------------------------------------------------------
def test_voices(engine):
    assert [v.name for v in engine.voices()] == list(fake.VOICES)
    assert all(v.sample_rate == 16000 and v.emotions == EMOTIONS for v in engine.voices())
    assert engine.default_voice == "zhitian_emo" and engine.name == "sambert" and engine.sample_rate == 16000


def test_unknown_voice_names_the_choices(engine, factory):
    with pytest.raises(ValueError, match="zhitian_emo, zhiyan_emo, zhizhe_emo, zhibei_emo"):
        say(engine, clause("你好。"), voice="xiaoyun")
    assert factory.pipe.calls == []


def test_stand_in_rejects_what_the_real_pipeline_would():
    pipe = fake.FakeSambertPipeline()
    with pytest.raises(fake.TtsVoiceNotExistsException):
        pipe(input="你好", voice="xiaoyun")
    with pytest.raises(ET.ParseError):
        pipe(input="<speak><emotion category='happy' intensity='1'>A&B</emotion></speak>", voice="zhitian_emo")
    with pytest.raises(ValueError):
        pipe(input="好" * 31, voice="zhitian_emo")


# --- synthesis -------------------------------------------------------------------------------------
def test_audio_is_decoded_at_16k(engine, factory):
    out = say(engine, clause("你好。", "你好"), voice="zhizhe_emo")
    assert out.sample_rate == 16000 and out.samples.dtype == np.float32
    assert len(out.samples) / 16000 == pytest.approx(2 * fake.TONE_S + 2 * fake.SILENCE_S, abs=0.002)
    assert dominant_hz(out.samples) == pytest.approx(fake.VOICE_HZ["zhizhe_emo"], abs=5)
    assert factory.pipe.calls == [
        {"input": "你好。", "voice": "zhizhe_emo", "text": "你好。", "category": None, "intensity": None}
    ]
    assert out.warnings == []


def test_emotion_reaches_the_pipeline_as_ssml(engine, factory):
    out = say(engine, clause("太好了！", emotion="happy", intensity=1.5))
    call = factory.pipe.calls[0]
    assert (call["text"], call["category"], call["intensity"]) == ("太好了！", "happy", 1.5)
    assert len(out.samples) > 0


def test_hundred_character_clause_is_several_calls(engine, factory):
    text = "".join(chr(0x4E00 + i) for i in range(100))
    out = say(engine, clause(text + "。", text, emotion="sad", intensity=0.8))
    texts = [c["text"] for c in factory.pipe.calls]
    assert len(texts) == 4 and all(len(t) <= MAX_CHARS for t in texts) and "".join(texts) == text + "。"
    assert all(c["category"] == "sad" and c["intensity"] == 0.8 for c in factory.pipe.calls)
    assert len(out.samples) / 16000 == pytest.approx(100 * fake.TONE_S + 8 * fake.SILENCE_S, abs=0.01)


def test_char_times_estimate_one_span_per_character(engine):
    c = clause("青铜器，商代晚期。", "青铜器商代晚期")
    out = say(engine, c)
    assert len(out.char_times) == len(c.normalized)
    starts = [a for a, _ in out.char_times]
    assert starts == sorted(starts) and all(a < b for a, b in out.char_times)
    assert out.char_times[0][0] == pytest.approx(fake.SILENCE_S, abs=0.05)
    assert out.char_times[-1][1] <= len(out.samples) / 16000


def test_clause_with_nothing_to_say_is_empty_audio(engine, factory):
    out = say(engine, clause("……", ""))
    assert len(out.samples) == 0 and out.char_times == [] and factory.pipe.calls == []


def test_wrong_sample_rate_is_a_clear_error():
    engine = SambertEngine.load(pipeline_factory=fake.Factory(sample_rate=24000))
    with pytest.raises(RuntimeError, match="24000 Hz.*16000"):
        say(engine, clause("你好"))


def test_speed_stretches_time_and_keeps_pitch(engine):
    c = clause("青铜器商代晚期文物精品", emotion="neutral")
    normal = say(engine, c)
    fast = say(engine, c, speed=2.0)
    slow = say(engine, c, speed=0.8)
    assert len(fast.samples) == pytest.approx(len(normal.samples) / 2, abs=2)
    assert len(slow.samples) == pytest.approx(len(normal.samples) / 0.8, abs=2)
    for out in (fast, slow):
        assert dominant_hz(out.samples) == pytest.approx(fake.VOICE_HZ["zhitian_emo"], abs=5)
    assert fast.char_times[-1][1] == pytest.approx(normal.char_times[-1][1] / 2)
    with pytest.raises(ValueError):
        say(engine, c, speed=0)


def test_time_stretch_identity_and_empty():
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    assert time_stretch(x, 1.0) is x
    assert len(time_stretch(np.zeros(0, np.float32), 1.5)) == 0


def test_pipeline_calls_are_serialised():
    factory = fake.Factory(delay=0.01)
    engine = SambertEngine.load(pipeline_factory=factory)
    threads = [threading.Thread(target=say, args=(engine, clause("你好，世界。"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(factory.pipe.calls) == 6 and factory.pipe.overlaps == 0


# --- loading ---------------------------------------------------------------------------------------
def test_factory_receives_the_real_call_shape(factory):
    engine = SambertEngine.load(pipeline_factory=factory, revision="v1.0.1")
    assert factory.created == [
        {"task": "text-to-speech", "model": sambert.MODEL_ID, "device": "cpu", "model_revision": "v1.0.1"}
    ]
    assert engine.model_version == f"sambert-{sambert.MODEL_ID}@v1.0.1-{sambert.MAPPING_VERSION}"


def test_local_model_dir_from_env_is_fingerprinted(tmp_path, monkeypatch, factory):
    (tmp_path / "configuration.json").write_text('{"task": "text-to-speech"}')
    monkeypatch.setenv("SAMBERT_MODEL_DIR", str(tmp_path))
    first = SambertEngine.load(pipeline_factory=factory)
    assert factory.created[-1]["model"] == str(tmp_path) and first.model_version.startswith("sambert-local-")
    (tmp_path / "resource").mkdir()
    (tmp_path / "resource" / "unpacked.bin").write_bytes(b"x")  # unpacked at load: ignored
    assert SambertEngine.load(pipeline_factory=factory).model_version == first.model_version
    (tmp_path / "configuration.json").write_text('{"task": "text-to-speech", "v": 2}')
    assert SambertEngine.load(pipeline_factory=factory).model_version != first.model_version


def test_model_dir_env_pointing_nowhere(tmp_path, monkeypatch, factory):
    monkeypatch.setenv("SAMBERT_MODEL_DIR", str(tmp_path / "missing"))
    with pytest.raises(EngineUnavailable, match="SAMBERT_MODEL_DIR=.*missing.*snapshot_download"):
        SambertEngine.load(pipeline_factory=factory)


def test_weights_missing_is_wrapped_with_a_fix():
    with pytest.raises(EngineUnavailable) as info:
        SambertEngine.load(model="/srv/models/sambert", pipeline_factory=fake.failing_factory)
    message = str(info.value)
    assert "/srv/models/sambert" in message and "am model file not found" in message
    assert "snapshot_download" in message and "SAMBERT_MODEL_DIR" in message


def test_python_version_is_checked_for_the_real_pipeline(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 11))
    with pytest.raises(EngineUnavailable, match=r"Python ≤3\.10; this is 3\.11"):
        SambertEngine.load()


def test_modelscope_missing(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 10))
    monkeypatch.setitem(sys.modules, "modelscope", None)  # makes the import raise ImportError
    monkeypatch.setitem(sys.modules, "modelscope.pipelines", None)
    with pytest.raises(EngineUnavailable) as info:
        SambertEngine.load()
    message = str(info.value)
    assert "modelscope is not importable" in message and "requirements-sambert.txt" in message
    assert sambert.MODELSCOPE_INDEX in message and "not PyPI" in message


def test_ttsfrd_missing_or_squatted(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 10))
    for name, module in fake.fake_modelscope_modules(fake.Factory()).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "ttsfrd", None)
    with pytest.raises(EngineUnavailable, match="ttsfrd.*ModelScope's index"):
        SambertEngine.load()
    monkeypatch.setitem(sys.modules, "ttsfrd", fake.fake_ttsfrd(real=False))
    with pytest.raises(EngineUnavailable, match="empty squat"):
        SambertEngine.load()


def test_real_import_path_with_modelscope_present(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 10))
    factory = fake.Factory()
    for name, module in fake.fake_modelscope_modules(factory).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "ttsfrd", fake.fake_ttsfrd())
    engine = SambertEngine.load(device="cuda")
    assert factory.created[0]["device"] == "cuda"
    assert len(say(engine, clause("你好")).samples) > 0


def test_pipeline_needing_kantts_says_where_to_get_it(monkeypatch):
    def factory(**kwargs):
        raise ModuleNotFoundError("No module named 'kantts'", name="kantts")

    with pytest.raises(EngineUnavailable, match="kantts.*ModelScope's index"):
        SambertEngine.load(pipeline_factory=factory)


def test_registry_reports_unavailable_here():
    """This environment really lacks Python ≤3.10 / modelscope / ttsfrd / weights."""
    with pytest.raises(EngineUnavailable, match="Sambert"):
        engine_class("sambert").load()
    with pytest.raises(EngineUnavailable):
        get_engine("sambert")
