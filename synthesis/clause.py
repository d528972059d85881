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
    # Per character of ``normalized``: what decided its reading — "override", "lexicon",
    # "museum lexicon", "model" (the polyphone model) or "dictionary" (pypinyin).
    sources: tuple[str, ...] = ()
    # (index in ``normalized``, other readings) where the polyphone model and pypinyin (a phrase
    # or the character's usual reading) disagreed: ``pinyin`` holds the winner, the listed
    # readings lost, the other side's first. A curator confirms or pins them.
    uncertain: tuple[tuple[int, tuple[str, ...]], ...] = ()
    words: tuple[tuple[int, int], ...] = ()  # word spans [start, end) over ``normalized``, from the front end's segmentation
    # What the text normaliser rewrote, in text order: (source text, spoken text, rule name),
    # the rule being a museum rule ("year", "score", ...) or "wetext".
    rewrites: tuple[tuple[str, str, str], ...] = ()

    def explain(self) -> dict:
        # "decided": every reading that the model, a lexicon or an override gave, so a curator
        # sees what did not simply come from the dictionary.
        return {
            "text": self.text,
            "normalized": self.normalized,
            "pinyin": list(self.pinyin),
            "emotion": self.emotion,
            "intensity": self.intensity,
            "pause_ms": self.pause_ms,
            "words": [self.normalized[s:e] for s, e in self.words],
            "rewrites": [{"text": text, "spoken": spoken, "rule": rule} for text, spoken, rule in self.rewrites],
            "decided": [{"index": i, "char": self.normalized[i], "pinyin": self.pinyin[i], "source": src}
                        for i, src in enumerate(self.sources) if src != "dictionary"],
            "uncertain": [{"index": i, "char": self.normalized[i], "pinyin": self.pinyin[i],
                           "alternatives": list(alternatives)} for i, alternatives in self.uncertain],
        }


@dataclass(frozen=True)
class Script:
    transcript: str  # the script without markup, as a visitor reads it
    clauses: tuple[Clause, ...]
    lead_pause_ms: int = 0  # a [pause] before any speech
    warnings: tuple[str, ...] = field(default_factory=tuple)
