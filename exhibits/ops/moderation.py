"""Content moderation for everything that becomes public speech: API input and publishing.

    from exhibits.ops import moderation
    moderation.check(text)          # None, or raises moderation.ModerationError(term)

``settings.MODERATION_BACKEND`` is a dotted path to a callable ``check(text) -> None`` (raising
ModerationError) or to a class whose instances have such a ``check`` method; the default
matches the term list ``settings.MODERATION_TERMS`` (env MODERATION_TERMS, comma-separated).
A museum can plug in a vendor service without touching the callers.
"""
from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "exhibits.ops.moderation.TermListBackend"

# Markup is not spoken, so it must not hide a term ("坏[pause]词" is still said as 坏词).
_MARKUP = re.compile(r"\[[^\[\]\n]{0,40}\]|[{}|]")
_SPACE = re.compile(r"\s+")


class ModerationError(ValueError):
    """The text contains a rejected term; ``term`` names it (curators need to know what to fix)."""

    def __init__(self, term: str, message: str | None = None):
        self.term = term
        super().__init__(message or f"text contains a rejected term: {term!r}")


def normalize(text: str) -> str:
    """Fold width/case (ＡＢＣ = abc) and drop markup and whitespace before matching."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACE.sub("", _MARKUP.sub("", text)).casefold()


class TermListBackend:
    def __init__(self, terms=None):
        raw = getattr(settings, "MODERATION_TERMS", []) if terms is None else terms
        self.terms = [(term, normalize(term)) for term in raw if normalize(term)]

    def check(self, text: str) -> None:
        folded = normalize(text)
        for term, needle in self.terms:
            if needle in folded:
                raise ModerationError(term)


def backend():
    path = getattr(settings, "MODERATION_BACKEND", "") or DEFAULT_BACKEND
    target = import_string(path)
    return target() if isinstance(target, type) else target


def check(text: str) -> None:
    """Raise ModerationError(term) if ``text`` may not be spoken publicly."""
    checker = backend()
    (checker.check if hasattr(checker, "check") else checker)(text)
