"""/healthz: the database and the broker, really asked; the back office from the heartbeat a beat task
records (never called from a web request); nothing sensitive in the answer."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from contrOCC_sync.models import Heartbeat
from portal import clock

pytestmark = pytest.mark.django_db


def beat(*, ok: bool = True, age_seconds: int = 0) -> None:
    Heartbeat.objects.update_or_create(
        component="backoffice",
        defaults={"ok": ok, "checked_at": clock.now() - dt.timedelta(seconds=age_seconds)},
    )


def test_healthy_when_everything_answers(anonymous_client) -> None:
    beat()
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": "up", "broker": "up", "backoffice": "up"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_down_when_the_broker_cannot_be_reached(anonymous_client, settings) -> None:
    beat()
    # A port nothing listens on: the real client's connection really fails.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503
    assert json.loads(response.content)["checks"] == {"database": "up", "broker": "down", "backoffice": "up"}


@pytest.mark.parametrize(("ok", "age"), [(False, 0), (True, 600)], ids=["failing", "stale"])
def test_down_when_the_back_office_heartbeat_fails_or_is_stale(anonymous_client, ok: bool, age: int) -> None:
    beat(ok=ok, age_seconds=age)
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["backoffice"] == "down"


def test_down_before_any_heartbeat(anonymous_client) -> None:
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["backoffice"] == "down"
