"""Any text through the front end either analyses or raises ScriptError, never a traceback."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthesis.frontend import analyse
from synthesis.markup import ScriptError
from synthesis.syllables import has_reading, is_valid_syllable

# Han text with polyphones, markup characters and digits mixed into arbitrary Unicode.
_PIECES = st.sampled_from(list("长行重还了着地得的为中和乐藏朝传一不单于{}[]|0123456789，。 \n"))
_TEXT = st.lists(st.one_of(_PIECES, st.characters()), max_size=80).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_any_text_analyses_or_raises_script_error(text):
    try:
        script = analyse(text)
    except ScriptError as exc:
        assert exc.line >= 1 and exc.column >= 1
        return
    for clause in script.clauses:
        n = len(clause.normalized)
        assert all(has_reading(ch) for ch in clause.normalized)
        assert len(clause.pinyin) == len(clause.spoken) == len(clause.sources) == n
        assert all(is_valid_syllable(s) for s in clause.pinyin + clause.spoken)
        assert all(0 <= i < n for i, _ in clause.uncertain)
        assert sum(e - s for s, e in clause.words) == n


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_word_spans_cover_any_text_without_gaps(text):
    from synthesis.lexicon import Lexicon
    from synthesis.pinyin import segment

    spans = segment(text, Lexicon.default())  # best_cut segments raw transcript text
    assert [s for s, _ in spans] == [0] + [e for _, e in spans[:-1]] if text else spans == []
    assert (spans[-1][1] if spans else 0) == len(text)
    assert all(s < e for s, e in spans)
