"""The curators' listening dashboard (issue #18): the changelist of ``DailyListening`` is
replaced by charts of plays over time per gallery, a per-exhibit table (plays, completion rate,
median listening time, a sparkline) and, for one exhibit, the drop-off curve over its script.
``?format=csv`` exports what is shown. Read-only: rows come from the roll-up task."""
from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import mark_safe

from exhibits.admin.audio import ReadOnlyAdmin
from exhibits.analytics import charts, report
from exhibits.models import DailyListening, Exhibit, Gallery

PERIODS = (7, 30, 90)


def _csv(name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese correctly only with it
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@admin.register(DailyListening)
class ListeningDashboard(ReadOnlyAdmin):
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        period = _int(request.GET.get("days"), 30)
        period = period if period in PERIODS else 30
        gallery = Gallery.objects.filter(pk=_int(request.GET.get("gallery"))).first()
        last = timezone.localdate()
        data = report.overview(last, period, gallery)
        exhibit = Exhibit.objects.filter(code=_int(request.GET.get("exhibit"), -1)).first()
        if exhibit is None and data.exhibits:
            exhibit = Exhibit.objects.filter(code=data.exhibits[0].code).first()
        curve = report.drop_off(exhibit, data.days[0], last) if exhibit else None
        export = request.GET.get("format")
        if export == "csv":
            return _csv(f"listening-{last}-{period}d", ["编号", "展品", "展厅", "播放次数", "听完次数", "完成率", "收听时长中位数（秒）"],
                        [[e.code, e.title, e.gallery, e.plays, e.completions,
                          "" if e.completion_rate is None else f"{e.completion_rate:.3f}",
                          "" if e.median is None else f"{e.median:.0f}"] for e in data.exhibits])
        if export == "csv-days":
            return _csv(f"listening-daily-{last}-{period}d", ["日期", "编号", "展品", "展厅", "播放次数"],
                        [[day.isoformat(), e.code, e.title, e.gallery, plays]
                         for e in data.exhibits for day, plays in zip(data.days, e.per_day) if plays])
        if export == "csv-dropoff" and curve:
            return _csv(f"dropoff-{exhibit.code}-{last}-{period}d", ["句序", "句子", "到达人次", "播放次数", "到达比例"],
                        [[s.index + 1, s.text, s.reached, curve.plays, f"{s.share:.3f}"] for s in curve.sentences])
        context = {
            **self.admin_site.each_context(request),
            "title": "收听统计 Listening",
            "opts": self.model._meta,
            "period": period,
            "periods": PERIODS,
            "gallery": gallery,
            "galleries": Gallery.objects.all(),
            "data": data,
            "first": data.days[0],
            "last": last,
            # charts.* escape every text they draw, so their SVG is safe markup.
            "plays_chart": mark_safe(charts.plays_over_time(data.galleries, data.days, "各展厅每日播放次数")),  # noqa: S308
            "rows": [(e, mark_safe(charts.sparkline(e.per_day, f"{e.title} 每日播放"))) for e in data.exhibits],  # noqa: S308
            "exhibit": exhibit,
            "curve": curve,
            "curve_chart": mark_safe(  # noqa: S308
                charts.drop_off(curve.sentences, curve.plays, f"{exhibit.code} {exhibit.title}")) if curve else "",
            "rollup_minutes": max(1, settings.LISTENING_ROLLUP_SECONDS // 60),
            "query": f"days={period}" + (f"&gallery={gallery.pk}" if gallery else ""),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/exhibits/dailylistening/dashboard.html", context)
