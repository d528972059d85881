"""The polyphone evaluation set (tests/data/polyphones.tsv) and ways to score readers on it."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from synthesis.frontend import analyse
from synthesis.syllables import has_reading

CASES_PATH = Path(__file__).resolve().parent / "data" / "polyphones.tsv"


@dataclass(frozen=True)
class Case:
    sentence: str
    index: int  # of the character in ``sentence``
    char: str
    expected: str
    category: str


def load_cases() -> list[Case]:
    cases = []
    for line in CASES_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            sentence, index, char, expected, category = line.split("\t")
            cases.append(Case(sentence, int(index), char, expected, category))
    return cases


def by_sentence(cases: Iterable[Case]) -> dict[str, list[Case]]:
    grouped: dict[str, list[Case]] = {}
    for case in cases:
        grouped.setdefault(case.sentence, []).append(case)
    return grouped


# A reader maps a sentence to {index in the sentence: citation syllable}.
Reader = Callable[[str], dict[int, str]]


def front_end_reader(sentence: str) -> dict[int, str]:
    """The project's front end, clause by clause, mapped back to sentence positions."""
    out = {}
    for clause in analyse(sentence).clauses:
        positions = [k for k in range(clause.start, clause.end) if has_reading(sentence[k])]
        if "".join(sentence[k] for k in positions) != clause.normalized:
            raise AssertionError(f"normalisation changed the characters of {clause.text!r}")
        out.update(zip(positions, clause.pinyin))
    return out


def score(reader: Reader, cases: list[Case]) -> list[tuple[Case, str]]:
    """(case, what the reader said) for every case."""
    said = []
    for sentence, group in by_sentence(cases).items():
        reading = reader(sentence)
        said += [(case, reading.get(case.index, "?")) for case in group]
    return said


def accuracy(results: list[tuple[Case, str]]) -> float:
    return sum(case.expected == got for case, got in results) / len(results)
