"""Any Unicode string either normalises or raises ScriptError with a line and column."""
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from synthesis.frontend import analyse
from synthesis.markup import ScriptError
from synthesis.normalize import normalize, normalize_with_trace

# Text that looks like museum copy: digits, units, signs and CJK, mixed with anything at all.
_PIECES = st.sampled_from(list("0123456789０１２-—~～:：/.,%‰℃°¥$€£+=×÷−½²年月日第约距今公元前世纪编号电话比分 ")
                          + ["km", "ms", "kg", "HK$", "No.", "\n", "\x00", "\u200b", "\ufeff", "9" * 40])
_TEXT = st.one_of(st.text(), st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=40).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
@example("")
@example("9" * 5000)
@example("1" + "0" * 400 + "年")
@example("-" * 50 + "1")
@example("\ud800")
@example("第\ud83d3")
def test_normalize_reads_every_digit_or_raises_script_error(text):
    try:
        spoken, trace = normalize_with_trace(text)
    except ScriptError as error:
        assert error.line >= 1 and error.column >= 1
        return
    assert not re.search(r"[0-9]", spoken), spoken  # no digit is left to be skipped unspoken
    assert normalize(text) == spoken  # deterministic
    for source, said, rule in trace:
        assert rule and (source or said)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
@example("第\ud83d3")
@example("价格¥3\ud800")
def test_front_end_analyses_any_text_or_raises_script_error(text):
    try:
        script = analyse(text)
    except ScriptError as error:
        assert error.line >= 1 and error.column >= 1
        return
    assert script.clauses


@pytest.mark.parametrize("text, line, column", [("甲\n乙3\udc00", 5, 3), ("甲乙\ud800", 4, 9)])
def test_lone_surrogate_is_located(text, line, column):
    with pytest.raises(ScriptError) as error:
        normalize(text, at=(4, 7))  # the text starts at line 4, column 7 of the script
    assert (error.value.line, error.value.column) == (line, column)
