"""Spreadsheet rows <-> galleries, and exhibits with their Mandarin narration (one row each).

Exhibit columns: ``code`` (empty = a new exhibit, which gets the next free code), ``gallery``
(the gallery's slug), ``title``, ``slug``, ``description``, ``status`` (published / draft),
``order``, ``script``, ``emotion``, ``voice`` and ``version``: the narration version the row
was exported from. A row whose script (or emotion, voice) differs from the database is only
written when its ``version`` is still the current one; otherwise someone edited the narration
since the export and the row is a conflict, never a silent overwrite.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from import_export import fields, resources, widgets

from exhibits import services
from exhibits.models import Exhibit, Gallery, Narration
from exhibits.ops import moderation

LANGUAGE = "zh"
EXHIBIT_COLUMNS = ("code", "gallery", "title", "slug", "description", "status", "order", "script", "emotion", "voice", "version")
STATUSES = {s.value for s in Exhibit.Status}


def cell(row, column: str) -> str:
    """A cell as text: XLSX gives numbers as int/float, CSV everything as str, empty as None or ""."""
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def normalise_script(text: str) -> str:
    return text.replace("\r\n", "\n").strip()  # as do_save_narration stores it


class GalleryResource(resources.ModelResource):
    class Meta:
        model = Gallery
        fields = ("slug", "name", "order")
        import_id_fields = ("slug",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True  # a bad slug is a row error, not a database error
        use_transactions = True


@dataclass
class RowPlan:
    """What one valid row will change, worked out before anything is written."""

    exhibit_changed: bool
    script: str | None  # None: leave the narration alone
    emotion: str
    voice: str
    status: str

    def narration_changes(self) -> bool:
        return self.script is not None


class ExhibitResource(resources.ModelResource):
    code = fields.Field(attribute="code", column_name="code", widget=widgets.IntegerWidget())
    gallery = fields.Field(attribute="gallery__slug", column_name="gallery")
    script = fields.Field(column_name="script")
    emotion = fields.Field(column_name="emotion")
    voice = fields.Field(column_name="voice")
    version = fields.Field(column_name="version")

    class Meta:
        model = Exhibit
        fields = EXHIBIT_COLUMNS
        export_order = EXHIBIT_COLUMNS
        import_id_fields = ("code",)
        use_transactions = True

    # --- export ---------------------------------------------------------------------------------
    def get_queryset(self):
        return Exhibit.objects.select_related("gallery").prefetch_related("narrations").order_by("code")

    @staticmethod
    def narration_of(exhibit: Exhibit) -> Narration | None:
        if exhibit.pk is None:
            return None
        return next((n for n in exhibit.narrations.all() if n.language == LANGUAGE), None)

    def dehydrate_script(self, exhibit):
        narration = self.narration_of(exhibit)
        return narration.script if narration else ""

    def dehydrate_emotion(self, exhibit):
        narration = self.narration_of(exhibit)
        return narration.emotion if narration else ""

    def dehydrate_voice(self, exhibit):
        narration = self.narration_of(exhibit)
        return narration.voice if narration else ""

    def dehydrate_version(self, exhibit):
        narration = self.narration_of(exhibit)
        return narration.version if narration else ""

    # --- import: check everything first ---------------------------------------------------------
    def before_import(self, dataset, **kwargs):
        missing = {"gallery", "title"} - set(dataset.headers or ())
        if missing:
            raise ValueError(f"缺少列 missing column(s): {', '.join(sorted(missing))}; export once to get a template")
        self.galleries = {g.slug: g for g in Gallery.objects.all()}
        self.first_row_of_code: dict[str, int] = {}
        for number, values in enumerate(dataset.dict, start=1):
            code = cell(values, "code")
            if code:
                self.first_row_of_code.setdefault(code, number)

    def get_instance(self, instance_loader, row):
        code = cell(row, "code")
        return Exhibit.objects.select_related("gallery").filter(code=int(code)).first() if code.isdigit() else None

    def import_instance(self, instance, row, **kwargs):
        """Validate the whole row (raising one ValidationError naming every bad column) and set
        the exhibit's fields on ``instance``; nothing is written here."""
        errors: dict[str, str] = {}
        is_new = instance._state.adding
        code, number = cell(row, "code"), kwargs.get("row_number")
        if code and not code.isdigit():
            errors["code"] = f"编号应为数字 the code must be a number, not “{code[:20]}”"
        elif code and is_new:
            errors["code"] = f"没有编号为 {code} 的展品 no exhibit has code {code}; leave the code empty to add a new exhibit"
        elif code and self.first_row_of_code.get(code) != number:
            errors["code"] = f"编号 {code} 重复 duplicate code: already on data row {self.first_row_of_code[code]}"

        values = {"title": cell(row, "title"), "slug": cell(row, "slug"), "description": cell(row, "description")}
        if not values["title"]:
            errors["title"] = "标题不能为空 the title is required"
        gallery_slug = cell(row, "gallery")
        values["gallery"] = self.galleries.get(gallery_slug)
        if values["gallery"] is None:
            known = ", ".join(sorted(self.galleries)[:10]) or "none yet: import galleries first"
            errors["gallery"] = f"没有这个展厅 unknown gallery “{gallery_slug[:40]}” (known: {known})"
        order = cell(row, "order")
        if order and not order.isdigit():
            errors["order"] = f"顺序应为数字 order must be a whole number, not “{order[:20]}”"
        values["order"] = int(order) if order.isdigit() else (0 if is_new else instance.order)
        status = cell(row, "status") or (Exhibit.Status.DRAFT if is_new else instance.status)
        if status not in STATUSES:
            errors["status"] = f"状态应为 status must be one of {', '.join(sorted(STATUSES))}, not “{status[:20]}”"

        narration = None if is_new else self.narration_of(instance)
        script, emotion, voice = normalise_script(cell(row, "script")), cell(row, "emotion") or "neutral", cell(row, "voice")
        wanted = (script, emotion, voice)
        script_changes = bool(script) and (narration is None or (narration.script, narration.emotion, narration.voice) != wanted)
        if script_changes:
            try:
                services.check_script(script, emotion)
                if status == Exhibit.Status.PUBLISHED:
                    moderation.check(script)
            except moderation.ModerationError as exc:
                errors["script"] = f"讲解含有不允许的词 rejected term “{exc.term}”"
            except ValueError as exc:  # ScriptError (line, column, fix) or an unknown emotion
                line = getattr(exc, "line", None)
                where = f"第{line}行第{exc.column}列 line {line}, column {exc.column}: " if line else ""
                errors["script" if line else "emotion"] = where + getattr(exc, "message", str(exc))
            if narration is not None and cell(row, "version") != str(narration.version):
                errors["version"] = (
                    f"冲突 conflict: the narration changed since this file was exported (now version "
                    f"{narration.version}, the file has “{cell(row, 'version') or 'none'}”); export again and redo the change"
                )
        if errors:
            raise ValidationError(errors)

        exhibit_changed = is_new or any(getattr(instance, k) != v for k, v in values.items())
        for name, value in values.items():
            setattr(instance, name, value)
        instance.import_plan = RowPlan(exhibit_changed, script if script_changes else None, emotion, voice, status)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        plan = getattr(instance, "import_plan", None)
        if import_validation_errors or plan is None:
            return False
        return not (plan.exhibit_changed or plan.narration_changes() or plan.status != instance.status)

    # --- import: write through the services -----------------------------------------------------
    def save_instance(self, instance, is_create, row, **kwargs):
        plan: RowPlan = instance.import_plan
        user = kwargs.get("user")
        with transaction.atomic():  # one row: all of it or nothing
            if plan.exhibit_changed:
                services.do_save_exhibit(instance)
            if plan.narration_changes():
                services.do_save_narration(instance, plan.script, plan.voice, plan.emotion, user=getattr(user, "pk", None) and user)
            if plan.status == Exhibit.Status.PUBLISHED and not instance.is_published:
                services.do_publish_exhibit(instance)
            elif plan.status == Exhibit.Status.DRAFT and instance.is_published:
                services.do_unpublish_exhibit(instance)

    def save_m2m(self, instance, row, **kwargs):
        pass  # no many-to-many fields; the default would touch fields we never import
