"""The cache when Redis is away: a local miss, not an error.

MIV's cache only saves work (disclosure patterns of a figure set, import progress, the
research rate limit); every value in it can be computed or read from the database again.
So when Redis cannot be reached, :class:`ResilientRedisCache` carries on with a small cache
in the process's own memory (Django's ``LocMemCache``): the first request computes what it
needs from the database, later ones in the same process find it there. Pages and the API
go on instead of answering 500. Once Redis answers again it is used again (keys of figures
carry the figure set's id, so nothing kept locally can be mistaken for newer data).

* Short timeouts (``socket_connect_timeout``/``socket_timeout``, 0.5 s and 1 s unless
  ``CACHE_URL`` says otherwise) and no retries inside redis-py, so a dead Redis costs a
  request at most one short wait.
* After a failure Redis is bypassed for ``DOWN_SECONDS`` (per process), so that not every
  request waits for a connection that will fail; then it is tried again.
* One warning per outage in the log, not one per call.

What this means for the research rate limit (``MIV_RESEARCH_RATE``): with Redis away each
gunicorn worker process counts on its own, so a client gets up to the rate per process (it
fails *open*, partly); every request is still written to the audit log in the database.
Only connection errors and timeouts switch to the local cache; any other Redis error (a
bug) is raised as before.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

DOWN_SECONDS = 5.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# Per Redis location and process: until when the cache is bypassed.
_down_until: dict[str, float] = {}
_lock = threading.Lock()


def _tolerant(method):
    """Run the Redis cache method; while Redis is unreachable, the same method of the
    process's local cache."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not self.unavailable():
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self.mark_unavailable(exc)
        return getattr(self.local, name)(*args, **kwargs)

    return wrapper


class ResilientRedisCache(RedisCache):
    """Django's Redis cache that falls back to the process's memory while Redis is away."""

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        # redis-py (>= 6) retries three times with backoff by default: seconds per call.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        # Per process and location; bounded, as the values are only there to save work.
        self.local = LocMemCache(
            f"miv-fallback-{self._location}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 500}},
        )

    def unavailable(self) -> bool:
        return _down_until.get(self._location, 0.0) > time.monotonic()

    def mark_unavailable(self, exc: BaseException) -> None:
        with _lock:
            first = not self.unavailable()
            _down_until[self._location] = time.monotonic() + DOWN_SECONDS
        if first:
            logger.warning(
                "cache unreachable (%s: %s); using this process's memory, next try in %.0f s",
                type(exc).__name__,
                exc,
                DOWN_SECONDS,
            )

    get = _tolerant(RedisCache.get)
    set = _tolerant(RedisCache.set)
    add = _tolerant(RedisCache.add)
    touch = _tolerant(RedisCache.touch)
    delete = _tolerant(RedisCache.delete)
    get_many = _tolerant(RedisCache.get_many)
    has_key = _tolerant(RedisCache.has_key)
    incr = _tolerant(RedisCache.incr)
    set_many = _tolerant(RedisCache.set_many)
    delete_many = _tolerant(RedisCache.delete_many)
    clear = _tolerant(RedisCache.clear)
