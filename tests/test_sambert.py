"""The Sambert engine against a stand-in that keeps ModelScope's real contract (tests/fake_modelscope.py).

The real model cannot run here (Python 3.11, no modelscope/kantts/ttsfrd, no hub), so loading
is tested for the errors each missing piece produces, as ModelScope raises them.
"""
from __future__ import annotations

import io
import sys
import threading
import wave

import numpy as np
import pytest

from synthesis import engines, pipeline
from synthesis.engines import EngineUnavailable, engine_class, get_engine
from synthesis.engines import sambert
from synthesis.engines.sambert import SambertEngine, time_stretch
from synthesis.frontend import analyse
from tests import fake_modelscope as fake

RATE = 16000


@pytest.fixture(autouse=True)
def no_model_dir_env(monkeypatch):
    monkeypatch.delenv("SAMBERT_MODEL_DIR", raising=False)


@pytest.fixture
def factory():
    return fake.Factory()


@pytest.fixture
def engine(factory):
    return SambertEngine.load(pipeline_factory=factory)


def say(engine, script: str, voice: str = "zhitian_emo", speed: float = 1.0):
    return list(engine.synthesize(analyse(script).clauses, voice, speed))


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argmax(spectrum)])


def voiced(samples: np.ndarray) -> np.ndarray:
    return samples[np.abs(samples) > 1e-3]


def calls(factory, voice="zhitian_emo") -> list[list[list[str]]]:
    return [[s[1:-1].split("$") for s in line.split()] for line in factory.model.voices[voice].calls]


# --- the stand-in keeps ModelScope's contract ------------------------------------------------------
def test_stand_in_pipeline_and_model_behave_like_modelscope(factory):
    pipe = factory(task="text-to-speech", model="m")
    model = pipe.model
    assert list(model.voices) == list(fake.VOICES) and model.default_voice_name == "zhitian_emo"
    empty = pipe(input="", voice="nobody")[fake.OUTPUT_WAV]  # no sentence: the voice is never checked
    assert wave.open(io.BytesIO(empty)).getnframes() == 0
    with pytest.raises(fake.TtsVoiceNotExistsException, match="Voice nobody not exists"):
        pipe(input="你好。", voice="nobody")
    data = pipe(input="你好。再见！")[fake.OUTPUT_WAV]
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getsampwidth()) == (RATE, 2)
    assert len(model.voices["zhitian_emo"].calls) == 2  # one Voice.forward per sentence line
    with pytest.raises(KeyError):  # KanTtsLinguisticUnit cannot encode an unknown emotion
        model.voices["zhitian_emo"].forward("{b_c$tone3$s_begin$word_begin$emotion_bored$F7}")


# --- voices ----------------------------------------------------------------------------------------
def test_voices_come_from_the_model_and_say_there_is_no_intensity(engine):
    infos = engine.voices()
    assert [v.name for v in infos] == list(fake.VOICES)
    assert all(v.emotions == ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust") for v in infos)
    assert all("No emotion intensity" in v.description and v.sample_rate == RATE for v in infos)
    assert engine.default_voice == "zhitian_emo" and engine.sample_rate == RATE


def test_unknown_voice_names_the_choices_before_any_synthesis(engine, factory):
    with pytest.raises(ValueError, match="zhitian_emo, zhiyan_emo, zhizhe_emo, zhibei_emo"):
        say(engine, "你好。", voice="xiaoyun")
    assert factory.model.frontend.texts == []


def test_emotion_the_voice_cannot_encode_is_neutral_with_a_warning():
    # an older kantts whose emotion_types lack sad: KanTtsLinguisticUnit would raise KeyError
    factory = fake.Factory(emotion_types=("emotion_none", "emotion_neutral", "emotion_happy"))
    engine = SambertEngine.load(pipeline_factory=factory)
    assert engine.voices()[0].emotions == ("neutral", "happy")
    (out,) = say(engine, "[sad]太可惜了！[/sad]")
    assert "不支持情感 sad" in out.warnings[0] and len(out.samples) > 0
    assert {f[4] for line in calls(factory) for f in line} == {"emotion_neutral", "emotion_none"}


# --- what the model receives ---------------------------------------------------------------------
def test_one_front_end_call_per_sentence_with_our_reading(engine, factory):
    outs = say(engine, "这件鼎建于1998年，距今很久。它很精美！")
    assert factory.model.frontend.texts == ["这件鼎建于一九九八年，距今很久。", "它很精美！"]
    assert len(outs) == 3 and len(factory.model.voices["zhitian_emo"].calls) == 2


def test_emotion_spans_reach_every_symbol_and_the_speaker_is_untouched(engine, factory):
    say(engine, "这件青铜器[happy]出土于殷墟[/happy]，[sad]令人惋惜[/sad]。")
    (line,) = calls(factory)
    phones = [f for f in line if f[2] == "s_begin"]
    assert [f[4] for f in phones] == ["emotion_neutral"] * 5 + ["emotion_happy"] * 5 + ["emotion_sad"] * 4
    assert {f[5] for f in line} == {"F7"}
    assert all(f[4] == "emotion_none" for f in line if f[0].startswith("#"))


def test_sentence_with_two_emotions_is_heard_in_the_decoded_audio(engine):
    happy, sad = say(engine, "[happy]太好了[/happy][sad]可惜啊[/sad]。")
    base = fake.VOICE_HZ["zhitian_emo"]
    assert dominant_hz(voiced(happy.samples)) == pytest.approx(base * fake.EMOTION_RATIO["emotion_happy"], abs=8)
    assert dominant_hz(voiced(sad.samples)) == pytest.approx(base * fake.EMOTION_RATIO["emotion_sad"], abs=8)
    for out in (happy, sad):  # three syllables each, cut at the boundary of the one utterance
        assert len(voiced(out.samples)) / RATE == pytest.approx(3 * fake.SYLLABLE_S, abs=0.02)


def test_intensity_is_reported_not_silently_dropped(engine, factory):
    (out,) = say(engine, "[sad 0.6]令人惋惜。[/sad]")
    assert out.warnings == ["Sambert 没有情感强度，已忽略强度 0.6 (this engine has no emotion intensity; 0.6 ignored)"]
    (plain,) = say(engine, "[sad]令人惋惜。[/sad]")
    assert plain.warnings == [] and np.array_equal(plain.samples, out.samples)


# --- audio ---------------------------------------------------------------------------------------
def test_clause_pieces_cut_in_the_comma_silence(engine):
    first, second = say(engine, "青铜器，商代晚期。", voice="zhizhe_emo")
    assert first.sample_rate == RATE and first.samples.dtype == np.float32
    assert len(voiced(first.samples)) / RATE == pytest.approx(3 * fake.SYLLABLE_S, abs=0.01)
    assert len(voiced(second.samples)) / RATE == pytest.approx(4 * fake.SYLLABLE_S, abs=0.01)
    assert dominant_hz(voiced(second.samples)) == pytest.approx(fake.VOICE_HZ["zhizhe_emo"], abs=5)
    assert len(first.char_times) == 3 and len(second.char_times) == 4
    starts = [a for a, _ in second.char_times]
    assert starts == sorted(starts) and second.char_times[-1][1] <= len(second.samples) / RATE


def test_emotion_boundary_after_several_pauses_cuts_between_the_right_syllables(engine):
    *plain, happy = say(engine, "青铜器，商代晚期，出土于殷墟，距今[happy]三千年[/happy]。")
    base = fake.VOICE_HZ["zhitian_emo"]
    assert len(voiced(happy.samples)) / RATE == pytest.approx(3 * fake.SYLLABLE_S, abs=0.01)
    assert dominant_hz(voiced(happy.samples)) == pytest.approx(base * fake.EMOTION_RATIO["emotion_happy"], abs=8)
    assert len(voiced(plain[-1].samples)) / RATE == pytest.approx(2 * fake.SYLLABLE_S, abs=0.01)


def test_output_is_bit_identical_run_to_run(engine):
    script = "[happy]这件青铜器[/happy]，出土于殷墟。[fear]小心[/fear]！"
    first, second = say(engine, script), say(engine, script)
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(first, second))


def test_clause_with_nothing_the_front_end_reads_is_empty_audio(engine, factory):
    factory.model.frontend.gen_tacotron_symbols = lambda text: ""
    (out,) = say(engine, "你好。")
    assert len(out.samples) == 0 and out.char_times is None


def test_front_end_failure_names_the_text(engine, factory):
    def broken(text):
        raise RuntimeError("ttsfrd crashed")

    factory.model.frontend.gen_tacotron_symbols = broken
    with pytest.raises(RuntimeError, match="front end \\(ttsfrd\\) failed on '你好。'.*ttsfrd crashed"):
        say(engine, "你好。")


def test_speed_stretches_time_and_keeps_pitch(engine):
    (normal,) = say(engine, "青铜器商代晚期文物精品")
    (fast,) = say(engine, "青铜器商代晚期文物精品", speed=2.0)
    assert len(fast.samples) == pytest.approx(len(normal.samples) / 2, abs=2)
    assert dominant_hz(fast.samples) == pytest.approx(fake.VOICE_HZ["zhitian_emo"], abs=5)
    assert fast.char_times[-1][1] == pytest.approx(normal.char_times[-1][1] / 2)
    with pytest.raises(ValueError):
        say(engine, "你好", speed=0)
    assert time_stretch(normal.samples, 1.0) is normal.samples


def test_model_calls_are_serialised():
    factory = fake.Factory(delay=0.01)
    engine = SambertEngine.load(pipeline_factory=factory)
    threads = [threading.Thread(target=say, args=(engine, "你好，世界。")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    voice = factory.model.voices["zhitian_emo"]
    assert len(voice.calls) == 6 and voice.overlaps == 0


def test_render_pipeline_end_to_end(engine, tmp_path, monkeypatch):
    monkeypatch.setitem(engines._loaded, "sambert", engine)
    config = pipeline.RenderConfig(out_dir=tmp_path, engine="sambert", voice="zhiyan_emo", formats=("wav",))
    rendering = pipeline.render("[happy]欢迎[/happy]来到博物馆，请随我参观。", config)
    assert [t["text"] for t in rendering.timings] == ["欢迎", "来到博物馆，", "请随我参观。"]
    assert rendering.model_version.startswith("sambert-") and rendering.duration > 1.0


# --- loading -------------------------------------------------------------------------------------
def test_factory_receives_the_real_call_shape(factory):
    engine = SambertEngine.load(pipeline_factory=factory, revision="v1.0.1")
    assert factory.created == [{"task": "text-to-speech", "model": sambert.MODEL_ID, "device": "cpu", "model_revision": "v1.0.1"}]
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
    monkeypatch.setenv("SAMBERT_MODEL_DIR", str(tmp_path / "missing"))
    with pytest.raises(EngineUnavailable, match="SAMBERT_MODEL_DIR=.*missing.*snapshot_download"):
        SambertEngine.load(pipeline_factory=factory)


def lazy_import_error(name: str) -> RuntimeError:
    """What ModelScope raises: LazyImportModule wraps, build_from_cfg re-raises as type(e)(msg)."""
    try:
        try:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        except ModuleNotFoundError as e:
            raise RuntimeError(f"Failed to import modelscope.models.audio.tts because of the following error:\n{e}") from e
    except RuntimeError as wrapped:
        try:
            raise RuntimeError(f"SambertHifigan: {wrapped}")  # implicit __context__ only
        except RuntimeError as outer:
            return outer


@pytest.mark.parametrize(
    "error, expected",
    [
        (lazy_import_error("kantts"), "(?s)kantts is not installed.*--find-links https://modelscope"),
        (RuntimeError("SambertHifigan: No module named 'ttsfrd'"), "ttsfrd is not installed.*never PyPI"),
        (lazy_import_error("pytorch_wavelets"), "(?s)package 'pytorch_wavelets' is missing.*requirements-sambert"),
        (PermissionError(13, "Permission denied", "/srv/m/resource/x"), "/srv/m is not writable.*resource.zip"),
        (OSError(30, "Read-only file system"), "not writable"),
        (fake.TtsModelNotExistsException("modelscope error: am model file not found"), "weights in /srv/m are missing"),
        (FileNotFoundError(2, "No such file", "/srv/m/resource.zip"), "weights in /srv/m are missing"),
        (fake.TtsFrontendInitializeFailedException("resource invalid"), "ttsfrd could not load.*resource.zip"),
        (fake.TtsVoiceNotExistsException("modelscope error: voices empty"), "no usable voice.*voices.json"),
        (ConnectionError("hub down"), "hub is unreachable.*snapshot_download"),
    ],
)
def test_load_errors_say_what_to_do(error, expected):
    with pytest.raises(EngineUnavailable, match=expected) as info:
        SambertEngine.load(model="/srv/m", pipeline_factory=fake.Factory(fail=error))
    assert info.value.__cause__ is error


def test_model_without_public_front_end_is_explained(factory):
    class Private:
        _SambertHifigan__frontend = object()

    with pytest.raises(EngineUnavailable, match="no public frontend, voices, default_voice_name"):
        SambertEngine(Private(), "v")


def install_fakes(monkeypatch, factory, **kw):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 10))
    for name, module in fake.fake_modules(factory, **kw).items():
        monkeypatch.setitem(sys.modules, name, module)


def test_python_version_is_checked_for_the_real_pipeline(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 11))
    with pytest.raises(EngineUnavailable, match=r"Python 3\.8–3\.10; this is 3\.11"):
        SambertEngine.load()


def test_modelscope_missing(monkeypatch):
    monkeypatch.setattr(sambert, "_python_version", lambda: (3, 10))
    monkeypatch.setitem(sys.modules, "modelscope", None)  # makes the import raise ImportError
    monkeypatch.setitem(sys.modules, "modelscope.pipelines", None)
    with pytest.raises(EngineUnavailable, match="modelscope is not importable.*requirements-sambert.txt.*repo.html"):
        SambertEngine.load()


@pytest.mark.parametrize("name", ["ttsfrd", "kantts"])
def test_index_only_packages_missing_or_squatted(monkeypatch, name):
    install_fakes(monkeypatch, fake.Factory())
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(EngineUnavailable, match=f"{name} is not installed.*--no-index --find-links"):
        SambertEngine.load()
    install_fakes(monkeypatch, fake.Factory(), **{f"{name}_real": False})
    with pytest.raises(EngineUnavailable, match=f"installed {name} is PyPI's empty package.*pip uninstall -y {name}"):
        SambertEngine.load()


def test_real_import_path_with_everything_present(monkeypatch):
    factory = fake.Factory()
    install_fakes(monkeypatch, factory)
    engine = SambertEngine.load(device="cuda")
    assert factory.created[0]["device"] == "cuda"
    assert len(say(engine, "你好。")[0].samples) > 0


def test_registry_reports_unavailable_here():
    """This environment really lacks Python ≤3.10 / modelscope / ttsfrd / weights."""
    with pytest.raises(EngineUnavailable, match="Sambert"):
        engine_class("sambert").load()
    with pytest.raises(EngineUnavailable):
        get_engine("sambert")
