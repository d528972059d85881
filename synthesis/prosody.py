"""Prosodic structure for a sentence: which clauses are said in one breath, and the boundary
marks between their syllables, in the notation of the Databaker (标贝) corpus.

The bundled voice was trained on Databaker transcripts such as ``宝马#1配挂#1跛骡鞍#3，貂蝉#1怨枕#2董翁榻#4。``.
TensorFlowTTS's ``BakerProcessor`` turned them into ``sil b ao3 #0 m a3 #1 p ei4 … #3 d iao1 … t a4 sil``:
``#0`` between the syllables of a prosodic word, the mark itself at a boundary (never both),
punctuation dropped, ``#4`` dropped and ``sil`` only at the two edges of the sentence. This
module computes those marks from the front end's word segmentation (``Clause.words``):

- ``#3`` (intonational phrase) after a clause that ends in a comma, semicolon or colon;
  ``#2`` after a clause that the front end cut only because it was long.
- ``#1`` (prosodic word): Databaker's prosodic words are 2–4 syllables. Lexical words are
  merged into them: enclitics (的 了 们 …) join the word before; other monosyllables pair up with
  each other, and a monosyllable left over joins its shorter neighbour (the next one on a tie;
  never past 4 syllables). A word is never split, so a long name stays one prosodic word.
- ``#2`` (prosodic phrase): prosodic words are grouped left to right into phrases of about 4–8
  syllables. A phrase closes before a prosodic word that would take it past 8 syllables, or,
  once it has 4, before a word that opens a phrase (a preposition, conjunction or adverb such
  as 在 把 和 但 也 就); a final phrase under 3 syllables joins the one before.
- ``#0`` everywhere else.

Imports: ``synthesis.clause`` only.
"""
from __future__ import annotations

from collections.abc import Sequence

from synthesis.clause import Clause

# Attach to the word before them (particles, aspect markers, plural and locative suffixes).
ENCLITICS = frozenset("的地得了着过们吗呢吧啊呀么嘛里上中")
# A prosodic word starting with one of these may open a new prosodic phrase.
PHRASE_OPENERS = frozenset("在把被给和与跟同及从对向为以由于但而并且也都就才又还将要让使如当")
COMMA_ENDINGS = frozenset("，、；：,;:")
SENTENCE_ENDINGS = frozenset("。！？…!?.")
CLOSERS = frozenset("”’」』）》〉】)\"' \t\u3000\n")
PROSODIC_WORD_MAX = 4
PHRASE_MIN, PHRASE_MAX = 4, 8
MARK_STRENGTH = {"#0": 0, "#1": 1, "#2": 2, "#3": 3}


def ending(clause: Clause) -> str | None:
    """What punctuation ends the clause's text: "comma", "sentence" or None (no punctuation)."""
    text = clause.text.rstrip("".join(CLOSERS))
    if text and text[-1] in COMMA_ENDINGS:
        return "comma"
    if text and text[-1] in SENTENCE_ENDINGS:
        return "sentence"
    return None


def sentences(clauses: Sequence[Clause], comma_ms: int) -> list[tuple[Clause, ...]]:
    """Group clauses into sentences an engine may say in one breath.

    A clause continues into the next when nothing but a comma (or a cut for length) separates
    them: it ends in comma punctuation with exactly the comma pause ``comma_ms`` (an explicit
    [pause] or a line break adds more) or in no punctuation with no pause, and both share
    emotion and intensity (emotion spans are separate controls, so they still cut).
    """
    groups: list[list[Clause]] = []
    joinable = False
    for clause in clauses:
        if groups and joinable and (clause.emotion, clause.intensity) == (groups[-1][-1].emotion, groups[-1][-1].intensity):
            groups[-1].append(clause)
        else:
            groups.append([clause])
        kind = ending(clause)
        joinable = (kind == "comma" and clause.pause_ms == comma_ms) or (kind is None and clause.pause_ms == 0)
    return [tuple(g) for g in groups]


def prosodic_words(words: Sequence[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Merge lexical word spans over ``text`` into prosodic words (see the module docstring)."""
    units: list[list[int]] = []  # [start, end] per unit
    for start, end in words or [(i, i + 1) for i in range(len(text))]:
        if units and end - start == 1 and text[start] in ENCLITICS and units[-1][1] - units[-1][0] < PROSODIC_WORD_MAX:
            units[-1][1] = end
        else:
            units.append([start, end])
    out: list[list[int]] = []
    i = 0
    while i < len(units):
        start, end = units[i]
        if end - start > 1:
            out.append([start, end])
            i += 1
            continue
        run = i  # a run of monosyllables: pair them up
        while i < len(units) and units[i][1] - units[i][0] == 1:
            i += 1
        singles = [u[0] for u in units[run:i]]
        pairs = [[s, s + 2] for s in singles[: len(singles) // 2 * 2 : 2]]
        if len(singles) % 2:
            odd = singles[-1]
            before = pairs[-1] if pairs else (out[-1] if out and out[-1][1] == odd else None)
            after = units[i] if i < len(units) else None
            size_before = before[1] - before[0] if before else PROSODIC_WORD_MAX
            size_after = after[1] - after[0] if after else PROSODIC_WORD_MAX
            if min(size_before, size_after) >= PROSODIC_WORD_MAX:
                pairs.append([odd, odd + 1])
            elif size_after <= size_before:
                units[i] = [odd, after[1]]  # joins the word after it
            else:
                before[1] = odd + 1
        out += pairs
    return [(a, b) for a, b in sorted(out)]


def phrase_starts(prosodic: Sequence[tuple[int, int]], text: str) -> set[int]:
    """Offsets where a prosodic phrase (#2) starts, other than the first."""
    starts, size = [], 0
    for start, end in prosodic:
        length = end - start
        if size and (size + length > PHRASE_MAX or (size >= PHRASE_MIN and text[start] in PHRASE_OPENERS)):
            starts.append(start)
            size = 0
        size += length
    if starts and size < 3:
        starts.pop()  # too short to stand alone: it joins the phrase before
    return set(starts)


def clause_marks(clause: Clause) -> list[str]:
    """The mark after each syllable of ``clause.normalized`` but the last: #0, #1 or #2."""
    text = clause.normalized
    prosodic = prosodic_words(clause.words, text)
    phrases = phrase_starts(prosodic, text)
    word_starts = {start for start, _ in prosodic}
    marks = []
    for i in range(1, len(text)):
        marks.append("#2" if i in phrases else "#1" if i in word_starts else "#0")
    return marks


def sentence_input(clauses: Sequence[Clause]) -> tuple[list[str], list[str]]:
    """Syllables of a sentence and the mark between each two: #3 after a comma clause, #2
    after a clause cut for length, the clause's own #0/#1/#2 inside it."""
    syllables: list[str] = []
    marks: list[str] = []
    for n, clause in enumerate(clauses):
        if n:
            marks.append("#3" if ending(clauses[n - 1]) == "comma" else "#2")
        syllables += clause.spoken
        marks += clause_marks(clause)
    return syllables, marks


def split_points(marks: Sequence[str], max_syllables: int) -> list[int]:
    """Syllable indices where to cut a sentence into parts of at most ``max_syllables``.

    Cuts at the strongest boundary, nearest the middle among equals, recursively; never at #0
    (inside a word) unless a single word is longer than the limit.
    """
    def cut(lo: int, hi: int) -> list[int]:  # syllables [lo, hi); mark k sits before syllable k+1
        if hi - lo <= max_syllables:
            return []
        middle = (lo + hi) / 2
        candidates = range(lo + 1, hi)
        best = max(candidates, key=lambda k: (MARK_STRENGTH.get(marks[k - 1], 0), -abs(k - middle)))
        return cut(lo, best) + [best] + cut(best, hi)

    return cut(0, len(marks) + 1)
