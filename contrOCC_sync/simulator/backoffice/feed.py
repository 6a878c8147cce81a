"""The change feed behind every list the portal pulls: ordered, cursor-paged, and never skipping a change.

A plain sequence skips: transaction A takes number 7, transaction B takes 8 and commits first, a reader
sees 8 and stores cursor 8, then A commits 7 behind the cursor, lost. So numbers here are assigned in
commit order: on PostgreSQL `feed_append` takes a self-conflicting lock on the feed table (SHARE ROW
EXCLUSIVE: writers queue, readers never wait) before it draws any number, and holds it until its
transaction ends. A transaction that drew number n has therefore committed (or rolled back, leaving a
permanent gap) before any other can draw n+1, and locks are released only after the commit is visible,
so every reader's snapshot holds a prefix of the numbers. SQLite serialises writers itself (the
demo's IMMEDIATE transactions take the write lock at BEGIN), so its ids are already in commit order.

What must stay true: call `feed_append` once, as the last statement of its transaction (nothing after it
may wait on another transaction's lock), so the lock is held for microseconds and cannot deadlock.
docs/backoffice-simulator.md explains why this and not the xid8 / snapshot-xmin technique.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from .. import clock
from .models import FeedEntry

CURSOR_PREFIX = "v1-"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class CursorError(ValueError):
    """The cursor is not one this feed handed out."""


@dataclass(frozen=True)
class Change:
    stream: str
    key: str
    payload: dict[str, Any]


def feed_append(changes: list[Change]) -> None:
    """Publish changes; only inside a transaction, and as its last write."""
    if not changes:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("feed_append must run inside the transaction that made the changes.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {FeedEntry._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    at = clock.now()
    FeedEntry.objects.bulk_create(
        [FeedEntry(stream=c.stream, key=c.key, payload=c.payload, created_at=at) for c in changes],
        batch_size=500,
    )


def encode_cursor(position: int) -> str:
    return f"{CURSOR_PREFIX}{position}"


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX) :].isdigit():
        raise CursorError(cursor)
    return int(cursor[len(CURSOR_PREFIX) :])


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


def feed_page(*, stream: str, since: str | None, limit: int) -> Page:
    """The changes after `since`, oldest first, in one statement (one snapshot)."""
    position = decode_cursor(since)
    rows = list(
        FeedEntry.objects.filter(stream=stream, id__gt=position)
        .order_by("id")
        .values_list("id", "payload")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else position
    return Page(results=[payload for _, payload in rows], next_cursor=encode_cursor(last), has_more=has_more)
