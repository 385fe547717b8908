"""The cache when Redis is away: a miss, not an error.

MIV's cache only saves work (disclosure patterns of a figure set, import progress, the
research rate limit); every value in it can be computed or read from the database again.
So when Redis cannot be reached, :class:`ResilientRedisCache` answers as an empty cache
would: ``get`` returns the default, ``set`` and ``delete`` do nothing. Pages and the API go
on, a little slower, instead of answering 500.

* Short timeouts (``socket_connect_timeout``/``socket_timeout``, 0.5 s and 1 s unless
  ``CACHE_URL`` says otherwise) and no retries inside redis-py, so a dead Redis costs a
  request at most one short wait.
* After a failure the cache is bypassed for ``DOWN_SECONDS`` (per process), so that not
  every request waits for a connection that will fail; then it is tried again.
* One warning per outage in the log, not one per call.

What this means for the research rate limit (``MIV_RESEARCH_RATE``): with Redis away the
throttle sees no history and lets requests through (it fails *open*); every request is
still written to the audit log in the database. Only connection errors and timeouts are
treated as a miss; any other Redis error (a bug) is raised as before.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

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


def _tolerant(on_outage):
    """Run the cache method; on an unreachable Redis return ``on_outage(*args, **kwargs)``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if self.unavailable():
                return on_outage(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self.mark_unavailable(exc)
                return on_outage(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _missing_key(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found")  # as for a key that is not in the cache


def _empty(*args, **kwargs):
    return {}


def _all_failed(data, *args, **kwargs):
    return list(data)


class ResilientRedisCache(RedisCache):
    """Django's Redis cache that treats an unreachable Redis as an empty cache."""

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

    def unavailable(self) -> bool:
        return _down_until.get(self._location, 0.0) > time.monotonic()

    def mark_unavailable(self, exc: BaseException) -> None:
        with _lock:
            first = not self.unavailable()
            _down_until[self._location] = time.monotonic() + DOWN_SECONDS
        if first:
            logger.warning(
                "cache unreachable (%s: %s); serving without cache, next try in %.0f s",
                type(exc).__name__,
                exc,
                DOWN_SECONDS,
            )

    get = _tolerant(_default)(RedisCache.get)
    set = _tolerant(_nothing)(RedisCache.set)
    # "Not added": whoever uses add() as a lock does not get it while Redis is away.
    add = _tolerant(_false)(RedisCache.add)
    touch = _tolerant(_false)(RedisCache.touch)
    delete = _tolerant(_false)(RedisCache.delete)
    get_many = _tolerant(_empty)(RedisCache.get_many)
    has_key = _tolerant(_false)(RedisCache.has_key)
    incr = _tolerant(_missing_key)(RedisCache.incr)
    set_many = _tolerant(_all_failed)(RedisCache.set_many)
    delete_many = _tolerant(_nothing)(RedisCache.delete_many)
    clear = _tolerant(_nothing)(RedisCache.clear)
