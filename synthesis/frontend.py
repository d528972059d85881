"""Text front end: curator script → ``Script`` of clauses an engine can say in one breath.

markup.parse → transcript cut into pieces (punctuation, line breaks, emotion changes,
[pause] tags) → each piece normalised, reduced to speakable characters, given citation
pinyin and sandhi → ``Clause``. Pieces with nothing to say hand their pause to the clause
before them, so engines never receive empty clauses.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from synthesis.clause import Clause, Script
from synthesis.lexicon import Lexicon
from synthesis.markup import INTENSITY_RANGE, Markup, ScriptError, canonical_emotion, parse
from synthesis.normalize import normalize_with_trace
from synthesis.pinyin import read, segment
from synthesis.syllables import has_reading

# Bump whenever normalisation, pinyin or sandhi rules change what is spoken: it belongs in
# audio cache keys next to Lexicon.version.
FRONTEND_VERSION = "2"  # 2: wetext-based normaliser; polyphones by the g2pM model within jieba words

_SENTENCE = frozenset("。！？…!?")
_COMMA = frozenset("，、；：,;:")
_CLOSERS = frozenset("”’」』）》〉】)\"'")  # belong to the clause they close: 他说：“好。”
_SPACES = frozenset(" \t\u3000")
_KIND_ORDER = (None, "comma", "sentence", "paragraph")


@dataclass(frozen=True)
class PauseConfig:
    """Silence in milliseconds after a clause, by what ends it."""
    paragraph: int = 700  # a line break
    sentence: int = 400  # 。！？…
    comma: int = 200  # ，、；：

    def ms(self, kind: str | None) -> int:
        return getattr(self, kind) if kind else 0


def _break_kind(text: str, i: int) -> str | None:
    ch = text[i]
    if ch == "\n":
        return "paragraph"
    between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
    if ch == ".":  # ASCII full stop only ends a sentence when not part of 3.5 or No.1
        nxt = text[i + 1:i + 2]
        return None if nxt.isalnum() and nxt.isascii() else "sentence"
    if ch in _SENTENCE:
        return "sentence"
    if ch in _COMMA:
        return None if between_digits and ch in ",:：" else "comma"  # 12,000 and 14:30
    return None


def _stronger(a: str | None, b: str | None) -> str | None:
    return a if _KIND_ORDER.index(a) >= _KIND_ORDER.index(b) else b


def _silent(ch: str) -> bool:
    """Punctuation, spaces, control characters and emoji are skipped without a warning."""
    cat = unicodedata.category(ch)
    if cat[0] in "PZCM":  # M: variation selectors, keycap and other combining marks
        return True
    emoji_block = ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF or 0x2B00 <= ord(ch) <= 0x2BFF
    return cat in ("So", "Sk") and emoji_block  # Sk: the skin-tone modifiers 🏻…🏿


@dataclass
class _Spoken:
    chars: str = ""
    pinned: dict[int, str] = field(default_factory=dict)  # index in chars → override syllable
    spans: list[tuple[int, int]] = field(default_factory=list)  # override terms in chars
    unreadable: list[str] = field(default_factory=list)
    rewrites: list[tuple[str, str, str]] = field(default_factory=list)  # normaliser: (source, spoken, rule)


@dataclass
class _Piece:
    start: int
    end: int
    kind: str | None  # what ends it: paragraph / sentence / comma / None
    explicit_ms: int  # [pause] tags right after it
    emotion: str | None
    intensity: float | None


class _Analyser:
    def __init__(self, markup: Markup, lexicon: Lexicon, max_chars: int):
        self.m, self.text, self.lexicon, self.max_chars = markup, markup.transcript, lexicon, max_chars
        self.lead_ms = 0  # [pause] tags before any text; set by pieces()

    def pieces(self) -> list[_Piece]:
        text, cuts = self.text, {0: None, len(self.text): None}
        i = 0
        while i < len(text):
            kind = _break_kind(text, i)
            if not kind:
                i += 1
                continue
            j = i + 1  # swallow the whole run (。” or ……) up to and including one line break
            while text[j - 1] != "\n" and j < len(text) and (
                    _break_kind(text, j) or text[j] in _CLOSERS or text[j] in _SPACES):
                kind = _stronger(kind, _break_kind(text, j))
                j += 1
            cuts[j] = _stronger(cuts.get(j), kind)
            i = j
        for run in self.m.runs:
            cuts.setdefault(run.start, None)
        explicit: dict[int, int] = {}
        for pause in self.m.pauses:
            cuts.setdefault(pause.offset, None)
            explicit[pause.offset] = explicit.get(pause.offset, 0) + pause.ms
        self.lead_ms = explicit.get(0, 0)
        bounds = sorted(cuts)
        out = []
        for a, b in zip(bounds, bounds[1:]):
            run = next(r for r in self.m.runs if r.start <= a < r.end)
            out.append(_Piece(a, b, cuts[b], explicit.get(b, 0), run.emotion, run.intensity))
        return out

    def spoken(self, start: int, end: int) -> _Spoken:
        """Speakable characters of transcript[start:end], overrides pinned to their syllables."""
        result, pos = _Spoken(), start
        overrides = [o for o in self.m.overrides if start <= o.start and o.end <= end]
        for o in overrides + [None]:
            stop = o.start if o else end
            said, rewrites = normalize_with_trace(self.text[pos:stop], at=(self.line(pos), self.column(pos)))
            result.rewrites += rewrites
            for ch in said:
                if has_reading(ch):
                    result.chars += ch
                elif not _silent(ch) and ch not in result.unreadable:
                    result.unreadable.append(ch)
            if o:
                first = len(result.chars)
                result.pinned.update({first + k: s for k, s in enumerate(o.syllables)})
                result.chars += self.text[o.start:o.end]
                result.spans.append((first, len(result.chars)))
                pos = o.end
        return result

    def split_long(self, start: int, end: int) -> list[tuple[int, int]]:
        """Cut an unpunctuated stretch into pieces of at most max_chars spoken characters."""
        count = len(self.spoken(start, end).chars)
        if count <= self.max_chars:
            return [(start, end)]
        cut = self.best_cut(start, end, start + (end - start) // -(-count // self.max_chars))
        if cut is None:  # e.g. one enormous number: nothing safe to cut at
            return [(start, end)]
        return self.split_long(start, cut) + self.split_long(cut, end)

    def best_cut(self, start: int, end: int, target: int) -> int | None:
        text = self.text
        inside = {p for o in self.m.overrides for p in range(o.start + 1, o.end)}
        # Cut only between two Chinese characters (never inside 1998 or an override), and
        # preferably between words so a name like 莫高窟 is not torn apart.
        cands = [p for p in range(start + 1, end)
                 if has_reading(text[p - 1]) and has_reading(text[p]) and p not in inside]
        if not cands:
            return None
        words = segment(text[start:end], self.lexicon)
        inside |= {start + p for s, e in words for p in range(s + 1, e)}
        before = [p for p in cands if p <= target]
        between_words = [p for p in before if p not in inside]
        if between_words and between_words[-1] > target - 8:
            return between_words[-1]
        return before[-1] if before else cands[0]

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def column(self, offset: int) -> int:
        return offset - self.text.rfind("\n", 0, offset)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def analyse(script: str, *, lexicon: Lexicon | None = None, emotion: str = "neutral",
            intensity: float = 1.0, pauses: PauseConfig | None = None,
            max_clause_chars: int = 60) -> Script:
    """Parse, normalise and phoneticise a curator script; raise ScriptError on bad markup."""
    default_emotion = canonical_emotion(emotion)
    if default_emotion is None:
        raise ValueError(f"unknown emotion {emotion!r}; use one of the names in synthesis.clause.EMOTIONS")
    if not INTENSITY_RANGE[0] <= intensity <= INTENSITY_RANGE[1]:
        raise ValueError(f"intensity {intensity} out of range {INTENSITY_RANGE[0]}–{INTENSITY_RANGE[1]}")
    if max_clause_chars < 2:
        raise ValueError("max_clause_chars must be at least 2")
    lexicon = lexicon or Lexicon.default()
    pauses = pauses or PauseConfig()
    an = _Analyser(parse(script), lexicon, max_clause_chars)
    text = an.text
    clauses: list[dict] = []
    warnings: list[str] = []
    lead_ms = 0
    for piece in an.pieces():
        s, e = _strip(text, piece.start, piece.end)
        parts = an.split_long(s, e) if s < e else [(s, e)]
        for n, (a, b) in enumerate(parts):
            last = n == len(parts) - 1
            kind, explicit = (piece.kind, piece.explicit_ms) if last else (None, 0)
            spoken = an.spoken(a, b)
            if spoken.unreadable:
                warnings.append(f"第{an.line(a)}行「{text[a:b]}」无法朗读的字符: {' '.join(spoken.unreadable)}"
                                f"（已跳过 / skipped, cannot be spoken）")
            if not spoken.chars:  # nothing to say: its pause belongs to the clause before
                if clauses:
                    clauses[-1]["kind"] = _stronger(clauses[-1]["kind"], kind)
                    clauses[-1]["explicit"] += explicit
                else:
                    lead_ms += explicit
                continue
            reading = read(spoken.chars, lexicon, spoken.pinned, spoken.spans)
            clauses.append({
                "text": text[a:b], "normalized": spoken.chars, "reading": reading, "rewrites": tuple(spoken.rewrites),
                "emotion": piece.emotion or default_emotion,
                "intensity": piece.intensity if piece.emotion else float(intensity),
                "start": a, "end": b, "kind": kind, "explicit": explicit,
            })
    if not clauses:
        raise ScriptError(1, 1, "脚本里没有可以朗读的中文文字，请输入要朗读的内容 / the script has nothing "
                                "that can be read aloud; write some Chinese text")
    return Script(
        transcript=text,
        clauses=tuple(
            Clause(text=c["text"], normalized=c["normalized"], pinyin=c["reading"].cited,
                   spoken=c["reading"].spoken, emotion=c["emotion"], intensity=c["intensity"],
                   pause_ms=pauses.ms(c["kind"]) + c["explicit"], start=c["start"], end=c["end"],
                   sources=c["reading"].sources, uncertain=c["reading"].uncertain, words=c["reading"].words, rewrites=c["rewrites"])
            for c in clauses
        ),
        lead_pause_ms=an.lead_ms + lead_ms,
        warnings=tuple(warnings),
    )


def explain(script: str, **kwargs) -> list[dict]:
    """What each clause will say: Clause.explain() dicts, for the CLI and the editor preview."""
    return [clause.explain() for clause in analyse(script, **kwargs).clauses]
