"""One computation of a school year at a time, and the garbage collector paused while
rows are built.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import InterfaceError, OperationalError, connection

from miv.schoolyear import parse_school_year

logger = logging.getLogger(__name__)


# The first argument of pg_advisory_lock: "MIV" in ASCII, so MIV's locks are recognisable.
LOCK_NAMESPACE = 0x4D4956

_process_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
_process_locks_guard = threading.Lock()


@contextmanager
def no_automatic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of small rows are built
    and written. They hold no reference cycles (reference counting frees them), but each
    allocation burst would trigger full collections over the whole heap of a Django
    process, which measured as half of the job's own time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def school_year_lock(school_year: str) -> Iterator[None]:
    """Only one computation of a school year at a time.

    PostgreSQL: a session advisory lock. It is released when the connection ends, so a
    worker that is killed mid-job never leaves the year locked. SQLite (development, one
    process): a process lock; SQLite serialises writers anyway, and the publish step
    refuses to replace newer figures with older ones.
    """
    start = parse_school_year(school_year)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, start])
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, start])
            except (OperationalError, InterfaceError):
                # The connection is gone, and with it the lock.
                pass
        return
    with _process_locks_guard:
        lock = _process_locks[school_year]
    with lock:
        yield
