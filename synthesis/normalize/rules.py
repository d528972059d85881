"""The rule engine: ordered regex rules, each claiming the stretch of text it reads.

A rule's match is claimed (and so hidden from every later rule and from wetext) only if it
overlaps nothing claimed before; a reader may decline a match by returning None. Claims are
positions in the text as written, so a rule's look-behind always sees the original context.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Rule:
    """``read`` turns a match into spoken Chinese, or None to leave it to later rules; it may
    return (spoken, name) to report a more precise rule name than ``name`` (score vs time).

    Only the pattern's group named ``claim`` is replaced when it has one (context words
    such as 编号 stay as they are); otherwise the whole match.
    """
    name: str
    pattern: re.Pattern
    read: Callable[[re.Match], str | tuple[str, str] | None]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    spoken: str
    rule: str


def apply_rules(rules: list[Rule], text: str) -> list[Span]:
    """Non-overlapping spans claimed by ``rules`` (tried in order), sorted by position."""
    claimed = bytearray(len(text))
    spans: list[Span] = []
    for rule in rules:
        has_claim_group = "claim" in rule.pattern.groupindex
        pos = 0
        while (m := rule.pattern.search(text, pos)) is not None:
            start, end = m.span("claim") if has_claim_group else m.span()
            spoken = None if start == end or any(claimed[start:end]) else rule.read(m)
            if spoken is None:
                pos = m.start() + 1
                continue
            spoken, name = spoken if isinstance(spoken, tuple) else (spoken, rule.name)
            claimed[start:end] = b"\x01" * (end - start)
            spans.append(Span(start, end, spoken, name))
            pos = max(m.end(), m.start() + 1)
    return sorted(spans, key=lambda s: s.start)
