"""How background work reaches a worker: one way to enqueue, one policy for a broker that is
away, and progress a page can poll.

**The policy: fail fast, say so, lose nothing.** :func:`send` makes one connection attempt
to the broker (2 s, no retries). When it fails, no further attempt is made for
:data:`BROKER_BACKOFF_SECONDS` (so while Redis is down, a burst of registrations does not wait
on it request after request) and the caller gets :class:`BrokerUnavailable`. Nothing is lost,
because the work is recorded in the database before it is sent:

* an import job (:func:`enqueue_job`) says so on its page ("the background processing is not
  reachable now, try again in a few minutes") and goes back to where the uploader can try
  again (its check failed; a confirmed import waits for confirmation again);
* a figures job requested through the API is marked failed and the API answers 503;
* a recomputation after a change is not needed at once: the year stays stale and the
  nightly run (or the next change) computes it.

Never does a request hang on the broker, and never is a job left "queued" without a message.
In the embedded default (no broker) tasks run eagerly in-process: :func:`send` runs them, and
a broker error raised there is treated as above.

Progress: a job's progress is on its row. Inside a long transaction (an import is one) an
update of the row stays invisible until the end, so :func:`progress_writer` publishes it
through the cache as well, and :func:`current_progress` prefers the cache while the job runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from .models import Job

logger = logging.getLogger(__name__)

BROKER_BACKOFF_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 2
_broker_down_until = 0.0


class BrokerUnavailable(Exception):
    """The task message could not be sent; the broker is (probably) down."""


def send(task, **options) -> None:
    """Send a task message (``apply_async`` options), failing fast when the broker is
    unreachable; see the module docstring."""
    global _broker_down_until
    if task.app.conf.task_always_eager:
        try:
            task.apply_async(**options)
        except KombuOperationalError as exc:
            raise BrokerUnavailable(str(exc)) from exc
        return
    if time.monotonic() < _broker_down_until:
        raise BrokerUnavailable("the broker was unreachable moments ago")
    transport_options = {**task.app.conf.broker_transport_options, "max_retries": 0}
    try:
        with task.app.connection_for_write(
            transport_options=transport_options, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as connection:
            task.apply_async(connection=connection, retry=False, **options)
    except Exception as exc:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        raise BrokerUnavailable(str(exc)) from exc
    _broker_down_until = 0.0


def unreachable_message() -> str:
    return _(
        "De achtergrondverwerking is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."
    )


def enqueue_job(job: Job, task, *, if_unreachable: str) -> None:
    """After the current transaction commits, send ``task(job_id)`` for ``job``. When the
    broker cannot be reached the job says so and moves to ``if_unreachable``, from where
    its owner can try again."""
    job_id = str(job.pk)

    def deliver() -> None:
        try:
            send(task, args=[job_id])
        except BrokerUnavailable as exc:
            logger.warning("job %s: broker unreachable, %s not queued (%s)", job_id, task.name, exc)
            Job.objects.transition(job_id, to=if_unreachable, error=unreachable_message())

    transaction.on_commit(deliver)


# --- Progress ------------------------------------------------------------------------------


def progress_cache_key(job_id) -> str:
    return f"miv:job-progress:{job_id}"


def publish_progress(job_id, fraction: float) -> None:
    cache.set(progress_cache_key(job_id), int(fraction * 100), timeout=3600)


def forget_progress(job_id) -> None:
    cache.delete(progress_cache_key(job_id))


def progress_writer(job_id, *, to_row: bool = True) -> Callable[[float], None]:
    """A callback for a fraction done (0.0-1.0), writing at most once per percent: to the
    cache always, and to the job's row unless the work runs in one transaction
    (``to_row=False``), where the row would show it only at the end."""
    last = [-1]

    def write(fraction: float) -> None:
        percent = max(0, min(100, int(fraction * 100)))
        if percent == last[0]:
            return
        last[0] = percent
        publish_progress(job_id, fraction)
        if to_row:
            Job.objects.filter(pk=job_id).update(progress=percent, updated_at=timezone.now())

    return write


def current_progress(job: Job) -> int:
    """Progress in percent: the cache while the job runs, else the row."""
    if job.running:
        cached = cache.get(progress_cache_key(job.pk))
        if cached is not None:
            return max(int(cached), job.progress)
    return job.progress
