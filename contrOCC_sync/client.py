"""The only code that knows the back office's URLs and token (CONTROCC_API.md).

Every call has a connect and a read timeout. Failures come back as two kinds: `BackOfficeUnavailable`
(5xx, 429, a timeout, a broken connection, a body that is not JSON: try again later, with the same
idempotency key) and `BackOfficeRefused` (any other 4xx: final, with the back office's code and message).
Only workers use it; web requests read the portal's own copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

API = "/api/v1"


class BackOfficeError(Exception):
    """Something went wrong talking to the back office."""


class BackOfficeUnavailable(BackOfficeError):
    """Transient: try again later (with the same idempotency key for a write)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class BackOfficeRefused(BackOfficeError):
    """Final: the back office answered 4xx. Retrying the same request cannot succeed."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


class BackOfficeClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> None:
        self.base_url = (base_url or settings.BACKOFFICE_URL).rstrip("/")
        self.timeout = timeout or (settings.BACKOFFICE_CONNECT_TIMEOUT, settings.BACKOFFICE_READ_TIMEOUT)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or settings.BACKOFFICE_TOKEN}"
        self.session.headers["Accept"] = "application/json"

    def close(self) -> None:
        """Close its connections now. Left to the garbage collector, a failed call's connection stays open
        (the exception's traceback holds the client) and the back office's server may keep a thread
        waiting on it for the next request (the chaos suite saw the simulator stop answering)."""
        self.session.close()

    def __enter__(self) -> BackOfficeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Reads ------------------------------------------------------------------------------------------

    def page(self, resource: str, *, since: str = "", limit: int | None = None) -> Page:
        """One page of a change feed: service-types, providers, service-users, care-package-lines,
        submission-events or remittances."""
        params: dict[str, Any] = {"limit": limit or settings.BACKOFFICE_PAGE_SIZE}
        if since:
            params["since"] = since
        body = self._request("GET", f"{API}/{resource}", params=params)
        try:
            return Page(
                results=list(body["results"]),
                next_cursor=str(body["next_cursor"]),
                has_more=bool(body["has_more"]),
            )
        except (KeyError, TypeError) as error:
            raise BackOfficeUnavailable(
                f"{resource}: a page without results, next_cursor and has_more"
            ) from error

    def payment_schedule(self) -> list[dict[str, Any]]:
        body = self._request("GET", f"{API}/payment-schedule")
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise BackOfficeUnavailable("payment-schedule: no results list")
        return results

    def health(self) -> bool:
        body = self._request("GET", f"{API}/health")
        return isinstance(body, dict) and body.get("status") == "ok"

    # Writes -----------------------------------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """POST a write with its idempotency key (fixed before the first attempt, the same on every retry)."""
        return self._request(
            "POST", f"{API}/{path}", json_body=body, headers={"Idempotency-Key": idempotency_key}
        )

    # Transport --------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                data=json.dumps(json_body) if json_body is not None else None,
                headers={
                    **(headers or {}),
                    **({"Content-Type": "application/json"} if json_body is not None else {}),
                },
                timeout=self.timeout,
            )
        except requests.RequestException as error:  # timeouts, refused and broken connections
            raise BackOfficeUnavailable(f"{method} {path}: {type(error).__name__}: {error}") from error
        if response.status_code == 429:
            raise BackOfficeUnavailable(f"{method} {path}: 429", retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise BackOfficeUnavailable(f"{method} {path}: {response.status_code}")
        try:
            body = response.json()
        except ValueError as error:
            raise BackOfficeUnavailable(
                f"{method} {path}: {response.status_code} with a body that is not JSON"
            ) from error
        if response.status_code >= 400:
            problem = body.get("error", {}) if isinstance(body, dict) else {}
            raise BackOfficeRefused(
                status=response.status_code,
                code=str(problem.get("code", "unknown")),
                message=str(problem.get("message", response.reason)),
                details=problem.get("details") or {},
            )
        return body


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
