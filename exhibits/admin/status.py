"""Live render state for the studio: one small JSON answer the exhibit list and page poll.

    GET /admin/exhibits/exhibit/studio/status/?ids=12,13
    {"exhibits": {"12": {"state": "rendering", "label": "合成中 rendering", "units_done": 1,
                        "units_total": 3, "eta_seconds": 4, "error": "", "audio": null, ...}}}

The speech library renders a narration in one call and reports nothing in between, so
``units_done`` is estimated from the elapsed time and how long recent renders took per sentence;
``units_total`` (the job's sentence count) is exact. The JSON never carries more than the admin
pages show a user with view permission on exhibits.
"""
from __future__ import annotations

from statistics import median

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone

from exhibits.models import Narration, RenderJob, RenderState

DEFAULT_SECONDS_PER_UNIT = 1.5
MAX_IDS = 200


def seconds_per_unit() -> float:
    """Median render time per sentence of the last 20 synthesised (not reused) jobs."""
    recent = (RenderJob.objects.filter(state=RenderJob.State.READY, reused=False, units_total__gt=0,
                                       started_at__isnull=False, finished_at__isnull=False)
              .order_by("-finished_at").values_list("started_at", "finished_at", "units_total")[:20])
    rates = [(end - start).total_seconds() / units for start, end, units in recent]
    return median(rates) if rates else DEFAULT_SECONDS_PER_UNIT


def progress(job: RenderJob | None, per_unit: float, now) -> dict:
    if job is None or job.state != RenderJob.State.RENDERING or not job.units_total or job.started_at is None:
        return {"units_done": 0, "units_total": job.units_total if job else 0, "eta_seconds": None}
    elapsed = (now - job.started_at).total_seconds()
    expected = per_unit * job.units_total
    done = min(job.units_total - 1, int(elapsed / per_unit))  # never "all done" before it is
    return {"units_done": max(done, 0), "units_total": job.units_total, "eta_seconds": max(round(expected - elapsed), 1)}


def narration_status(narration: Narration, job: RenderJob | None, per_unit: float, now) -> dict:
    rendition = narration.rendition
    audio = None
    if rendition is not None and (rendition.mp3 or rendition.wav):
        audio = {"url": f"{settings.MEDIA_URL}{rendition.mp3 or rendition.wav}", "duration": round(rendition.duration, 2),
                 "version": narration.rendition_version}
    state = narration.render_state
    return {
        "state": state,
        "label": RenderState(state).label,
        "version": narration.version,
        "error": narration.latest_job_error or "" if state == RenderState.FAILED else "",
        "audio": audio,
        **progress(job, per_unit, now),
    }


def parse_ids(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip().isdigit()][:MAX_IDS]


def status_view(model_admin, request):
    """State of the (first) narration of each requested exhibit; exhibits without one: "none"."""
    ids = parse_ids(request.GET.get("ids", ""))
    narrations = {n.exhibit_id: n for n in Narration.objects.filter(exhibit_id__in=ids).with_render_state()
                  .select_related("rendition").order_by("-language")}
    jobs = {}
    for job in RenderJob.objects.filter(narration__in=narrations.values(), state=RenderJob.State.RENDERING):
        jobs[job.narration_id] = job
    per_unit, now = seconds_per_unit(), timezone.now()
    answer = {str(pk): (narration_status(narrations[pk], jobs.get(narrations[pk].pk), per_unit, now)
                        if pk in narrations else {"state": "none", "label": "— 无讲解 no narration"}) for pk in ids}
    return JsonResponse({"exhibits": answer, "poll_ms": 1500})
