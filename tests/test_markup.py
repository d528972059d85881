"""Curator markup: what parses, and that every mistake is located and explained."""
import pytest

from synthesis.markup import EmotionRun, Override, Pause, ScriptError, parse


def test_plain_text_is_one_default_run():
    m = parse("长城\n很长")
    assert m.transcript == "长城\n很长"
    assert m.runs == (EmotionRun(0, 5, None, None),)
    assert m.pauses == () and m.overrides == ()


def test_emotion_spans_nest_and_inner_wins():
    m = parse("甲[happy]乙[sad 0.6]丙[/sad]丁[/happy]戊")
    assert m.transcript == "甲乙丙丁戊"
    assert m.runs == (
        EmotionRun(0, 1, None, None),
        EmotionRun(1, 2, "happy", 1.0),
        EmotionRun(2, 3, "sad", 0.6),
        EmotionRun(3, 4, "happy", 1.0),
        EmotionRun(4, 5, None, None),
    )


@pytest.mark.parametrize("source, emotion, intensity", [
    ("[喜悦]好[/喜悦]", "happy", 1.0),
    ("[喜悦]好[/happy]", "happy", 1.0),  # closing with the canonical name
    ("[happy]好[/喜悦]", "happy", 1.0),
    ("[悲伤 0.6]好[/悲伤]", "sad", 0.6),
    ("[悲伤0.6]好[/sad]", "sad", 0.6),
    ("[Angry 2]好[/angry]", "angry", 2.0),
    ("[恐惧 0.1]好[/fear]", "fear", 0.1),
    ("[ surprise ]好[/ surprise]", "surprise", 1.0),
    ("[厌恶]好[/disgust]", "disgust", 1.0),
    ("[平静]好[/neutral]", "neutral", 1.0),
])
def test_emotion_names_and_aliases(source, emotion, intensity):
    assert parse(source).runs == (EmotionRun(0, 1, emotion, intensity),)


@pytest.mark.parametrize("source, ms", [
    ("[pause 800ms]", 800), ("[pause 1.5s]", 1500), ("[停顿 0.8s]", 800), ("[停顿 800毫秒]", 800),
    ("[停顿2秒]", 2000), ("[PAUSE 10s]", 10000), ("[pause 0ms]", 0), ("[pause 250 ms]", 250),
])
def test_pause_lengths(source, ms):
    m = parse("前" + source + "后")
    assert m.transcript == "前后"
    assert m.pauses == (Pause(1, ms),)


def test_override_keeps_the_term_in_the_transcript():
    m = parse("匈奴{单于|chan2 yu2}南下")
    assert m.transcript == "匈奴单于南下"
    assert m.overrides == (Override(2, 4, ("chan2", "yu2")),)


def test_override_accepts_tone_marks_and_v():
    assert parse("{单于|chán yú}").overrides[0].syllables == ("chan2", "yu2")
    assert parse("{女|nü3}").overrides[0].syllables == ("nv3",)


def test_doubled_brackets_are_literal_and_fullwidth_brackets_are_text():
    m = parse("见[[注]]与{{甲}}【展厅】［乙］")
    assert m.transcript == "见[注]与{甲}【展厅】［乙］"
    assert m.overrides == () and m.pauses == ()


def test_crlf_becomes_newline():
    assert parse("甲\r\n乙").transcript == "甲\n乙"


def _error(source: str) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        parse(source)
    err = info.value
    assert isinstance(err, ValueError)
    assert str(err) == f"第{err.line}行第{err.column}列: {err.message}"
    return err


@pytest.mark.parametrize("source, line, column, fix", [
    ("第一行\n展品[hapy]好[/happy]", 2, 3, "[happy]"),  # unknown tag, with a suggestion
    ("[开心]好[/开心]", 1, 1, "[happy]…[/happy]"),  # unknown, lists what to write
    ("[happy]好[/sad]", 1, 9, "[/happy]"),  # mismatched close
    ("[happy]好[sad]坏[/happy][/sad]", 1, 15, "[/sad]"),  # closes across nesting
    ("甲\n乙[happy]好", 2, 2, "[/happy]"),  # unclosed: located at the opening tag
    ("好[/happy]", 1, 2, "[happy]"),  # close without open
    ("[happy]好[/hapy]", 1, 9, "did you mean [/happy]?"),  # unknown closing name
    ("[sad 3]好[/sad]", 1, 1, "[sad 0.6]"),  # intensity out of range
    ("[sad 0]好[/sad]", 1, 1, "0.1"),
    ("[sad very]好[/sad]", 1, 1, "[sad 0.6]"),  # intensity not a number
    ("好[pause 11s]", 1, 2, "[pause 800ms]"),  # too long
    ("好[pause 800]", 1, 2, "[pause 800ms]"),  # missing unit
    ("好[pause -1s]", 1, 2, "[pause 800ms]"),  # negative
    ("好[停顿]", 1, 2, "[停顿 0.8s]"),  # no length
    ("好[happy", 1, 2, "[happy]"),  # bracket never closed
    ("好[happy\n]坏", 1, 2, "[["),  # tags do not span lines
    ("好]坏", 1, 2, "]]"),  # stray closing bracket
    ("{单于|chan2 yu2", 1, 1, "{单于|chan2 yu2}"),  # unbalanced brace
    ("甲}", 1, 2, "}}"),
    ("{单于 chan2 yu2}", 1, 1, "{单于|chan2 yu2}"),  # missing |
    ("{单于|chan2}", 1, 1, "chan2 yu2"),  # syllable count
    ("{单于|chan2 yu2 ta1}", 1, 1, "one per character"),
    ("x{单于|chan9 yu2}", 1, 6, "chan2"),  # tone out of range, column of the pinyin
    ("{单于|chan yu2}", 1, 5, "chan2"),  # no tone
    ("{单于|xx2 yu2}", 1, 5, "{单于|chan2 yu2}"),  # not a syllable
    ("{单于|}", 1, 5, "chan2 yu2"),  # empty pinyin
    ("{ABC|a1 b1 c1}", 1, 1, "Chinese characters"),
    ("{[happy]单于|chan2 yu2}", 1, 1, "{单于|chan2 yu2}"),
])
def test_errors_name_line_column_and_fix(source, line, column, fix):
    err = _error(source)
    assert (err.line, err.column) == (line, column)
    assert fix in err.message
    assert " / " in err.message  # Chinese explanation, then English


def test_unknown_tag_message_matches_the_documented_shape():
    err = _error("好\n展品[hapy]")
    assert str(err).startswith("第2行第3列: 未知标记 [hapy]，是不是想写 [happy]？")
    assert "unknown tag [hapy] (did you mean [happy]?); write one of [happy]…[/happy]" in str(err)
