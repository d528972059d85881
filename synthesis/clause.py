"""The unit of speech that flows from the text front end to an engine.

The front end (``synthesis.frontend``) turns a curator's script into a ``Script``: the
transcript a visitor reads (markup removed) plus ``Clause`` objects, each a stretch of text
with one emotion that an engine can say in one breath. Engines never see markup.
"""
from __future__ import annotations

from dataclasses import dataclass, field

EMOTIONS = ("neutral", "happy", "sad", "angry", "fear", "surprise", "disgust")


@dataclass(frozen=True)
class Clause:
    text: str  # transcript text of this clause, punctuation included, markup removed
    normalized: str  # what is spoken: Chinese characters only, after text normalisation
    pinyin: tuple[str, ...]  # citation-tone syllable per character of ``normalized``
    spoken: tuple[str, ...]  # the same after tone sandhi: what the voice should say
    emotion: str = "neutral"
    intensity: float = 1.0
    pause_ms: int = 0  # silence after this clause (punctuation pause + explicit [pause] tags)
    start: int = 0  # [start, end) offsets of ``text`` in ``Script.transcript``
    end: int = 0
    words: tuple[tuple[int, int], ...] = ()  # word spans [start, end) over ``normalized``, from the front end's segmentation

    def explain(self) -> dict:
        return {
            "text": self.text,
            "normalized": self.normalized,
            "pinyin": list(self.pinyin),
            "emotion": self.emotion,
            "intensity": self.intensity,
            "pause_ms": self.pause_ms,
        }


@dataclass(frozen=True)
class Script:
    transcript: str  # the script without markup, as a visitor reads it
    clauses: tuple[Clause, ...]
    lead_pause_ms: int = 0  # a [pause] before any speech
    warnings: tuple[str, ...] = field(default_factory=tuple)
