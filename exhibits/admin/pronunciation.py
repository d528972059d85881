"""The pronunciation report of one exhibit, and pinning a reading from it.

Per clause the report shows what the text normaliser rewrote (and by which rule), the pinyin,
which source decided each non-trivial reading (override, lexicon, model, dictionary) and the
characters the polyphone model and the dictionary disagree on. A curator pins a reading either
for this occurrence (the script gets a ``{词|pinyin}`` override, saved as a new narration
version) or for every narration (a lexicon entry). Both go through ``exhibits.services``.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from exhibits import services
from exhibits.forms import PinReadingForm, PronunciationForm
from exhibits.models.narration import lexicon_for_script


def explain_script(script: str, emotion: str) -> list[dict]:
    """synthesis' explain rows plus, per row, the curator lexicon terms it uses and a pin
    choice per reading a curator may want to change (decided by a source or uncertain)."""
    from synthesis.frontend import explain
    from synthesis.lexicon import Lexicon

    lexicon = lexicon_for_script(script)
    rows = explain(script, lexicon=Lexicon(lexicon), emotion=emotion)
    for number, row in enumerate(rows):
        row["lexicon_terms"] = [t for t in lexicon if t in row["text"]]
        alternatives = {u["index"]: u["alternatives"] for u in row["uncertain"]}
        sources = {d["index"]: d["source"] for d in row["decided"]}
        row["pins"] = [
            {"clause": number, "index": i, "char": row["normalized"][i], "pinyin": row["pinyin"][i],
             "source": sources.get(i, "dictionary"), "alternatives": alternatives.get(i, []),
             "word": row["normalized"][slice(*word_span(row, i))], "uncertain": i in alternatives}
            # overrides and the curators' own entries are pinned already (edited in the script or
            # the lexicon admin): offering them again per character only adds noise
            for i in sorted(set(alternatives) | {i for i, s in sources.items() if s not in ("override", "lexicon")})
        ]
    return rows


def word_span(row: dict, index: int) -> tuple[int, int]:
    """[start, end) of the word holding character ``index`` of an explain row's spoken text."""
    start = 0
    for word in row["words"]:
        if start <= index < start + len(word):
            return start, start + len(word)
        start += len(word)
    return index, index + 1


@dataclass
class Pin:
    row: dict
    index: int
    reading: str  # one syllable for the pinned character

    def word_and_syllables(self) -> tuple[str, str]:
        a, b = word_span(self.row, self.index)
        syllables = list(self.row["pinyin"][a:b])
        syllables[self.index - a] = self.reading
        return self.row["normalized"][a:b], " ".join(syllables)


def _override_script(script: str, rows: list[dict], pin: Pin) -> str | None:
    """The script with the pinned word wrapped in ``{word|pinyin}`` at this occurrence, or None
    where the clause cannot be found verbatim in the script (markup or digits inside it)."""
    word, syllables = pin.word_and_syllables()
    cursor = 0
    for row in rows:
        found = script.find(row["text"], cursor)
        if found < 0:
            return None
        if row is pin.row:
            at = row["text"].find(word)
            if at < 0:
                return None
            at += found
            return f"{script[:at]}{{{word}|{syllables}}}{script[at + len(word):]}"
        cursor = found + len(row["text"])
    return None


def pronunciation_page(model_admin, request, exhibit):
    narration = exhibit.narrations.first()
    initial = {"script": narration.script, "emotion": narration.emotion} if narration else {}
    form = PronunciationForm(request.POST or None, initial=initial)
    rows, script, emotion = [], None, None
    if request.method == "POST":
        if form.is_valid():
            script, emotion = form.cleaned_data["script"], form.cleaned_data["emotion"]
    elif narration:
        script, emotion = narration.script, narration.emotion
    if script:
        try:
            rows = explain_script(script, emotion)
        except ValueError as exc:  # ScriptError included: a saved script broken by a lexicon edit
            form.add_error(None, str(exc))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": exhibit,
        "title": f"读音检查 Check pronunciation · {exhibit}",
        "form": form,
        "rows": rows,
        # Pinning changes the saved narration, so it is offered only for the saved text.
        "can_pin": bool(narration) and script == (narration.script if narration else None)
        and model_admin.has_change_permission(request, exhibit),
    }
    return TemplateResponse(request, "admin/exhibits/exhibit/pronunciation.html", context)


def pin_reading(model_admin, request, exhibit):
    """POST from the report: pin one character's reading as an override or a lexicon entry."""
    if not model_admin.has_change_permission(request, exhibit):
        raise PermissionDenied
    back = reverse("admin:exhibits_exhibit_pronunciation", args=[exhibit.pk])
    narration = exhibit.narrations.first()
    form = PinReadingForm(request.POST)
    if narration is None or not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs) if narration else "没有讲解词"
        messages.error(request, f"无法固定读音 / cannot pin: {errors}")
        return redirect(back)
    data = form.cleaned_data
    rows = explain_script(narration.script, narration.emotion)
    if not (data["clause"] < len(rows) and rows[data["clause"]]["text"] == data["clause_text"]
            and data["index"] < len(rows[data["clause"]]["normalized"])):
        messages.error(request, "讲解词已被修改，请重新检查 / the script changed since this report; check again")
        return redirect(back)
    pin = Pin(rows[data["clause"]], data["index"], data["reading"])
    word, syllables = pin.word_and_syllables()
    if data["scope"] == "lexicon":
        _, affected = services.do_save_lexicon_entry(word, syllables, note=f"pinned from exhibit {exhibit.code}",
                                                     entry=_existing_entry(word), user=request.user)
        messages.success(request, f"词表：{word} = {syllables}（{len(affected)} 条讲解将重新合成 / re-rendering）")
        return redirect(back)
    script = _override_script(narration.script, rows, pin)
    if script is None:
        messages.error(request, f"在讲解词中找不到「{word}」的原文，请改用词表或直接编辑讲解词 / "
                                "the word is not written verbatim in the script here; pin it in the lexicon instead")
        return redirect(back)
    services.do_save_narration(exhibit, script, voice=narration.voice, emotion=narration.emotion,
                               user=request.user, language=narration.language)
    messages.success(request, f"本处读音已固定：{{{word}|{syllables}}}（新版本 / saved as a new version）")
    return redirect(back)


def _existing_entry(term: str):
    from exhibits.models import LexiconEntry

    return LexiconEntry.objects.filter(term=term).first()


def exhibit_or_404(model_admin, request, object_id):
    exhibit = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    if not model_admin.has_view_or_change_permission(request, exhibit):
        raise PermissionDenied
    return exhibit
