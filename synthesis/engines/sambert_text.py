"""Text and symbol side of the Sambert adapter: clauses -> sentences -> ttsfrd symbols with emotion.

Pure string work, kept apart from the engine (``sambert.py``) so it runs and is tested
everywhere, while the engine needs ModelScope. What each step mirrors in ModelScope/KAN-TTS:

* ``symbol_lines`` — ``SambertHifigan.forward`` (modelscope/models/audio/tts/sambert_hifi.py):
  ``gen_tacotron_symbols(text)`` returns one line per sentence, ``index<TAB>symbols``; empty
  lines are dropped and ``line.strip().split('\\t')[1]`` goes to ``Voice.forward``.
* A symbol is ``{sy$tone$syllable_flag$word_segment$emo_category$speaker_category}``: one
  ``$`` field per entry of the voice's ``linguistic_unit.lfeat_type_list``, in that order
  (``KanTtsLinguisticUnit.encode_symbol_sequence``, kantts/utils/ling_unit/ling_unit.py).
* Emotion names are KAN-TTS's ``emotion_types`` (kantts/utils/ling_unit/emotion_types.py);
  ttsfrd writes ``emotion_neutral`` on phones and ``emotion_none`` on prosody marks (#1–#4),
  so only fields that are not ``emotion_none`` are rewritten.
* Syllables: a phone whose ``syllable_flag`` is ``s_begin`` or ``s_both`` starts one
  (``ch_syllable_flags``: s_begin, s_end, s_none, s_both, s_middle).

Python 3.8+ only (the Sambert worker runs on 3.10): no 3.9+ syntax or library calls.
"""
from __future__ import annotations

import bisect
import re
from typing import List, Optional, Sequence, Tuple

from synthesis.clause import EMOTIONS, Clause
from synthesis.frontend import PauseConfig

# our emotion -> KAN-TTS emotion type (all seven exist in kantts' emotion_types)
EMOTION_TYPE = {e: f"emotion_{e}" for e in EMOTIONS}
NO_EMOTION = "emotion_none"  # what ttsfrd writes on prosody marks; left alone
SYLLABLE_STARTS = ("s_begin", "s_both")
# default field order of the zh-cn voices' am/config.yaml linguistic_unit.lfeat_type_list
DEFAULT_LFEAT_TYPES = ("sy", "tone", "syllable_flag", "word_segment", "emo_category", "speaker_category")

SENTENCE_END = "。！？…"  # where a sentence (one ttsfrd call, one intonation contour) ends
PAUSE = "，、：；"  # pauses inside a sentence
PUNCT = SENTENCE_END + PAUSE
SENTENCE_PAUSE_MS = PauseConfig().sentence  # a pause this long or longer ends a sentence
_ASCII_PUNCT = {",": "，", "!": "！", "?": "？", ";": "；", ":": "：", ".": "。"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def speakable_text(clause: Clause) -> str:
    """``clause.normalized`` with the clause's punctuation put back (ttsfrd phrases by it).

    Our normalisation decides how digits, dates and units are read (the transcript promises
    it), so the front end gets Chinese characters only, aligned back onto the clause's text to
    recover its punctuation; when the alignment fails, the clause-final punctuation is kept.
    """
    text, norm = clause.text, clause.normalized
    ending = ""
    for ch in map(lambda c: _ASCII_PUNCT.get(c, c), reversed(text)):
        if _CJK.match(ch) or ch.isalnum():
            break
        ending = ch + ending if ch in PUNCT else ending
    fallback = norm + ending if norm else ""
    out: List[str] = []
    j = 0
    run: List[str] = []  # a stretch of digits/Latin/symbols whose reading lies in norm[j:k]

    def close_run(k: int) -> None:
        # the run's reading, then only the punctuation after its last non-punctuation char:
        # "1,000" keeps no comma, "3件，" keeps the pause
        tail = []
        for ch in reversed(run):
            if ch not in PUNCT:
                break
            tail.append(ch)
        out.append(norm[j:k])
        out.extend(reversed(tail))
        run.clear()

    for ch in text:
        ch = _ASCII_PUNCT.get(ch, ch)
        if _CJK.match(ch):
            if run:
                k = norm.find(ch, j)
                if k < 0:
                    return fallback
                close_run(k)
                j = k
            if j >= len(norm) or norm[j] != ch:
                return fallback  # text and normalized disagree: trust our reading
            out.append(ch)
            j += 1
        elif ch in PUNCT and not run:
            out.append(ch)
        else:
            run.append(ch)
    if run:
        close_run(len(norm))
        j = len(norm)
    result = "".join(out)
    return result if j == len(norm) else fallback


def sentence_text(clause: Clause) -> str:
    """What the front end reads for this clause: ``speakable_text`` ending in punctuation.

    A clause can end without punctuation while a pause follows it: the comma lay outside an
    emotion span (``[happy]…[/happy]，``), or a line break or [pause] tag follows. The
    pause stands for the missing mark, so ttsfrd gets ，(phrase break) for a short one and
    。(sentence end) from SENTENCE_PAUSE_MS on. No pause: the clause runs on into the next.
    """
    text = speakable_text(clause)
    if not text or text[-1] in PUNCT or clause.pause_ms <= 0:
        return text
    return text + ("。" if clause.pause_ms >= SENTENCE_PAUSE_MS else "，")


def sentences(clauses: Sequence[Clause]) -> List[List[int]]:
    """Clause indices grouped into sentences, each said in one front-end call.

    A comma clause or an emotion change inside a sentence must not get sentence-final
    intonation, so clauses join until one's ``sentence_text`` ends with 。！？….
    """
    groups: List[List[int]] = []
    current: List[int] = []
    for i, clause in enumerate(clauses):
        current.append(i)
        if sentence_text(clause)[-1:] in tuple(SENTENCE_END):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def symbol_lines(result: str) -> List[str]:
    """The symbol strings of ``gen_tacotron_symbols`` output, as ``SambertHifigan.forward`` reads it."""
    lines = []
    for line in (s for s in result.splitlines() if s != ""):
        fields = line.strip().split("\t")
        if len(fields) < 2:
            raise ValueError(f"front-end line without index<TAB>symbols: {line[:80]!r}")
        lines.append(fields[1])
    return lines


def _fields(symbol: str) -> List[str]:
    if not (symbol.startswith("{") and symbol.endswith("}")):
        raise ValueError(f"not a ttsfrd symbol: {symbol[:80]!r}")
    return symbol[1:-1].split("$")


def syllable_count(line: str, flag_field: int = 2) -> int:
    return sum(1 for s in line.split() if _fields(s)[flag_field] in SYLLABLE_STARTS)


def syllable_midpoints(line: str, flag_field: int = 2) -> List[float]:
    """Where the gap after each syllable lies, as a fraction of the line's duration (last: 1.0).

    Entry j is the middle of the gap between syllable j and j+1, counting each syllable and
    each #3 phrase break (where the model pauses) as one unit of time: a rough duration
    model, good enough to start a search for the quiet spot between two syllables.
    """
    starts, units = [], 0
    for symbol in line.split():
        fields = _fields(symbol)
        if fields[flag_field] in SYLLABLE_STARTS:
            starts.append(units)
            units += 1
        elif fields[0] == "#3":
            units += 1
    inner = [(starts[j] + 1 + starts[j + 1]) / 2 / units for j in range(len(starts) - 1)]
    return inner + [1.0] if starts else []


def rewrite_emotions(
    lines: Sequence[str],
    spans: Sequence[Tuple[int, str]],
    emo_field: Optional[int] = 4,
    flag_field: int = 2,
) -> Tuple[List[str], List[int]]:
    """Put each span's emotion type into the emotion field of its symbols.

    ``spans``: (characters, emotion type) per clause, in order. Syllable k belongs to the
    clause holding character k; when the front end's syllables and our characters differ in
    number (erhua merges 儿 into the syllable before it), proportionally. Prosody marks follow
    the syllable before them. ``emo_field`` None: the voice has no emotion input, only count.
    Returns the rewritten lines and the syllables per span.
    """
    bounds: List[int] = []  # cumulative character counts: span i holds [bounds[i-1], bounds[i])
    for chars, _ in spans:
        bounds.append((bounds[-1] if bounds else 0) + chars)
    total_chars = bounds[-1] if bounds else 0
    total_syllables = sum(syllable_count(line, flag_field) for line in lines)
    per_span = [0] * len(spans)
    syllable, span = -1, 0
    out = []
    for line in lines:
        symbols = []
        for symbol in line.split():
            fields = _fields(symbol)
            if fields[flag_field] in SYLLABLE_STARTS:
                syllable += 1
                char = syllable if total_syllables == total_chars else syllable * total_chars // total_syllables
                span = min(bisect.bisect_right(bounds, char), len(spans) - 1)
                per_span[span] += 1
            if spans and emo_field is not None and fields[emo_field] != NO_EMOTION:
                fields[emo_field] = spans[span][1]
            symbols.append("{" + "$".join(fields) + "}")
        out.append(" ".join(symbols))
    return out, per_span
