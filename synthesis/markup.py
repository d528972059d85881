"""The bracket markup a curator types into a narration script.

    [happy]…[/happy]   [sad 0.6]…[/sad]   emotion span, optional intensity 0.1–2.0;
                       Chinese names work too: [悲伤 0.6]…[/悲伤]. Spans nest; inner wins.
    [pause 800ms]      [停顿 0.8s]  [停顿 800毫秒]  silence, 0–10 s.
    {单于|chan2 yu2}   this occurrence is read as given (one syllable per character).
    [[ ]] {{ }}        a literal bracket or brace.

Half-width [ ] { } are always markup. Full-width 【】［］｛｝ are ordinary text (punctuation,
never spoken): curators use 【】 in titles, and making it markup would break those scripts.
Every error is a ``ScriptError`` naming line, column and what to write instead, in Chinese
first (the curators' language) then English.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from synthesis.clause import EMOTIONS
from synthesis.syllables import has_reading, parse_syllables

EMOTION_ALIASES: dict[str, str] = {
    **{name: name for name in EMOTIONS},
    "平静": "neutral", "喜悦": "happy", "悲伤": "sad", "愤怒": "angry",
    "恐惧": "fear", "惊讶": "surprise", "厌恶": "disgust",
}
PAUSE_NAMES = ("pause", "停顿")
MAX_PAUSE_MS = 10_000
INTENSITY_RANGE = (0.1, 2.0)

_HINT = "[happy]…[/happy]、[sad 0.6]…[/sad]、[pause 800ms]、{单于|chan2 yu2}"
_PAUSE_VALUE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|毫秒|秒)", re.IGNORECASE)
_TAG_WORD = re.compile(r"([A-Za-z]+|[^\sA-Za-z\d.]+)\s*(.*)", re.DOTALL)


class ScriptError(ValueError):
    """A mistake in the script markup, located by 1-based line and column."""

    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(f"第{line}行第{column}列: {message}")


@dataclass(frozen=True)
class EmotionRun:
    """[start, end) of the transcript spoken with one emotion; None = the script default."""
    start: int
    end: int
    emotion: str | None
    intensity: float | None


@dataclass(frozen=True)
class Pause:
    offset: int  # transcript offset the silence sits at
    ms: int


@dataclass(frozen=True)
class Override:
    start: int
    end: int
    syllables: tuple[str, ...]


@dataclass(frozen=True)
class Markup:
    transcript: str
    runs: tuple[EmotionRun, ...]  # cover the whole transcript, in order
    pauses: tuple[Pause, ...]
    overrides: tuple[Override, ...]


def canonical_emotion(name: str) -> str | None:
    return EMOTION_ALIASES.get(name.strip().lower())


@dataclass
class _Open:
    word: str  # as the curator typed it, for messages
    emotion: str
    intensity: float
    line: int
    column: int


class _Parser:
    def __init__(self, source: str):
        self.src = source.replace("\r\n", "\n").replace("\r", "\n")
        self.out: list[str] = []
        self.length = 0  # len("".join(self.out)), kept to avoid re-joining
        self.stack: list[_Open] = []
        self.runs: list[EmotionRun] = []
        self.pauses: list[Pause] = []
        self.overrides: list[Override] = []

    def locate(self, pos: int) -> tuple[int, int]:
        line = self.src.count("\n", 0, pos) + 1
        return line, pos - (self.src.rfind("\n", 0, pos) + 1) + 1

    def error(self, pos: int, message: str) -> ScriptError:
        return ScriptError(*self.locate(pos), message)

    def emit(self, text: str) -> None:
        if not text:
            return
        top = self.stack[-1] if self.stack else None
        emotion, intensity = (top.emotion, top.intensity) if top else (None, None)
        last = self.runs[-1] if self.runs else None
        if last and last.end == self.length and (last.emotion, last.intensity) == (emotion, intensity):
            self.runs[-1] = EmotionRun(last.start, self.length + len(text), emotion, intensity)
        else:
            self.runs.append(EmotionRun(self.length, self.length + len(text), emotion, intensity))
        self.out.append(text)
        self.length += len(text)

    def parse(self) -> Markup:
        src, i = self.src, 0
        while i < len(src):
            ch = src[i]
            if ch in "[]{}" and src[i + 1:i + 2] == ch:
                self.emit(ch)  # doubled bracket: a literal one
                i += 2
            elif ch == "[":
                i = self.tag(i)
            elif ch == "{":
                i = self.override(i)
            elif ch in "]}":
                raise self.error(i, f"多余的 {ch}，删除它或写成 {ch}{ch} 表示字面符号 / stray {ch}; "
                                    f"remove it or write {ch}{ch} for a literal {ch}")
            else:
                j = i
                while j < len(src) and src[j] not in "[]{}":
                    j += 1
                self.emit(src[i:j])
                i = j
        if self.stack:
            top = self.stack[-1]
            raise ScriptError(top.line, top.column,
                              f"[{top.word}] 没有结束标记，请在情感结束处写 [/{top.word}] / "
                              f"unclosed [{top.word}]; add [/{top.word}] where it should end")
        return Markup("".join(self.out), tuple(self.runs), tuple(self.pauses), tuple(self.overrides))

    def closing(self, pos: int, opener: str, closer: str, what: str) -> int:
        """Index of ``closer`` ending the markup opened at ``pos``, on the same line."""
        end = pos + 1
        while end < len(self.src) and self.src[end] not in "\n" + opener + closer:
            end += 1
        if end >= len(self.src) or self.src[end] != closer:
            raise self.error(pos, f"{opener} 没有配对的 {closer}，请写成 {what}（若要字面符号写 {opener}{opener}） / "
                                  f"{opener} is never closed on this line; write {what} "
                                  f"(or {opener}{opener} for a literal {opener})")
        return end

    def tag(self, pos: int) -> int:
        end = self.closing(pos, "[", "]", _HINT)
        body = self.src[pos + 1:end].strip()
        if body.startswith("/"):
            self.close_emotion(pos, body[1:].strip())
            return end + 1
        m = _TAG_WORD.fullmatch(body)
        word, arg = (m.group(1), m.group(2).strip()) if m else (body, "")
        if word.lower() in PAUSE_NAMES:
            self.pause(pos, body, arg)
        elif canonical_emotion(word):
            self.open_emotion(pos, word, arg)
        else:
            raise self.error(pos, self.unknown(body))
        return end + 1

    def unknown(self, body: str) -> str:
        names = list(EMOTION_ALIASES) + list(PAUSE_NAMES)
        slash = "/" if body.startswith("/") else ""
        close = difflib.get_close_matches(body.lstrip("/").split(" ")[0].lower(), names, n=1)
        zh_guess = f"，是不是想写 [{slash}{close[0]}]？" if close else "；"
        en_guess = f" (did you mean [{slash}{close[0]}]?)" if close else ""
        return (f"未知标记 [{body}]{zh_guess}可用写法：{_HINT}；情感名：{'、'.join(EMOTION_ALIASES)} / "
                f"unknown tag [{body}]{en_guess}; write one of {_HINT}")

    def open_emotion(self, pos: int, word: str, arg: str) -> None:
        intensity = 1.0
        if arg:
            low, high = INTENSITY_RANGE
            try:
                intensity = float(arg)
            except ValueError:
                intensity = float("nan")
            if not low <= intensity <= high:  # also rejects nan
                raise self.error(pos, f"强度 {arg} 无效，应为 {low}–{high} 之间的数字，例如 [{word} 0.6] / "
                                      f"bad intensity {arg!r}; write a number from {low} to {high}, "
                                      f"e.g. [{word} 0.6]")
        self.stack.append(_Open(word, canonical_emotion(word), round(intensity, 3), *self.locate(pos)))

    def close_emotion(self, pos: int, word: str) -> None:
        emotion = canonical_emotion(word)
        if emotion is None:
            raise self.error(pos, self.unknown("/" + word))
        if not self.stack:
            raise self.error(pos, f"[/{word}] 前面没有对应的 [{word}]，请删除它或在前面加 [{word}] / "
                                  f"[/{word}] closes nothing; remove it or add [{word}] before the text")
        top = self.stack[-1]
        if emotion != top.emotion:
            raise self.error(pos, f"[/{word}] 与第{top.line}行第{top.column}列打开的 [{top.word}] 不匹配，"
                                  f"请先写 [/{top.word}] / [/{word}] does not match [{top.word}] opened at "
                                  f"line {top.line} column {top.column}; write [/{top.word}] first")
        self.stack.pop()

    def pause(self, pos: int, body: str, arg: str) -> None:
        m = _PAUSE_VALUE.fullmatch(arg)
        fix = "[pause 800ms]、[停顿 0.8s]"
        if not m:
            raise self.error(pos, f"停顿 [{body}] 需要时长和单位（ms/s/毫秒/秒），例如 {fix} / "
                                  f"pause [{body}] needs a length with a unit, e.g. {fix}")
        value, unit = float(m.group(1)), m.group(2).lower()
        ms = round(value if unit in ("ms", "毫秒") else value * 1000)
        if ms > MAX_PAUSE_MS:
            raise self.error(pos, f"停顿 {arg} 太长，最长 10 秒；更长的静音请分成几段 / "
                                  f"pause {arg} is longer than 10 s; use several shorter pauses, e.g. {fix}")
        self.pauses.append(Pause(self.length, ms))

    def override(self, pos: int) -> int:
        example = "{单于|chan2 yu2}"
        end = self.closing(pos, "{", "}", example)
        body = self.src[pos + 1:end]
        if "[" in body or "]" in body:
            raise self.error(pos, f"读音标注内不能有标记，请写成 {example} / no tags inside "
                                  f"{{…}}; write {example}")
        term, bar, reading = body.partition("|")
        term = term.strip()
        if not bar:
            raise self.error(pos, f"读音标注缺少 |，请写成 {{词语|拼音}}，例如 {example} / "
                                  f"missing | in {{{body}}}; write e.g. {example}")
        if not term or not all(has_reading(ch) for ch in term):
            raise self.error(pos, f"读音标注的词语必须全是汉字：{{{body}}}，例如 {example} / the term in "
                                  f"{{{body}}} must be Chinese characters only, e.g. {example}")
        try:
            syllables = parse_syllables(reading)
        except ValueError as exc:
            raise self.error(pos + 1 + body.index("|") + 1,
                             f"拼音有误：{exc}；请用带声调数字的拼音，例如 {example} / bad pinyin: {exc}; "
                             f"write e.g. {example}") from None
        if len(syllables) != len(term):
            raise self.error(pos, f"“{term}”有 {len(term)} 个字，但给了 {len(syllables)} 个音节；每个字一个音节，"
                                  f"例如 {example} / {term} has {len(term)} characters but "
                                  f"{len(syllables)} syllables; give one per character")
        start = self.length
        self.emit(term)
        self.overrides.append(Override(start, self.length, syllables))
        return end + 1


def parse(source: str) -> Markup:
    """Parse curator markup; raise ScriptError on the first mistake."""
    return _Parser(source).parse()
