"""Files people send the portal (attachments, receipts): what they are, judged from their content, never
from their name or the browser's word; names cleaned for showing; stored outside the web root under a
random name.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# What each kind starts with (its "magic" bytes).
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


def sniff(data: bytes, *, allow: frozenset[str]) -> Sniffed | None:
    """The file's type from its content, if it is one of `allow` (extensions); None otherwise. A workbook
    must be a zip naming a workbook, with no macros."""
    for magic, content_type, extension in _SIGNATURES:
        if data.startswith(magic):
            return Sniffed(content_type, extension) if extension in allow else None
    if "xlsx" in allow and data.startswith(b"PK\x03\x04") and _is_workbook(data):
        return Sniffed(*XLSX)
    return None


def _is_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or any(n.endswith("vbaProject.bin") for n in names):
                return False
            if archive.getinfo("[Content_Types].xml").file_size > 200_000:  # never inflate a bomb
                return False
            with archive.open("[Content_Types].xml") as part:
                types = part.read(200_000)
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return b"spreadsheetml.sheet.main+xml" in types


def clean_name(name: str, extension: str) -> str:
    """A name safe to show and to offer in a download: letters, digits, spaces, dots, dashes and
    underscores, at most 100 characters, ending in the extension its content says."""
    stem = Path(unicodedata.normalize("NFKC", name).replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^\w .-]+", "_", stem, flags=re.ASCII).strip(" ._") or "file"
    return f"{stem[:100]}.{extension}"


def store(data: bytes, *, folder: str) -> tuple[str, str]:
    """Write the file under VAR_DIR/`folder` with a random name; returns (stored name, SHA-256)."""
    target = Path(settings.VAR_DIR) / "files" / folder
    target.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16)
    (target / stored).write_bytes(data)
    return stored, hashlib.sha256(data).hexdigest()


def stored_path(folder: str, stored: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", stored):
        raise FileNotFoundError(stored)
    return Path(settings.VAR_DIR) / "files" / folder / stored
