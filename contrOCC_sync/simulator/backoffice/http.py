"""What every API view shares: JSON in and out, the error shape, field parsing, idempotent writes."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import clock
from .models import IdempotencyRecord

Answer = tuple[int, dict[str, Any]]


class ApiError(Exception):
    """An answer other than success: `{"error": {"code", "message", "details"}}` with its status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    return JsonResponse(ApiError(status, code, message, details).body(), status=status)


def malformed(message: str, **details: Any) -> ApiError:
    return ApiError(400, "malformed", message, details)


def api_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Allow these methods and turn an ApiError into its JSON answer."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error_response(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return JsonResponse(exc.body(), status=exc.status)

        return wrapper

    return decorate


def read_json(request: HttpRequest) -> Any:
    """The body as JSON, numbers as Decimal (never floats)."""
    if not request.body:
        return {}
    try:
        return json.loads(request.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed("The body is not valid JSON.") from exc


def read_object(request: HttpRequest) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise malformed("The body must be a JSON object.")
    return body


# Fields ------------------------------------------------------------------------------------------

_MISSING = object()


def field(body: dict[str, Any], name: str, *, required: bool = True, default: Any = None) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise malformed(f"{name} is required.", field=name)
        return default
    return value


def text(body: dict[str, Any], name: str, *, required: bool = True, max_length: int = 200) -> str:
    value = field(body, name, required=required, default="")
    if not isinstance(value, str) or len(value) > max_length:
        raise malformed(f"{name} must be text of at most {max_length} characters.", field=name)
    if required and not value.strip():
        raise malformed(f"{name} is required.", field=name)
    return value


def decimal(
    body: dict[str, Any], name: str, *, required: bool = True, signed: bool = False, places: int = 2
) -> Decimal:
    value = field(body, name, required=required, default=Decimal(0))
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise malformed(f'{name} must be a decimal string such as "7.25".', field=name)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise malformed(f'{name} must be a decimal string such as "7.25".', field=name) from exc
    exponent = number.as_tuple().exponent
    if not number.is_finite() or (isinstance(exponent, int) and -exponent > places):
        raise malformed(f"{name} must have at most {places} decimal places.", field=name)
    if not signed and number < 0:
        raise malformed(f"{name} must not be negative.", field=name)
    if abs(number) >= Decimal(10) ** 9:
        raise malformed(f"{name} is too large.", field=name)
    return number.quantize(Decimal(1).scaleb(-places))


def date(body: dict[str, Any], name: str, *, required: bool = True) -> dt.date | None:
    value = field(body, name, required=required)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise malformed(f"{name} must be a date as YYYY-MM-DD.", field=name) from exc


def moment(body: dict[str, Any], name: str, *, required: bool = True) -> dt.datetime | None:
    value = field(body, name, required=required)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise malformed(f"{name} must be a time in ISO 8601 with its offset.", field=name) from exc
    if parsed.tzinfo is None:
        raise malformed(f"{name} must carry its UTC offset.", field=name)
    return parsed


def positive_int(body: dict[str, Any], name: str) -> int:
    value = field(body, name)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).isdigit()
        or int(value) < 1
    ):
        raise malformed(f"{name} must be a whole number from 1.", field=name)
    return int(value)


def portal_line_id(body: dict[str, Any], name: str = "portal_line_id") -> str:
    """The portal's line identifier: a JSON integer or a string (kept as text; see `portal_line_id_out`)."""
    value = field(body, name)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise malformed(f"{name} must be an integer or a string.", field=name)
    if len(str(value)) > 64:
        raise malformed(f"{name} is too long.", field=name)
    return str(value)


def portal_line_id_out(value: str) -> int | str:
    """Identifiers made of digits go back as JSON integers, anything else as the string sent."""
    return int(value) if value.isdigit() and (value == "0" or not value.startswith("0")) else value


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


# Idempotent writes -------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _request_hash(request: HttpRequest, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(request: HttpRequest, handle: Callable[[dict[str, Any]], Answer]) -> JsonResponse:
    """Run a write once per Idempotency-Key: the first answer is stored in the write's own transaction.

    The same key and body answer the stored status and body again; the same key with another body (or
    path) is 409; no key is 400. A second request racing the first on the same key waits on the key's
    unique index until the first commits, then replays it. Malformed JSON is refused before the key
    is looked at (there is nothing to remember); every answer the handler gives, 4xx included, is kept.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise ApiError(400, "idempotency_key_missing", f"Every write needs an {IDEMPOTENCY_HEADER} header.")
    if len(key) > 255 or not key.isprintable():
        raise malformed(f"The {IDEMPOTENCY_HEADER} header must be printable text of at most 255 characters.")
    body = read_object(request)
    request_hash = _request_hash(request, body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    key=key, request_hash=request_hash, method=request.method or "", path=request.path,
                    created_at=clock.now(),
                )  # fmt: skip
        except IntegrityError:
            first = IdempotencyRecord.objects.get(key=key)
            if first.request_hash != request_hash:
                raise ApiError(
                    409, "idempotency_key_reused", "This Idempotency-Key was used with a different request."
                ) from None
            response = JsonResponse(json.loads(first.body), status=first.status_code or 200)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            with transaction.atomic():
                status, payload = handle(body)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        record.status_code = status
        record.body = json.dumps(payload)
        record.save(update_fields=["status_code", "body"])
    return JsonResponse(payload, status=status)
