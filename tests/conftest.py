"""Shared test base: named personas (curator, operator, visitor) and helpers.

Tests run against real PostgreSQL and Redis (see guide_site/settings_test.py).
"""
from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def visitor(client):
    """An anonymous phone browser."""
    return client


@pytest.fixture
def curator_user(db, django_user_model):
    """Staff member in the ``curator`` group (exactly the permissions of exhibits.ops.roles)."""
    from exhibits.ops.roles import ensure_curator_group

    user = django_user_model.objects.create_user("curator", "curator@museum.test", "curator-pw", is_staff=True)
    user.groups.add(ensure_curator_group())
    return user


@pytest.fixture
def curator(curator_user):
    """A curator logged in to the admin (its own client: a test may also use ``visitor``)."""
    client = Client()
    client.force_login(curator_user)
    return client


@pytest.fixture
def operator_user(db, django_user_model):
    """Runs the museum's servers and management commands: a superuser."""
    return django_user_model.objects.create_superuser("operator", "ops@museum.test", "operator-pw")


@pytest.fixture
def operator(operator_user):
    client = Client()
    client.force_login(operator_user)
    return client


@pytest.fixture
def gallery(db):
    from exhibits.models import Gallery

    return Gallery.objects.get_or_create(slug="bronze", defaults={"name": "青铜时代", "order": 1})[0]


@pytest.fixture
def make_exhibit(gallery):
    """make_exhibit("后母戊鼎", script="…") -> Exhibit (with a narration saved through services)."""
    from exhibits import services
    from exhibits.models import Exhibit

    def make(title: str = "后母戊鼎", script: str | None = None, user=None, **fields) -> Exhibit:
        exhibit = services.do_save_exhibit(Exhibit(title=title, gallery=fields.pop("gallery", gallery), **fields))
        if script is not None:
            services.do_save_narration(exhibit, script, user=user)
        return exhibit

    return make


@pytest.fixture
def clean_media(settings, tmp_path):
    """An empty MEDIA_ROOT of this test's own (workers started afterwards use it too), for tests
    that count audio files or must not find earlier renders in the cache."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def worker_factory(tmp_path):
    """worker_factory(**env) -> a started Worker; every worker is killed at teardown."""
    from tests.worker import Worker, purge_queue

    workers: list[Worker] = []

    def start(broker_url: str | None = None, purge: bool = True, **kwargs) -> Worker:
        if purge and broker_url is None:
            purge_queue()
        worker = Worker(tmp_path, broker_url=broker_url, **kwargs)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.kill()
