"""The change feed never skips a change that commits late (CONTROCC_API.md, "Conventions"; feed.py).

Two real transactions on PostgreSQL, each on its own connection (threads): the first takes a feed number
and holds its transaction open; the second writes and tries to commit; a reader polls in between and
stores its cursor; then both commit. The reader's next poll must return both changes, exactly once.
The control test does the same with a plain sequence (rows inserted without feed_append's lock) and
shows the change that committed late is lost: the hazard is real, and this test would see it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from contrOCC_sync.simulator.backoffice.feed import Change, feed_append, feed_page
from contrOCC_sync.simulator.backoffice.models import FeedEntry
from contrOCC_sync.simulator.clock import now

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL race")

STREAM = FeedEntry.Stream.PROVIDERS


def plain_insert(changes: list[Change]) -> None:
    """What a naive feed does: take the next number from the sequence, no serialisation."""
    FeedEntry.objects.bulk_create(
        [FeedEntry(stream=c.stream, key=c.key, payload=c.payload, created_at=now()) for c in changes]
    )


def change(key: str) -> Change:
    return Change(STREAM, key, {"ref": key})


def keys(since: str | None) -> tuple[list[str], str]:
    page = feed_page(stream=STREAM, since=since, limit=100)
    return [row["ref"] for row in page.results], page.next_cursor


def race(write: Callable[[list[Change]], None]) -> tuple[list[str], list[str], bool]:
    """First writer takes its number and commits late; returns (first poll, second poll, whether the
    second writer had to wait for the first)."""
    first_wrote, release_first, second_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                write([change("first")])
                first_wrote.set()
                assert release_first.wait(10)
        except BaseException as exc:  # surfaced in the test thread
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            with transaction.atomic():
                write([change("second")])
            second_done.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_wrote.wait(10)
    two = threading.Thread(target=second)
    two.start()
    second_waited = not second_done.wait(1.0)  # a plain sequence lets it commit at once
    polled, cursor = keys(None)  # a reader polls in between and keeps the cursor it gets
    release_first.set()
    one.join(10)
    two.join(10)
    assert not errors, errors
    later, _ = keys(cursor)
    return polled, later, second_waited


@pytest.mark.django_db(transaction=True)
def test_a_change_that_commits_late_is_not_skipped():
    polled, later, second_waited = race(feed_append)
    assert second_waited, "the second writer should queue behind the first's uncommitted number"
    assert polled == []  # nothing committed yet that could be read past
    assert later == ["first", "second"]  # both, once each, in commit order
    assert keys(None)[0] == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_control_a_plain_sequence_skips_the_late_commit():
    polled, later, second_waited = race(plain_insert)
    assert not second_waited
    assert polled == ["second"]  # the reader's cursor is now past the first writer's number...
    assert later == []  # ...so when "first" commits, the reader never sees it
    assert keys(None)[0] == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_feed_append_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        feed_append([change("x")])
