"""Curator forms. Validation runs the speech front end (no model), so a markup mistake is shown
at the script field with its line and column before anything is saved."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from exhibits.models import LexiconEntry, Narration
from exhibits.ops import moderation
from exhibits.services import check_script

EMOTION_CHOICES = [
    ("neutral", "平静 neutral"),
    ("happy", "喜悦 happy"),
    ("sad", "悲伤 sad"),
    ("angry", "愤怒 angry"),
    ("fear", "恐惧 fear"),
    ("surprise", "惊讶 surprise"),
    ("disgust", "厌恶 disgust"),
]
MARKUP_HELP = (
    "情感 [happy]…[/happy]、[sad 0.6]…[/sad]；停顿 [pause 800ms]；读音 {单于|chan2 yu2}。"
    " Emotion spans, pauses and one-off readings; errors name the line and column."
)


def voice_choices() -> list[tuple[str, str]]:
    """The configured engine's voices, without loading its model (a web process never does):
    the engine module's named voices (``VOICE_LABELS``), else its class's default voice."""
    import sys

    from django.conf import settings

    from synthesis.engines import engine_class

    cls = engine_class(settings.SYNTHESIS_ENGINE)
    labels = getattr(sys.modules[cls.__module__], "VOICE_LABELS", None) or {cls.default_voice: cls.default_voice}
    default = settings.SYNTHESIS_VOICE or cls.default_voice
    return [("", f"默认 default ({default})"), *((name, f"{label} {name}" if label != name else name) for name, label in labels.items())]


def script_errors(script: str, emotion: str) -> str | None:
    """The curator-facing message for a script that cannot be rendered, or None."""
    from synthesis.markup import ScriptError

    try:
        check_script(script, emotion)
    except ScriptError as exc:  # "第2行第5列: …" - line and column first, then the fix
        return str(exc)
    except ValueError as exc:  # e.g. an intensity or emotion the front end refuses
        return str(exc)
    return None


SCRIPT_TOO_LONG = ("讲解词有 %(show_value)d 个字符，最多 %(limit_value)d 个 / "
                   "the script has %(show_value)d characters; the limit is %(limit_value)d")


class ScriptFieldsMixin:
    """The script field: length limit first (cheap, and the browser enforces it too), then the
    front end's check of the markup."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.NARRATION_MAX_CHARS
        field = self.fields["script"]
        field.max_length = limit
        field.validators.append(MaxLengthValidator(limit, message=SCRIPT_TOO_LONG))
        field.widget.attrs["maxlength"] = str(limit)

    def clean(self):
        cleaned = super().clean()
        script, emotion = cleaned.get("script"), cleaned.get("emotion") or "neutral"
        if script:
            message = script_errors(script, emotion)
            if message:
                self.add_error("script", message)
        return cleaned


class NarrationForm(ScriptFieldsMixin, forms.ModelForm):
    emotion = forms.ChoiceField(label="默认情绪 default emotion", choices=EMOTION_CHOICES, initial="neutral")
    # An unknown voice is a form error here, not a failed render later.
    voice = forms.ChoiceField(label="声音 voice", choices=voice_choices, required=False,
                              help_text="留空 = 引擎默认声音 / empty = the engine's default voice")

    def clean(self):
        cleaned = super().clean()
        exhibit = self.instance.exhibit if self.instance.exhibit_id else None
        if cleaned.get("script") and exhibit is not None and exhibit.is_published and "script" not in self.errors:
            try:
                moderation.check(cleaned["script"])  # visitors would hear it at once
            except moderation.ModerationError as exc:
                self.add_error("script", f"已发布的展品不能包含“{exc.term}” / a published exhibit cannot say {exc.term!r}")
        return cleaned

    class Meta:
        model = Narration
        fields = ["script", "emotion", "voice"]
        widgets = {"script": forms.Textarea(attrs={"rows": 12, "cols": 90, "lang": "zh"})}
        help_texts = {"script": MARKUP_HELP}


class PronunciationForm(ScriptFieldsMixin, forms.Form):
    script = forms.CharField(label="讲解词 script", widget=forms.Textarea(attrs={"rows": 8, "cols": 90, "lang": "zh"}),
                             help_text=MARKUP_HELP)
    emotion = forms.ChoiceField(label="默认情绪 default emotion", choices=EMOTION_CHOICES, initial="neutral")


class PinReadingForm(forms.Form):
    """One reading pinned from the pronunciation report (indices into synthesis' explain rows)."""
    clause = forms.IntegerField(min_value=0)
    clause_text = forms.CharField(strip=False)  # the clause as shown: detects a script changed meanwhile
    index = forms.IntegerField(min_value=0)
    reading = forms.CharField(label="读音 reading", max_length=20)
    scope = forms.ChoiceField(choices=[("override", "本处 this occurrence"), ("lexicon", "词表 every narration")])

    def clean_reading(self):
        from synthesis.syllables import parse_syllables

        try:
            syllables = parse_syllables(self.cleaned_data["reading"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if len(syllables) != 1:
            raise forms.ValidationError("一个字只写一个音节 / write one syllable for one character, e.g. zang4")
        return syllables[0]


class LexiconEntryForm(forms.ModelForm):
    class Meta:
        model = LexiconEntry
        fields = ["term", "pinyin", "note"]

    def clean(self):
        from synthesis.lexicon import Lexicon, LexiconError

        cleaned = super().clean()
        term, pinyin = (cleaned.get("term") or "").strip(), cleaned.get("pinyin") or ""
        if term and pinyin:
            try:
                Lexicon({term: pinyin}, path=None)  # one tone-numbered syllable per character
            except LexiconError as exc:
                self.add_error("pinyin", str(exc).replace("lexicon override: ", ""))
        return cleaned
