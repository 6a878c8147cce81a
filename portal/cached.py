"""Figures every page shows, kept in the cache under the generations of what they are computed from.

A figure (the unread messages beside "Messages", the notices on the home page) is cached under its key
and the current generation of each thing it depends on ("notices", "threads:provider:12"). A service
that changes one of those things calls `changed(name)`: the name gets a new generation (at once, and
again when the transaction commits), so the next `figure(...)` misses and computes it again. Nothing stale is shown after a
change that says so; an unchanged figure costs one cache round trip (two with the generations) instead of
its queries. What a figure also depends on without saying so is bounded by `timeout`.

A generation is a random token, not a counter: one lost from the cache (Redis restarted, evicted) comes
back as a new value, never as an old one that might still name a cached figure (nor a timestamp, which a
test's frozen clock would repeat). If the cache cannot
be reached, the figure is computed as if nothing were cached.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TIMEOUT = 10 * 60


def _new() -> str:
    return secrets.token_hex(8)


def _generation_key(name: str) -> str:
    return f"generation:{name}"


def changed(*names: str) -> None:
    """Give each of `names` a new generation now and again once the current transaction commits: now, so
    that what this transaction reads next (and a test, which never commits) sees the change; after the
    commit, so that a figure another process computed meanwhile from the rows as they were is not kept."""

    def bump() -> None:
        try:
            cache.set_many({_generation_key(name): _new() for name in names}, timeout=None)
        except Exception:  # the figures then wait for their timeout: say so, but the change stands
            logger.exception("could not mark %s changed in the cache", ", ".join(names))

    bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bump)


def _generations(names: Sequence[str]) -> list[str]:
    keys = [_generation_key(name) for name in names]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, _new(), timeout=None)  # another process may have just added one
            found[key] = cache.get(key)
    return [found[key] for key in keys]


def figure(
    key: str, *, depends_on: Sequence[str], compute: Callable[[], T], timeout: int = DEFAULT_TIMEOUT
) -> T:
    """`compute()`, or what it returned last time if nothing in `depends_on` has changed since."""
    try:
        full_key = ":".join([key, *map(str, _generations(depends_on))])
        hit = cache.get(full_key)
    except Exception:
        logger.exception("cache unavailable: computing %s", key)
        return compute()
    if hit is not None:
        return hit[0]
    value = compute()
    try:
        cache.set(full_key, (value,), timeout)
    except Exception:
        logger.exception("could not cache %s", key)
    return value
