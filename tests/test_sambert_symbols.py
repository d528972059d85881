"""Sambert's text side: clauses -> sentences -> ttsfrd symbol lines with each span's emotion."""
from __future__ import annotations

import pytest

from synthesis.clause import EMOTIONS, Clause
from synthesis.engines.sambert_text import (
    EMOTION_TYPE,
    rewrite_emotions,
    sentence_text,
    sentences,
    speakable_text,
    syllable_count,
    syllable_midpoints,
    symbol_lines,
)
from synthesis.frontend import analyse
from tests import fake_modelscope as fake

# ttsfrd output for 北京天气怎么样 as published with a KAN-TTS port (one sentence, index 0)
BEIJING = (
    "0\t{b_c$tone3$s_begin$word_begin$emotion_neutral$F7} {ei_c$tone3$s_end$word_middle$emotion_neutral$F7} "
    "{j_c$tone1$s_begin$word_middle$emotion_neutral$F7} {ing_c$tone1$s_end$word_end$emotion_neutral$F7} "
    "{#1$tone_none$s_none$word_none$emotion_none$F7} {t_c$tone1$s_begin$word_begin$emotion_neutral$F7} "
    "{ian_c$tone1$s_end$word_middle$emotion_neutral$F7} {q_c$tone4$s_begin$word_middle$emotion_neutral$F7} "
    "{i_c$tone4$s_end$word_end$emotion_neutral$F7} {#1$tone_none$s_none$word_none$emotion_none$F7} "
    "{z_c$tone3$s_begin$word_begin$emotion_neutral$F7} {en_c$tone3$s_end$word_middle$emotion_neutral$F7} "
    "{m_c$tone5$s_begin$word_middle$emotion_neutral$F7} {e_c$tone5$s_end$word_middle$emotion_neutral$F7} "
    "{y_c$tone4$s_begin$word_middle$emotion_neutral$F7} {ang_c$tone4$s_end$word_end$emotion_neutral$F7} "
    "{#4$tone_none$s_none$word_none$emotion_none$F7}\n"
)


def fields(line: str) -> list[list[str]]:
    return [s[1:-1].split("$") for s in line.split()]


def syllable_emotions(line: str) -> list[str]:
    return [f[4] for f in fields(line) if f[2] == "s_begin"]


def clause(text: str, normalized: str | None = None, **kw) -> Clause:
    normalized = normalized if normalized is not None else "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    syllables = tuple("a1" for _ in normalized)
    return Clause(text=text, normalized=normalized, pinyin=syllables, spoken=syllables, **kw)


# --- symbol lines --------------------------------------------------------------------------------
def test_symbol_lines_read_like_sambert_hifigan_forward():
    lines = symbol_lines("0\t{a} {b}\n\n1\t{c}\n")
    assert lines == ["{a} {b}", "{c}"]
    assert symbol_lines("") == []
    with pytest.raises(ValueError, match="index<TAB>symbols"):
        symbol_lines("{a}\n")


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_every_emotion_lands_on_every_phone_and_nowhere_else(emotion):
    (line,) = symbol_lines(BEIJING)
    (out,), per_span = rewrite_emotions([line], [(7, EMOTION_TYPE[emotion])])
    before, after = fields(line), fields(out)
    assert per_span == [7] and syllable_count(out) == 7
    for old, new in zip(before, after):
        assert new[:4] == old[:4] and new[5] == old[5] == "F7"  # phone, tone, flags, speaker untouched
        assert new[4] == ("emotion_none" if old[0].startswith("#") else f"emotion_{emotion}")
    assert EMOTION_TYPE[emotion] in fake.EMOTION_TYPES  # a name KAN-TTS's ling unit can encode


def test_sentence_with_two_emotions_splits_at_the_character_boundary():
    (line,) = symbol_lines(BEIJING)
    (out,), per_span = rewrite_emotions([line], [(4, "emotion_happy"), (3, "emotion_sad")])
    assert syllable_emotions(out) == ["emotion_happy"] * 4 + ["emotion_sad"] * 3 and per_span == [4, 3]
    marks = [f for f in fields(out) if f[0].startswith("#")]
    assert all(f[4] == "emotion_none" for f in marks)


def test_nested_spans_inner_wins_in_the_symbols():
    script = "[happy]这件青铜器[sad]令人惋惜[/sad]依然精美[/happy]。"
    parsed = analyse(script)
    assert [c.emotion for c in parsed.clauses] == ["happy", "sad", "happy"]
    assert sentences(parsed.clauses) == [[0, 1, 2]]
    text = "".join(sentence_text(c) for c in parsed.clauses)
    lines = symbol_lines(fake.FakeFrontend().gen_tacotron_symbols(text))
    spans = [(len(c.normalized), EMOTION_TYPE[c.emotion]) for c in parsed.clauses]
    out, per_span = rewrite_emotions(lines, spans)
    assert per_span == [5, 4, 4]
    assert syllable_emotions(out[0]) == ["emotion_happy"] * 5 + ["emotion_sad"] * 4 + ["emotion_happy"] * 4


def test_fewer_syllables_than_characters_map_proportionally():
    # erhua: 哪儿 is one syllable (n_c ar_c) for two characters
    line = (
        "{n_c$tone3$s_begin$word_begin$emotion_neutral$F7} {ar_c$tone3$s_end$word_end$emotion_neutral$F7} "
        "{h_c$tone3$s_begin$word_begin$emotion_neutral$F7} {ao_c$tone3$s_end$word_end$emotion_neutral$F7} "
        "{w_c$tone2$s_begin$word_begin$emotion_neutral$F7} {an_c$tone2$s_end$word_end$emotion_neutral$F7}"
    )
    (out,), per_span = rewrite_emotions([line], [(2, "emotion_fear"), (2, "emotion_angry")])
    assert per_span == [2, 1] and syllable_emotions(out) == ["emotion_fear", "emotion_fear", "emotion_angry"]


def test_emotion_field_position_follows_lfeat_type_list():
    line = "{b_c$tone3$s_begin$word_begin$F7$emotion_neutral} {ei_c$tone3$s_end$word_end$F7$emotion_neutral}"
    (out,), _ = rewrite_emotions([line], [(1, "emotion_sad")], emo_field=5)
    assert out == "{b_c$tone3$s_begin$word_begin$F7$emotion_sad} {ei_c$tone3$s_end$word_end$F7$emotion_sad}"
    (same,), counts = rewrite_emotions([line], [(1, "emotion_sad")], emo_field=None)
    assert same == line and counts == [1]


def test_syllable_midpoints_count_phrase_breaks_as_time():
    (line,) = symbol_lines(BEIJING)  # 7 syllables, #1 marks take no time
    assert syllable_midpoints(line) == pytest.approx([1 / 7, 2 / 7, 3 / 7, 4 / 7, 5 / 7, 6 / 7, 1.0])
    comma = symbol_lines(fake.FakeFrontend().gen_tacotron_symbols("青铜器，商代。"))[0]
    # 3 syllables, a #3 break, 2 syllables: 6 units; the gap after syllable 3 is the break
    assert syllable_midpoints(comma) == pytest.approx([1 / 6, 2 / 6, 3.5 / 6, 5 / 6, 1.0])
    assert syllable_midpoints("") == []


def test_a_symbol_that_is_not_a_symbol_is_an_error():
    with pytest.raises(ValueError, match="not a ttsfrd symbol"):
        rewrite_emotions(["b_c$tone3$s_begin"], [(1, "emotion_sad")])


# --- sentences -----------------------------------------------------------------------------------
def test_commas_stay_inside_one_sentence():
    parsed = analyse("青铜器，商代晚期，出土于殷墟。它很精美！")
    assert len(parsed.clauses) == 4
    assert sentences(parsed.clauses) == [[0, 1, 2], [3]]
    assert "".join(sentence_text(c) for c in parsed.clauses[:3]) == "青铜器，商代晚期，出土于殷墟。"


def test_punctuation_outside_an_emotion_span_is_put_back_from_the_pause():
    parsed = analyse("这件青铜器[happy]出土于殷墟[/happy]，距今三千年。")
    assert [sentence_text(c) for c in parsed.clauses] == ["这件青铜器", "出土于殷墟，", "距今三千年。"]
    assert sentences(parsed.clauses) == [[0, 1, 2]]


def test_a_line_break_or_long_pause_ends_a_sentence():
    parsed = analyse("商代青铜器\n这件鼎很重[pause 800ms]它很精美")
    assert [sentence_text(c)[-1] for c in parsed.clauses] == ["。", "。", "美"]
    assert sentences(parsed.clauses) == [[0], [1], [2]]


def test_long_sentence_is_not_cut():
    parsed = analyse("这件出土于河南安阳殷墟妇好墓的青铜器是商代晚期王室祭祀所用的礼器，" * 3 + "极为珍贵。")
    assert len(sentences(parsed.clauses)) == 1


# --- our reading with the clause's punctuation -----------------------------------------------------
def test_speakable_keeps_punctuation_and_uses_our_number_reading():
    assert speakable_text(clause("建于1998年，距今26年。", "建于一九九八年距今二十六年")) == "建于一九九八年，距今二十六年。"


def test_speakable_drops_symbols_quotes_and_inner_separators():
    assert speakable_text(clause('他说："好！"', "他说好")) == "他说：好！"
    assert speakable_text(clause("共1,000件.", "共一千件")) == "共一千件。"
    assert speakable_text(clause("《兰亭序》&<真迹>", "兰亭序和真迹")) == "兰亭序和真迹"


def test_speakable_falls_back_to_normalized_when_they_disagree():
    assert speakable_text(clause("长安城。", "长安")) == "长安。"
    assert speakable_text(clause("甲乙", "丙丁")) == "丙丁"
    assert speakable_text(clause("618—907年是唐朝，", "六百一十八年至九百零七年是唐朝")) == "六百一十八年至九百零七年是唐朝，"
