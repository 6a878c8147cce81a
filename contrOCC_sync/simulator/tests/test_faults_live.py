"""Fault injection, seen by a real HTTP client against the simulator as a real gunicorn process: 500s,
hangs past the client's timeout, latency, 429s, and a write committed but answered with a broken
connection (then replayed from its Idempotency-Key)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from contrOCC_sync.simulator.backoffice.models import ReceivedLine

from .conftest import Council, LiveBackoffice, actual, submission

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(live_backoffice: LiveBackoffice, council: Council):
    """The live simulator with the council committed; faults off again afterwards."""
    yield live_backoffice
    live_backoffice.sim("POST", "faults", {})


def post_actuals(live: LiveBackoffice, key: str, *, timeout: float = 10) -> requests.Response:
    return requests.post(
        f"{live.url}/api/v1/actuals-submissions",
        json=submission(actual(1)),
        headers=live.headers(key),
        timeout=timeout,
    )


def test_error_rate_answers_500_and_does_nothing(live: LiveBackoffice):
    live.sim("POST", "faults", {"error_rate": 1})
    response = post_actuals(live, str(uuid.uuid4()))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "injected_error"
    assert live.sim("GET", "ledger")["actual_lines"] == []
    # The controls are never faulted, and the health check is: it is part of the API.
    health = requests.get(f"{live.url}/api/v1/health", headers=live.headers(), timeout=5)
    assert health.status_code == 500


def test_timeout_rate_hangs_past_the_clients_timeout_and_does_nothing(live: LiveBackoffice):
    live.sim("POST", "faults", {"timeout_rate": 1, "hang_seconds": 3})
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        post_actuals(live, str(uuid.uuid4()), timeout=1)
    assert time.monotonic() - started < 2.5
    time.sleep(2.5)  # let the hang end: it answers 504 to nobody, having done nothing
    assert live.sim("GET", "ledger")["actual_lines"] == []


def test_latency_slows_every_answer(live: LiveBackoffice):
    live.sim("POST", "faults", {"latency_ms": 400})
    started = time.monotonic()
    response = requests.get(f"{live.url}/api/v1/health", headers=live.headers(), timeout=5)
    assert response.status_code == 200 and time.monotonic() - started >= 0.4


def test_throttle_rate_answers_429_with_retry_after(live: LiveBackoffice):
    live.sim("POST", "faults", {"throttle_rate": 1})
    response = post_actuals(live, str(uuid.uuid4()))
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"


def test_drop_after_commit_commits_then_breaks_the_connection(live: LiveBackoffice):
    live.sim("POST", "faults", {"drop_after_commit_rate": 1})
    key = str(uuid.uuid4())
    with pytest.raises(requests.ConnectionError):
        post_actuals(live, key)
    assert ReceivedLine.objects.count() == 1  # committed, though the client never heard
    live.sim("POST", "faults", {})
    retry = post_actuals(live, key)  # the client retries with the same key: the first answer, once
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["lines"][0]["status"] == "accepted"
    [line] = live.sim("GET", "ledger")["actual_lines"]
    assert (line["recorded"], line["receipts"]) == (1, 1)


def test_a_share_of_requests_fail_and_retries_with_the_same_keys_lose_nothing(live: LiveBackoffice):
    live.sim("POST", "faults", {"error_rate": 0.3, "drop_after_commit_rate": 0.2, "throttle_rate": 0.1})
    session = requests.Session()
    outcomes: dict[str, int] = {}
    for n in range(30):
        key, body = str(uuid.uuid4()), submission(actual(1000 + n))
        for _attempt in range(50):
            try:
                response = session.post(
                    f"{live.url}/api/v1/actuals-submissions", json=body, headers=live.headers(key), timeout=5
                )
            except requests.ConnectionError:
                outcomes["broken"] = outcomes.get("broken", 0) + 1
                continue
            outcomes[str(response.status_code)] = outcomes.get(str(response.status_code), 0) + 1
            if response.status_code == 201:
                break
    assert {"broken", "500", "201"} <= set(outcomes), outcomes
    ledger = live.sim("GET", "ledger")
    assert len(ledger["actual_lines"]) == 30
    assert all((line["recorded"], line["receipts"]) == (1, 1) for line in ledger["actual_lines"])
