"""Citation pinyin, polyphones, tone sandhi, syllable validation and the museum lexicon."""
from pathlib import Path

import pytest

from synthesis.lexicon import SHIPPED_PATH, Lexicon, LexiconError
from synthesis.pinyin import citation, sandhi, segment, to_pinyin
from synthesis.syllables import is_valid_syllable, parse_syllables

LEX = Lexicon.default()


def cited(text: str) -> list[str]:
    return list(citation(text, LEX))


def spoken(text: str) -> list[str]:
    return list(to_pinyin(text, LEX)[1])


@pytest.mark.parametrize("text, expected", [
    ("长城", "chang2 cheng2"),
    ("长安", "chang2 an1"),
    ("银行", "yin2 hang2"),
    ("行走", "xing2 zou3"),
    ("朝代", "chao2 dai4"),
    ("乐器", "yue4 qi4"),
    ("重量", "zhong4 liang4"),
    ("重建", "chong2 jian4"),
    ("都城", "du1 cheng2"),
    ("传记", "zhuan4 ji4"),
    ("的", "de5"),
    # 长 before a number is a length (a rule in pinyin.py); the rest are museum lexicon entries
    ("长约三十厘米", "chang2 yue1 san1 shi2 li2 mi3"),
    ("长三十厘米", "chang2 san1 shi2 li2 mi3"),
    ("通长", "tong1 chang2"),
    ("用于盛放酒", "yong4 yu2 cheng2 fang4 jiu3"),
    ("蒙古", "meng3 gu3"),
    ("县长", "xian4 zhang3"),  # 长 zhang3 is still right when no number follows
    # citation tones of 一 and 不, even where pypinyin stores them sandhied
    ("一个", "yi1 ge4"),
    ("不是", "bu4 shi4"),
])
def test_citation_polyphones(text, expected):
    assert cited(text) == expected.split()


@pytest.mark.parametrize("text, expected", [
    ("单于", "chan2 yu2"), ("龟兹", "qiu1 ci2"), ("吐蕃", "tu3 bo1"), ("月氏", "rou4 zhi1"),
    ("大月氏", "da4 rou4 zhi1"), ("可汗", "ke4 han2"), ("尉迟", "yu4 chi2"), ("鄯善", "shan4 shan4"),
    ("大宛", "da4 yuan1"), ("身毒", "juan1 du2"), ("阏氏", "yan1 zhi1"), ("冒顿", "mo4 du2"),
    ("句践", "gou1 jian4"), ("万俟", "mo4 qi2"), ("吐谷浑", "tu3 yu4 hun2"), ("皋陶", "gao1 yao2"),
    ("簋", "gui3"), ("斝", "jia3"), ("甗", "yan3"), ("觯", "zhi4"), ("罍", "lei2"), ("瓿", "bu4"),
    ("耒耜", "lei3 si4"), ("纛", "dao4"), ("曾侯乙", "zeng1 hou2 yi3"), ("会稽", "kuai4 ji1"),
    ("西域都护", "xi1 yu4 du1 hu4"), ("青铜鬲", "qing1 tong2 li4"),
])
def test_lexicon_readings_win_over_pypinyin(text, expected):
    assert cited(text) == expected.split()


def test_per_occurrence_override_beats_lexicon():
    assert list(citation("单于", LEX, {0: "dan1", 1: "yu2"})) == ["dan1", "yu2"]
    # a pinned syllable inside a lexicon term blocks only that term, not its neighbours
    assert list(citation("龟兹单于", LEX, {0: "gui1"})) == ["gui1", "ci2", "chan2", "yu2"]


@pytest.mark.parametrize("text, expected", [
    # third tone
    ("展览", "zhan2 lan3"),
    ("展览馆", "zhan2 lan2 guan3"),
    ("我很好", "wo2 hen2 hao3"),
    ("古典", "gu2 dian3"),
    ("马", "ma3"),
    ("好的", "hao3 de5"),
    ("一九九八", "yi1 jiu2 jiu3 ba1"),
    # 一
    ("一个", "yi2 ge4"),
    ("一起", "yi4 qi3"),
    ("一天", "yi4 tian1"),
    ("一年", "yi4 nian2"),
    ("一", "yi1"),
    ("第一", "di4 yi1"),
    ("第一次", "di4 yi1 ci4"),
    ("统一六国", "tong3 yi1 liu4 guo2"),
    ("唯一的", "wei2 yi1 de5"),
    ("三分之一", "san1 fen1 zhi1 yi1"),
    ("十一月", "shi2 yi1 yue4"),
    ("十月一日", "shi2 yue4 yi1 ri4"),
    ("一号坑", "yi1 hao4 keng1"),
    ("一百", "yi4 bai3"),
    ("一千一百", "yi4 qian1 yi4 bai3"),
    ("一百零一", "yi4 bai3 ling2 yi1"),
    ("一万", "yi2 wan4"),
    ("看一看", "kan4 yi5 kan4"),
    # 不
    ("不是", "bu2 shi4"),
    ("不对", "bu2 dui4"),
    ("不好", "bu4 hao3"),
    ("不同", "bu4 tong2"),
    ("不", "bu4"),
    ("是不是", "shi4 bu5 shi4"),
])
def test_sandhi(text, expected):
    assert spoken(text) == expected.split()


def test_third_tone_respects_word_structure():
    # 老 + 保管 (one word): the inner pair changes first, so 老 meets bao2 and keeps tone 3.
    assert sandhi("老保管", ("lao3", "bao3", "guan3"), [(0, 1), (1, 3)]) == ("lao3", "bao2", "guan3")
    # 保管 + 好: the word changes inside, then its last syllable before 好.
    assert sandhi("保管好", ("bao3", "guan3", "hao3"), [(0, 2), (2, 3)]) == ("bao2", "guan2", "hao3")


def test_segment_keeps_lexicon_terms_and_override_spans_whole():
    assert segment("参观莫高窟", LEX)[-1] == (2, 5)
    assert (1, 3) in segment("看单于庭", LEX, spans=[(1, 3)])


@pytest.mark.parametrize("text, expected", [
    ("chan2 yu2", ("chan2", "yu2")), ("Chan2  YU2", ("chan2", "yu2")), ("chán yú", ("chan2", "yu2")),
    ("nv3", ("nv3",)), ("nü3", ("nv3",)), ("lu:4", ("lv4",)), ("ma5", ("ma5",)), ("er2,zi5", ("er2", "zi5")),
])
def test_parse_syllables(text, expected):
    assert parse_syllables(text) == expected


@pytest.mark.parametrize("text, fix", [
    ("chan", "chan1"), ("chan0", "chan2"), ("chan6", "1–5"), ("xx2", "not a Mandarin syllable"),
    ("", "chan2 yu2"), ("2", "tone-numbered"),
])
def test_parse_syllables_rejects(text, fix):
    with pytest.raises(ValueError, match=fix):
        parse_syllables(text)


def test_valid_syllable_set_is_what_pypinyin_tone3_writes():
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_tone3

    from synthesis.syllables import _valid_bases

    expected = {to_tone3(r).rstrip("12345") for rs in PINYIN_DICT.values() for r in rs.split(",")}
    assert _valid_bases() == expected


def test_valid_syllables():
    assert is_valid_syllable("zhuang4") and is_valid_syllable("lve4") and is_valid_syllable("er5")
    assert not is_valid_syllable("zhuang") and not is_valid_syllable("bla1") and not is_valid_syllable("ma6")


# --- lexicon -------------------------------------------------------------------------

def test_shipped_lexicon_is_large_and_valid():
    assert len(LEX) >= 60
    assert LEX.lookup("单于") == ("chan2", "yu2")
    assert LEX.note("单于")
    assert Lexicon.default() is LEX  # parsed once
    for line in SHIPPED_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert len(line.split("\t")) == 3, line


def test_longest_match():
    assert LEX.match("大月氏人", 0) is None
    assert LEX.match("大月氏人", 1) == ("月氏", ("rou4", "zhi1"))
    assert LEX.match("吐谷浑人", 0) == ("吐谷浑", ("tu3", "yu4", "hun2"))
    assert LEX.match("吐蕃", 0) == ("吐蕃", ("tu3", "bo1"))
    assert LEX.match("长城", 0) is None


def test_caller_entry_beats_shipped_and_changes_version():
    mine = Lexicon({"单于": "dan1 yu2"})
    assert mine.lookup("单于") == ("dan1", "yu2")
    assert mine.version != LEX.version
    assert list(citation("单于", mine)) == ["dan1", "yu2"]
    again = Lexicon({"单于": "dan1 yu2"})
    assert again.version == mine.version  # stable: the same content gives the same hash
    assert Lexicon({"单于": "chan2 yu2"}).version == LEX.version  # same readings, same cache key
    assert len(Lexicon({"三星堆": "san1 xing1 dui1"})) == len(LEX) + 1
    assert len(LEX.version) == 12


@pytest.mark.parametrize("entries, fix", [
    ({"单于": "chan2"}, "one tone-numbered syllable per character"),
    ({"单于": "chan2 yq2"}, "not a Mandarin syllable"),
    ({"AB": "a1 b1"}, "Chinese characters only"),
    ({"": "a1"}, "Chinese characters only"),
])
def test_bad_caller_entries_are_rejected(entries, fix):
    with pytest.raises(LexiconError, match=fix):
        Lexicon(entries)


def test_bad_tsv_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "lex.tsv"
    bad.write_text("# header\n单于\tchan2 yu2\tok\n龟兹\tqiu1\tbad\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lex\.tsv:3: 龟兹 has 2 characters but 1 syllables"):
        Lexicon(path=bad)
    bad.write_text("单于\tchan2 yu2\n单于\tdan1 yu2\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="duplicate"):
        Lexicon(path=bad)


@pytest.mark.parametrize("text, char, expected", [
    ("长约三千公里", "长", "chang2"), ("船长十余米", "长", "chang2"), ("县长", "长", "zhang3"),
    ("保存得很好", "得", "de5"), ("看得太重", "得", "de5"), ("获得金奖", "得", "de2"),
    ("认真地研究", "地", "de5"), ("不停地转动", "地", "de5"), ("这块地很肥沃", "地", "di4"),
    ("土地", "地", "di4"),
    ("这只铜鹤", "只", "zhi1"), ("两只铜鹤", "只", "zhi1"), ("这只是仿品", "只", "zhi3"),
    ("他只有一件", "只", "zhi3"),
])
def test_grammar_rules(text, char, expected):
    assert cited(text)[text.index(char)] == expected
