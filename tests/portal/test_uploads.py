"""The upload limit (portal/uploads.py) under Django's own multipart parser: a file over the limit stops
the upload after at most `max_bytes` of it went on to the handlers that store files, a body declared
too big stops before the file's first byte, and a file within the limit passes through whole."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from portal.uploads import UploadLimitHandler, upload_limit_install

KB = 1024
CHUNK = UploadLimitHandler.chunk_size  # 64 KB: the parser reads in chunks of the smallest handler's


class Recorder(FileUploadHandler):
    """Next after the limit: records what it is given, as the handlers that store the file would be."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []
        self.chunks: list[int] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files.append(self.file_name or "")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.chunks.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def parse(limit: UploadLimitHandler, file_bytes: int) -> tuple[Any, Any, Recorder, io.BytesIO]:
    """Post the token, a file of `file_bytes` and a field after it through the limit, the recorder and
    Django's two storing handlers; the POST, FILES, the recorder and the body as read."""
    body = encode_multipart(
        BOUNDARY,
        {
            "csrfmiddlewaretoken": "token-before-the-file",
            "file": SimpleUploadedFile("claim-form.xlsx", b"x" * file_bytes),
            "after": "a field after the file",
        },
    )
    stream = io.BytesIO(body)
    recorder = Recorder()
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    handlers = [limit, recorder, MemoryFileUploadHandler(), TemporaryFileUploadHandler()]
    post, files = MultiPartParser(meta, stream, handlers, "utf-8").parse()
    return post, files, recorder, stream


def test_a_file_over_the_limit_stops_the_upload_once_it_passes() -> None:
    # A body the request's length allows (as a form of several files would): the count stops the file.
    limit = UploadLimitHandler(max_bytes=256 * KB, max_request_bytes=100 * 1024 * KB)
    post, files, recorder, stream = parse(limit, 4 * 1024 * KB)
    assert limit.exceeded
    assert recorder.files == ["claim-form.xlsx"]
    # The chunk that passed the limit went no further, nor anything after it: 4 or 5 of the file's 64.
    assert sum(recorder.chunks) <= 256 * KB < sum(recorder.chunks) + CHUNK
    assert len(recorder.chunks) <= 256 * KB // CHUNK + 1
    assert not files
    assert post["csrfmiddlewaretoken"] == "token-before-the-file" and "after" not in post
    assert stream.tell() == len(stream.getvalue())  # the rest was read and thrown away, not kept


def test_a_body_declared_too_big_stops_before_the_file_is_kept() -> None:
    limit = UploadLimitHandler(max_bytes=256 * KB)
    post, files, recorder, _stream = parse(limit, 4 * 1024 * KB)
    assert limit.exceeded
    assert recorder.files == [] and recorder.chunks == []  # no handler after it ever saw the file
    assert not files
    assert post["csrfmiddlewaretoken"] == "token-before-the-file"


def test_a_file_within_the_limit_passes_whole() -> None:
    limit = UploadLimitHandler(max_bytes=256 * KB)
    post, files, recorder, _stream = parse(limit, 256 * KB)  # exactly the limit is within it
    assert not limit.exceeded
    assert sum(recorder.chunks) == 256 * KB
    assert files["file"].read() == b"x" * 256 * KB
    assert post["after"] == "a field after the file"


def test_the_limit_is_a_parameter() -> None:
    small = UploadLimitHandler(max_bytes=10 * KB)
    assert small.max_request_bytes == 10 * KB + 64 * KB
    assert UploadLimitHandler(max_bytes=10 * KB, max_request_bytes=500 * KB).max_request_bytes == 500 * KB
    _post, files, recorder, _stream = parse(small, 10 * KB + 1)
    assert small.exceeded and not files and sum(recorder.chunks) == 0


def test_installing_once_the_body_is_read_fails_loudly() -> None:
    request = RequestFactory().post("/", {"file": SimpleUploadedFile("a.csv", b"a,b\n")})
    assert request.FILES["file"]
    with pytest.raises(AttributeError, match="after the upload has been processed"):
        upload_limit_install(request, max_bytes=KB)
