"""Refusing an oversized upload while it arrives, not once Django has stored it.

Django stores each file of a multipart body as it reads it (in memory, or in a temporary file beyond
FILE_UPLOAD_MAX_MEMORY_SIZE), and a form only sees the file's size once the whole of it is in.
`UploadLimitHandler` goes first among the request's upload handlers and stops the upload
(`StopUpload`) as soon as a file passes `max_bytes`, or at the first file when the request declares a
body (its Content-Length) bigger than `max_request_bytes`, so a file far too big keeps no byte at all.
The handlers after it never receive what is over, and nothing of the file reaches the view.

`connection_reset=False`: Django then reads the rest of the body and throws it away, a chunk at a
time (never buffered, never written), so the browser gets the form's error rather than a reset
connection. Bytes on the wire are bounded by the proxy in front (docs/architecture.md, "Uploads").

The fields before the file are read as usual: the CSRF token must come before the file input in the
form (`{% csrf_token %}` first). CsrfViewMiddleware reads the body before the view runs, so a view
installs the handler in `UploadLimitMixin`, which checks CSRF itself afterwards (Django's "Modifying
upload handlers on the fly").
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# What a form posts besides its file: the multipart boundaries and headers, the CSRF token, a few
# short fields. A body bigger than the limit by more than this cannot hold a file within the limit.
FORM_ALLOWANCE_BYTES = 64 * 1024


class UploadLimitHandler(FileUploadHandler):
    """Passes each file's chunks on to the next handlers until the file passes `max_bytes`; then stops
    the upload and sets `exceeded`. `max_request_bytes` (by default one file of `max_bytes` and the
    form around it) refuses, before the first byte of a file is kept, a body declared too big."""

    def __init__(
        self, request: HttpRequest | None = None, *, max_bytes: int, max_request_bytes: int | None = None
    ) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.max_request_bytes = (
            max_bytes + FORM_ALLOWANCE_BYTES if max_request_bytes is None else max_request_bytes
        )
        self.exceeded = False
        self._declared_too_big = False
        self._received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes | str,
        encoding: str | None = None,
    ) -> None:
        # Not refused here: the CSRF token is in the body, before the file.
        self._declared_too_big = content_length > self.max_request_bytes

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0
        if self._declared_too_big or (
            self.content_length is not None and self.content_length > self.max_bytes
        ):
            self._stop()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > self.max_bytes:
            self._stop()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the handlers after this one make the file

    def _stop(self) -> None:
        self.exceeded = True
        raise StopUpload(connection_reset=False)


def upload_limit_install(
    request: HttpRequest, *, max_bytes: int, max_request_bytes: int | None = None
) -> UploadLimitHandler:
    """Put an `UploadLimitHandler` first on `request`. Django refuses (AttributeError) once the body has
    been read: install it before anything touches request.POST or request.FILES."""
    handler = UploadLimitHandler(request, max_bytes=max_bytes, max_request_bytes=max_request_bytes)
    request.upload_handlers = [handler, *request.upload_handlers]
    return handler


class UploadLimitMixin:
    """A view that takes a file of at most `get_upload_max_bytes()`: the limit is in place before the
    body is read, and `self.upload_limit.exceeded` says whether the file was refused (it is then not in
    request.FILES). Exempt from the CSRF middleware only to check CSRF here, after the install."""

    upload_max_bytes: int = 0
    upload_max_request_bytes: int | None = None  # several files: what they may come to together
    upload_limit: UploadLimitHandler

    def get_upload_max_bytes(self) -> int:
        return self.upload_max_bytes

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.upload_limit = upload_limit_install(
            request, max_bytes=self.get_upload_max_bytes(), max_request_bytes=self.upload_max_request_bytes
        )
        return csrf_protect(super().dispatch)(request, *args, **kwargs)  # type: ignore[misc]
