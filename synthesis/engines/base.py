"""The one small interface every speech engine implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from synthesis.clause import Clause


class EngineUnavailable(RuntimeError):
    """The engine cannot load here; the message says what is missing and how to fix it."""


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    description: str
    sample_rate: int
    emotions: tuple[str, ...]


@dataclass
class ClauseAudio:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    # (start_s, end_s) per character of clause.normalized, relative to the start of samples;
    # None when the engine cannot tell.
    char_times: list[tuple[float, float]] | None = None
    warnings: list[str] = field(default_factory=list)
    # True when these samples run straight on into the next clause's (both cut from one
    # sentence's audio, the model's own pause between them): the pipeline inserts no silence,
    # trims nothing and fades nothing at that join.
    joined: bool = False


class Engine(ABC):
    name: str = ""
    model_version: str = ""  # goes into every cache key: change it when output changes
    sample_rate: int = 0
    default_voice: str = ""

    @classmethod
    @abstractmethod
    def load(cls, **options) -> "Engine":
        """Load models once; raise EngineUnavailable with a fix-it message if impossible."""

    @abstractmethod
    def voices(self) -> list[VoiceInfo]: ...

    @abstractmethod
    def synthesize(self, clauses: Iterable[Clause], voice: str, speed: float = 1.0) -> Iterator[ClauseAudio]:
        """Yield one ClauseAudio per clause, in order (a generator, so long scripts stream)."""

    def synthesize_sentences(self, sentences: Iterable[Sequence[Clause]], voice: str,
                             speed: float = 1.0) -> Iterator[ClauseAudio]:
        """Yield one ClauseAudio per clause of each sentence, in order.

        A sentence is clauses the pipeline would separate by nothing but a comma pause
        (``synthesis.prosody.sentences``). An engine that can say one in a breath overrides
        this and marks the clauses it joined (``ClauseAudio.joined``); by default each clause is
        said on its own and the pipeline inserts the pauses between them.
        """
        return self.synthesize((clause for sentence in sentences for clause in sentence), voice, speed)

    def check_voice(self, voice: str) -> str:
        voice = voice or self.default_voice
        names = [v.name for v in self.voices()]
        if voice not in names:
            raise ValueError(f"unknown voice {voice!r} for engine {self.name}; choose one of: {', '.join(names)}")
        return voice
