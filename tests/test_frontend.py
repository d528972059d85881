"""The whole front end: script → Script of clauses with offsets, pauses, emotions, pinyin."""
import pytest

from synthesis.clause import Clause
from synthesis.frontend import FRONTEND_VERSION, PauseConfig, analyse, explain
from synthesis.lexicon import Lexicon
from synthesis.markup import ScriptError
from synthesis.syllables import has_reading


def check_invariants(script):
    previous_end = 0
    for c in script.clauses:
        assert script.transcript[c.start:c.end] == c.text
        assert previous_end <= c.start < c.end
        previous_end = c.end
        assert c.normalized and all(has_reading(ch) for ch in c.normalized)
        assert len(c.pinyin) == len(c.spoken) == len(c.normalized)
        assert all(s[-1] in "12345" for s in c.pinyin + c.spoken)
        assert c.text == c.text.strip()


def test_explain_great_wall():
    assert explain("长城") == [{
        "text": "长城", "normalized": "长城", "pinyin": ["chang2", "cheng2"],
        "emotion": "neutral", "intensity": 1.0, "pause_ms": 0, "words": ["长城"], "rewrites": [],
        "decided": [{"index": 0, "char": "长", "pinyin": "chang2", "source": "model"}], "uncertain": [],
    }]


def test_clause_built_without_the_new_fields_still_explains():
    clause = Clause(text="好", normalized="好", pinyin=("hao3",), spoken=("hao3",))
    assert (clause.sources, clause.uncertain, clause.words) == ((), (), ())
    assert clause.explain()["decided"] == [] and clause.explain()["words"] == []
    assert clause.rewrites == () and clause.explain()["rewrites"] == []


def test_clause_records_what_the_normaliser_rewrote_and_by_which_rule():
    (first, second) = analyse("高1.33米，始建于1974年。").clauses
    assert first.rewrites == (("1.33", "一点三三", "wetext"),)  # 米 is already Chinese: a plain number
    assert second.rewrites == (("1974年", "一九七四年", "year"),)
    assert explain("比分17:16。")[0]["rewrites"] == [{"text": "17:16", "spoken": "十七比十六", "rule": "score"}]


def test_cli_report_names_normaliser_rules_and_sources(capsys):
    from synthesis.__main__ import main

    assert main(["explain", "--report", "全长50kg，收藏于1974年。"]) == 0
    out = capsys.readouterr().out
    assert "50kg → 五十公斤  ← normaliser: unit" in out and "1974年 → 一九七四年  ← normaliser: year" in out
    assert "← museum lexicon" in out


def test_transcript_removes_markup_and_keeps_line_breaks():
    s = analyse("[pause 300ms]【导览】\n[happy]欢迎来到{单于|chan2 yu2}庭！[/happy][停顿 1s]\n——\n再见。")
    assert s.transcript == "【导览】\n欢迎来到单于庭！\n——\n再见。"
    assert s.lead_pause_ms == 300
    assert [(c.text, c.emotion, c.pause_ms) for c in s.clauses] == [
        ("【导览】", "neutral", 700),
        ("欢迎来到单于庭！", "happy", 700 + 1000),  # line break after ！, plus the tag; —— merged in
        ("再见。", "neutral", 400),
    ]
    assert s.clauses[1].pinyin[4:6] == ("chan2", "yu2")
    check_invariants(s)


def test_clause_fields_and_pause_kinds():
    s = analyse("公元前221年，秦统一六国。展览、讲座：1998年\n馆藏")
    assert [(c.text, c.normalized, c.pause_ms) for c in s.clauses] == [
        ("公元前221年，", "公元前二百二十一年", 200),
        ("秦统一六国。", "秦统一六国", 400),
        ("展览、", "展览", 200),
        ("讲座：", "讲座", 200),
        ("1998年", "一九九八年", 700),
        ("馆藏", "馆藏", 0),
    ]
    assert s.clauses[2].pinyin == ("zhan3", "lan3") and s.clauses[2].spoken == ("zhan2", "lan3")
    assert s.clauses[4].spoken == ("yi1", "jiu2", "jiu3", "ba1", "nian2")
    check_invariants(s)


def test_custom_pause_config_and_explicit_pauses_add_up():
    cfg = PauseConfig(paragraph=1000, sentence=500, comma=100)
    s = analyse("甲，[pause 50ms]乙。[pause 2s][pause 1s]丙\n丁", pauses=cfg)
    assert [c.pause_ms for c in s.clauses] == [150, 3500, 1000, 0]


def test_pause_inside_a_phrase_splits_it_and_trailing_pause_counts():
    s = analyse("我们[pause 500ms]出发[pause 1s]")
    assert [(c.text, c.pause_ms) for c in s.clauses] == [("我们", 500), ("出发", 1000)]


def test_emotion_boundaries_split_clauses_and_carry_intensity():
    s = analyse("今天[sad 0.6]很遗憾[happy]也很高兴[/happy][/sad]结束", emotion="悲伤", intensity=0.8)
    assert [(c.text, c.emotion, c.intensity) for c in s.clauses] == [
        ("今天", "sad", 0.8), ("很遗憾", "sad", 0.6), ("也很高兴", "happy", 1.0), ("结束", "sad", 0.8),
    ]


def test_digits_punctuation_does_not_split_and_closers_stay_with_their_clause():
    s = analyse("共12,000件，14:30开馆。他说：“好。”然后")
    assert [c.text for c in s.clauses] == ["共12,000件，", "14:30开馆。", "他说：", "“好。”", "然后"]
    assert s.clauses[0].normalized == "共一万二千件"
    assert s.clauses[1].normalized == "十四点三十分开馆"


def test_600_unpunctuated_characters_are_split():
    text = "这件青铜器是商代晚期的重要礼器" * 40  # 600 characters, no punctuation
    s = analyse(text)
    assert len(text) == 600
    assert all(len(c.normalized) <= 60 for c in s.clauses)
    assert len(s.clauses) == 10
    assert "".join(c.normalized for c in s.clauses) == text
    assert [c.pause_ms for c in s.clauses] == [0] * 10
    check_invariants(s)


def test_long_split_avoids_cutting_a_lexicon_term():
    text = "我" * 53 + "莫高窟" + "我" * 106  # the even cut at 54 would fall inside 莫高窟
    s = analyse(text)
    assert [len(c.normalized) for c in s.clauses] == [53, 54, 55]
    assert s.clauses[1].text.startswith("莫高窟")


def test_small_max_clause_chars_and_numbers_are_never_cut():
    s = analyse("展厅里有12000件文物和很多人", max_clause_chars=5)
    assert all(len(c.normalized) <= 5 or any(ch.isdigit() for ch in c.text) for c in s.clauses)
    assert any("12000" in c.text for c in s.clauses)
    check_invariants(s)


def test_emoji_dropped_silently_and_latin_warned():
    s = analyse("欢迎😀光临👍🏽！")
    assert s.clauses[0].normalized == "欢迎光临" and s.warnings == ()
    s = analyse("ABC展厅。")
    assert s.clauses[0].normalized == "展厅"
    assert s.warnings == ("第1行「ABC展厅。」无法朗读的字符: A B C（已跳过 / skipped, cannot be spoken）",)


def test_units_are_not_warned():
    s = analyse("长约30cm，重2kg。")
    assert s.warnings == ()
    assert [c.normalized for c in s.clauses] == ["长约三十厘米", "重两公斤"]
    assert s.clauses[0].pinyin[0] == "chang2"


def test_unspeakable_pieces_merge_their_pause():
    s = analyse("——[pause 200ms]\n开始。\n……\nABC\n结束")
    assert s.lead_pause_ms == 200
    assert [(c.text, c.pause_ms) for c in s.clauses] == [("开始。", 700), ("结束", 0)]
    assert len(s.warnings) == 1 and s.warnings[0].startswith("第4行「ABC」")


@pytest.mark.parametrize("script", ["", "   \n", "。，！", "——", "[happy][/happy]", "[pause 1s]", "ABC"])
def test_nothing_to_say_is_a_script_error(script):
    with pytest.raises(ScriptError) as info:
        analyse(script)
    assert (info.value.line, info.value.column) == (1, 1)
    assert "write some Chinese text" in info.value.message


def test_markup_errors_propagate():
    with pytest.raises(ScriptError) as info:
        analyse("好\n[hapy]坏")
    assert (info.value.line, info.value.column) == (2, 1)


def test_lexicon_argument_and_polyphones_in_context():
    s = analyse("匈奴单于，长安城里的银行。")
    assert s.clauses[0].pinyin == ("xiong1", "nu2", "chan2", "yu2")
    assert s.clauses[1].pinyin == ("chang2", "an1", "cheng2", "li3", "de5", "yin2", "hang2")
    s = analyse("匈奴单于", lexicon=Lexicon({"单于": "dan1 yu2"}))
    assert s.clauses[0].pinyin == ("xiong1", "nu2", "dan1", "yu2")


def test_yi_and_bu_sandhi_in_context():
    s = analyse("第1个展厅不是一九九八年建的")
    assert s.clauses[0].normalized == "第一个展厅不是一九九八年建的"
    assert s.clauses[0].spoken[:7] == ("di4", "yi1", "ge4", "zhan3", "ting1", "bu2", "shi4")
    assert s.clauses[0].spoken[7] == "yi1"


@pytest.mark.parametrize("kwargs", [{"emotion": "joy"}, {"intensity": 3.0}, {"max_clause_chars": 1}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        analyse("好", **kwargs)


def test_frontend_version_is_a_string():
    assert isinstance(FRONTEND_VERSION, str) and FRONTEND_VERSION
