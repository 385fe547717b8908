"""The live server of the browser tests: one request at a time on SQLite.

On SQLite the test database is an in-memory database in shared-cache mode. pytest-django
starts its session-wide live server before that database exists, so the server's request
threads do not get the test's connection; each opens its own connection to the shared
cache. There a write lock is per table and a second writer fails at once with "database
table is locked": SQLite's busy timeout (``timeout`` in settings) does not apply to it.
Measured in CI: a registration's recomputation of the figures (run eagerly after its
response, ``reporting.tasks.finish_request``) was still in its transaction when the next
request saved its session, and that request failed with ``SessionInterrupted`` (400).

Outside the tests SQLite is a file, where writers wait for each other (IMMEDIATE
transactions, busy timeout), and on PostgreSQL the live server keeps its concurrent
threads. So only tests on SQLite are serialised: a request, including what runs after its
response, ends before the next one starts.
"""

import threading
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer


class _ReleasedOnClose:
    """The response body; the lock is released when the server closes it, that is after
    the response has been sent and Django's ``request_finished`` has run."""

    def __init__(self, body: Iterable[bytes], lock: threading.Lock):
        self.body = body
        self.lock = lock

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.lock.release()


def one_request_at_a_time(application: Callable) -> Callable:
    lock = threading.Lock()

    def serialised(environ, start_response):
        lock.acquire()
        try:
            body = application(environ, start_response)
        except BaseException:
            lock.release()
            raise
        return _ReleasedOnClose(body, lock)

    return serialised


class LiveServer(ThreadedWSGIServer):
    """Django's threaded live server; on SQLite its requests are serialised."""

    def set_app(self, application: Callable) -> None:
        if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
            application = one_request_at_a_time(application)
        super().set_app(application)
