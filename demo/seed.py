"""Fictitious but realistic demo data: the shop window of ``make demo``.

Twelve invented institutions, their locations, one user per role, DUO-style student counts,
JOB and MO survey scores, and a few thousand incidents over the last three complete school
years and the current one. Deterministic (fixed seed), so every demo shows the same figures.

Each feature seeds its own part in its own module of this package; :func:`seed_demo` calls
them in order. A feature the demo does not show is not finished: add its step here.
"""

import random
from datetime import date

from django.db import transaction
from django.utils import timezone

from demo.accounts import seed_accounts
from demo.closed_loop import seed_closing_notes
from demo.data import INSTITUTIONS, SEED
from demo.incidents import LEGACY_BRIN, seed_incidents, seed_legacy_import
from demo.people import research_token, seed_institutions, seed_users
from demo.quality import seed_incomplete_year, seed_registration_times
from demo.questionnaire import seed_questionnaire
from demo.registers import seed_safety_scores, seed_student_counts
from incidents.models import Institution
from miv.schoolyear import school_year_from_start, school_year_of
from reporting.engine import compute_school_year
from reporting.tasks import recomputation_deferred


def demo_school_years(today: date) -> list[str]:
    """The last three complete school years and the current one, oldest first."""
    current_start = int(school_year_of(today)[:4])
    return [school_year_from_start(current_start - n) for n in (3, 2, 1, 0)]


def seed_demo(today: date | None = None) -> dict:
    """Create the demo data unless it is there already. Returns what was done and the logins."""
    today = today or timezone.localdate()
    rng = random.Random(SEED)
    school_years = demo_school_years(today)
    # Every change below claims its year's recomputation; it waits until the end, where
    # each year is computed once.
    with recomputation_deferred():
        with transaction.atomic():
            already = Institution.objects.filter(brin=INSTITUTIONS[0].brin).exists()
            institutions = seed_institutions()
            logins = seed_users(institutions)
            seed_student_counts(institutions, school_years, rng)
            seed_safety_scores(institutions, today, rng)
            incidents = 0
            if not already:
                incidents = seed_incidents(institutions, school_years, today, rng)
                # Registration quality (issue 12): when and how the demo users registered, and
                # a first year that one institution marked not usable for the sector.
                seed_registration_times(today, rng)
                seed_incomplete_year(institutions, school_years[0])
            responses = seed_questionnaire(institutions, school_years)
            notes = seed_closing_notes(today)
            seed_accounts(institutions)
        if not already:
            # Outside the transaction: the import job's check and import are queued on commit.
            seed_legacy_import(institutions[LEGACY_BRIN], school_years[-2], rng)
        # The figures of the demo years (rates, sector, correlations, the publication), so
        # figures are there at once; bulk-created incidents send no change signals. Each
        # year once: its publication's integer audit takes seconds, not the seed's changes.
        for school_year in school_years:
            compute_school_year(school_year)
    return {
        "created": not already,
        "incidents": incidents,
        "questionnaire_responses": responses,
        "closing_notes": notes,
        "school_years": school_years,
        "logins": logins,
        "research_token": research_token(),
    }
