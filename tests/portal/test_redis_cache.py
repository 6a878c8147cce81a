"""The cache backend keeps one Redis client per connection pool (portal/redis_cache.py)."""

from __future__ import annotations

from django.core.cache import cache

from portal.redis_cache import SharedClientRedisCache


def test_cache_calls_share_one_client_and_still_work() -> None:
    backend = SharedClientRedisCache(cache._cache._servers[0], {})  # type: ignore[attr-defined]
    backend.set("redis-cache-test", {"n": 1}, 30)
    first = backend._cache.get_client(write=True)
    assert backend.get("redis-cache-test") == {"n": 1}
    assert backend.get_many(["redis-cache-test", "missing"]) == {"redis-cache-test": {"n": 1}}
    assert backend._cache.get_client(write=True) is first is backend._cache.get_client(write=False)
    backend.delete("redis-cache-test")
    assert backend.get("redis-cache-test") is None
