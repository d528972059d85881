"""The museum's pronunciation lexicon; each save re-renders the narrations that use the term."""
from __future__ import annotations

from django.contrib import admin

from exhibits import services
from exhibits.forms import LexiconEntryForm
from exhibits.models import LexiconEntry


@admin.register(LexiconEntry)
class LexiconEntryAdmin(admin.ModelAdmin):
    form = LexiconEntryForm
    list_display = ("term", "pinyin", "note", "updated_at")
    search_fields = ("term", "pinyin", "note")

    def save_model(self, request, obj, form, change):
        entry, affected = services.do_save_lexicon_entry(
            obj.term, obj.pinyin, obj.note, entry=obj if change else None, user=request.user
        )
        obj.pk = entry.pk
        self._report(request, affected)

    def delete_model(self, request, obj):
        self._report(request, services.do_delete_lexicon_entry(obj, user=request.user))

    def delete_queryset(self, request, queryset):
        affected = [n for entry in queryset for n in services.do_delete_lexicon_entry(entry, user=request.user)]
        self._report(request, affected)

    def _report(self, request, affected):
        if affected:
            codes = "、".join(str(n.exhibit.code) for n in affected[:20])
            self.message_user(request, f"{len(affected)} 条讲解将重新合成 / narration(s) re-rendering: {codes}")
