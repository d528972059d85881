"""Shared test base: named personas (curator, operator, visitor) and helpers.

Tests run against real PostgreSQL and Redis (see guide_site/settings_test.py).
"""
from __future__ import annotations

import pytest


@pytest.fixture
def visitor(client):
    """An anonymous phone browser."""
    return client
