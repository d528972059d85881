"""``manage.py create_api_key NAME [--rate-limit N]``: issue a key and print its token once.

For scripts and first deployments; day-to-day keys are managed in the admin.
"""
from django.core.management.base import BaseCommand

from exhibits.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key and print its token (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute (default API_DEFAULT_RATE_LIMIT)")

    def handle(self, *args, name: str, rate_limit: int | None = None, **options):
        fields = {} if rate_limit is None else {"rate_limit_per_minute": rate_limit}
        _key, token = ApiKey.issue(name, **fields)
        self.stdout.write(token)
