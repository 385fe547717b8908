"""The reporting engine: a school year's figures from the registrations.

``compute_school_year`` (:mod:`.compute`) is the whole computation. It

1. takes a per-school-year lock (:mod:`.locking`: a PostgreSQL advisory lock; a process lock
   on SQLite),
2. aggregates **in the database** (:mod:`.rows`): ``GROUP BY institution, type, victim
   role`` over the year's counted incidents, and per institution and month for the same
   period's publication, in one scan on PostgreSQL (never a loop over incidents in Python),
3. rolls the small aggregate up to subcategories, categories, the report's two groups and
   the total with one matrix product (the groups are :mod:`reporting.groups`), and computes
   rates, sector summaries and the correlations with the JOB and MO scores with the
   vectorised functions of :mod:`reporting.stats`,
4. writes a new :class:`~reporting.models.FigureSet` (:mod:`.store`: PostgreSQL binary
   ``COPY``) while it is ``building``, protects it (:mod:`reporting.publication`),
5. and makes it ``current`` in one short transaction. Readers select rows through the
   current set, so they see the old figures or the new ones, never a mix.

It is idempotent: the same inputs give the same rows. Staleness is tracked per school year
(:mod:`.staleness`, :class:`~reporting.models.FigureYear`), so changes are recomputed once
per burst: :func:`reporting.tasks.note_inputs_changed` marks and sends, the task
``recompute_stale_year`` asks ``debounce_decision``. Jobs (:mod:`.jobs`) record each
computation for the job API. The engine never imports :mod:`reporting.tasks`; the tasks
import the engine.

Readers of figures import :mod:`reporting.groups` and :mod:`reporting.surveys`, not the
engine. Below, the interface the rest of MIV uses.
"""

from .compute import compute_school_year
from .jobs import active_job, create_job, fail_job, run_job, start_job
from .staleness import known_school_years, years_for_nightly_run

__all__ = [
    "active_job",
    "compute_school_year",
    "create_job",
    "fail_job",
    "known_school_years",
    "run_job",
    "start_job",
    "years_for_nightly_run",
]
