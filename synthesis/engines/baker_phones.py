"""The bundled voice's input: tone-numbered pinyin and prosody marks -> Baker symbol ids.

Laid out exactly as TensorFlowTTS's ``BakerProcessor`` laid out the Databaker training
transcripts (see ``synthesis.prosody``). Imports: ``synthesis.prosody`` only.
"""
from __future__ import annotations

from collections.abc import Sequence

from synthesis.prosody import MARK_STRENGTH


def _stronger(a: str | None, b: str) -> str:
    return b if a is None or MARK_STRENGTH[b] >= MARK_STRENGTH[a] else a


class PhoneMapper:
    """Tone-numbered pinyin + boundary marks -> Baker symbol ids (initial + final-with-tone per
    syllable), laid out as TensorFlowTTS's BakerProcessor laid out the training transcripts."""

    def __init__(self, mapper: dict):
        self.symbol_to_id: dict[str, int] = mapper["symbol_to_id"]
        self.syllables: dict[str, list[str]] = mapper["pinyin_dict"]

    def phones(self, syllable: str) -> list[str] | None:
        base, tone = syllable[:-1], syllable[-1]
        if not tone.isdigit():
            base, tone = syllable, "5"
        base = base.replace("ü", "v").replace("u:", "v")
        if base in ("n", "ng", "m", "hm", "hng"):  # 嗯/呣 interjections
            base = "en"
        if base == "ê":
            base = "ei"
        if base not in self.syllables and base.endswith("r") and base[:-1] in self.syllables:
            initial, final = self.syllables[base[:-1]]
            return [initial, final + tone, "er5"]  # erhua as the corpus marks it
        if base not in self.syllables:
            return None
        initial, final = self.syllables[base]
        return [initial, final + tone]

    def encode(self, syllables: Sequence[str], marks: Sequence[str] | None = None
               ) -> tuple[list[int], list[tuple[int, int]], list[str]]:
        """ids for one sentence; per syllable the (first, last+1) id index; unsayable syllables.

        ``marks[i]`` is the boundary after syllable i (#0 when not given): ``sil``, then each
        syllable's phones with the mark between two syllables, ``sil``, ``eos``. A syllable's
        span takes in the #0/#1/#2 after it (the model's durations, learnt from attention
        alignments, put part of the syllable there) but not a #3, which is the comma pause.
        """
        symbols, spans, unknown = ["sil"], [], []
        pending: str | None = None  # the mark before the next sayable syllable
        said = -1  # index of the last syllable that has phones
        for i, syllable in enumerate(syllables):
            after = marks[i] if marks is not None and i < len(marks) else "#0"
            ph = self.phones(syllable)
            if ph is None:
                unknown.append(syllable)
                spans.append((len(symbols), len(symbols)))
                pending = _stronger(pending, after) if said >= 0 else None
                continue
            if pending is not None:
                symbols.append(pending)
                if pending != "#3":
                    spans[said] = (spans[said][0], len(symbols))
            start = len(symbols)
            symbols += ph
            spans.append((start, len(symbols)))
            pending, said = after, i
        symbols.append("sil")
        ids = [self.symbol_to_id[s] for s in symbols] + [self.symbol_to_id["eos"]]
        return ids, spans, unknown
