"""``manage.py demo_listening [--days 30] [--scale 1.0]``: made-up listening traffic for the
dashboard (see exhibits/analytics/demo.py). Needs published exhibits with audio (``load_demo``)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from exhibits.analytics.demo import generate


class Command(BaseCommand):
    help = "Generate demo listening traffic and roll it up, for the admin's listening dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--scale", type=float, default=1.0, help="listens per day, relative")
        parser.add_argument("--seed", type=int, default=18)

    def handle(self, *args, days: int, scale: float, seed: int, **options):
        result = generate(days=days, seed=seed, scale=scale)
        self.stdout.write(f"{result['listens']} listens over {days} days -> {result['rows']} daily rows")
