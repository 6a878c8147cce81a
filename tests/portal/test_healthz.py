"""/healthz: the database and the broker, really asked; nothing sensitive in the answer."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthy_when_database_and_broker_answer(anonymous_client) -> None:
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "checks": {"database": "up", "broker": "up"}}
    assert "no-cache" in response["Cache-Control"]


def test_down_when_the_broker_cannot_be_reached(anonymous_client, settings) -> None:
    # A port nothing listens on: the real client's connection really fails.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body == {"status": "down", "checks": {"database": "up", "broker": "down"}}
