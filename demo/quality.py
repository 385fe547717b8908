"""Demo of registration quality (issue 12): what the coordinators' to-do lists show.

* The incidents that the demo coordinators and registrars registered themselves are
  registrations *in MIV* (the others stand for imports from earlier registers): each gets
  its "registered" event and a registration moment some time after the incident, prompt at
  ROC Rivierenland-West, often late at ROC Metropool Amstel (a to-do there).
* ROC Twente-Vecht's first demo year is incomplete: its Hardenberg location kept its own
  register that was never delivered, so that year has no registration from Hardenberg, and
  the coordinator marked it not usable for the sector, with that reason. The figures of that
  year leave Twente-Vecht out (see "Kwaliteit van de registratie" as coordinator.twente).

Runs once, when the demo incidents are created; the mark is idempotent.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from incidents.choices import EventAction
from incidents.models import Incident, IncidentEvent, Institution
from reporting.usability import mark_unusable

# Days between incident and registration: (share, lowest, highest) per institution.
PROMPT = [(0.70, 0, 0), (0.25, 1, 3), (0.05, 4, 10)]
LATE = [(0.40, 0, 0), (0.25, 1, 5), (0.35, 8, 40)]
DELAYS = {"91RA": PROMPT, "91RD": LATE, "91RG": PROMPT}

INCOMPLETE_BRIN = "91RG"
INCOMPLETE_LOCATION = "HAR"
INCOMPLETE_REASON = (
    "Alleen de vestiging Almelo registreerde in dit schooljaar; Hardenberg hield een eigen "
    "register bij dat niet is aangeleverd. De cijfers zouden Twente-Vecht te laag tonen."
)


def _delay(rng: random.Random, profile) -> int:
    draw = rng.random()
    for share, low, high in profile:
        if draw < share:
            return rng.randint(low, high)
        draw -= share
    return 0


def seed_registration_times(today: date, rng: random.Random) -> int:
    """Registered-in-MIV events and registration moments for the demo users' incidents.
    Returns how many incidents were updated."""
    chosen = Incident.objects.filter(
        registered_by__isnull=False, external_id="", institution__brin__in=list(DELAYS)
    )
    incidents = list(chosen.select_related("institution").order_by("pk"))
    now = timezone.now()
    for incident in incidents:
        day = min(
            incident.occurred_on + timedelta(days=_delay(rng, DELAYS[incident.institution.brin])),
            today,
        )
        hour = (incident.occurred_at or time(8)).hour + 1
        incident.created_at = min(
            timezone.make_aware(datetime.combine(day, time(min(hour, 20), rng.randint(0, 59)))),
            now,
        )
    # One statement per row in a batch: Django's bulk_update builds CASE expressions that
    # took seconds for the few thousand demo rows.
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET created_at = %s WHERE id = %s",
            [(adapt(i.created_at), i.pk) for i in incidents],
        )
    # Their history: "registered" by the user, at that moment (instead of "imported").
    IncidentEvent.objects.filter(incident__in=chosen, action=EventAction.IMPORTED).delete()
    IncidentEvent.objects.bulk_create(
        [
            IncidentEvent(
                incident=i, actor_id=i.registered_by_id, action=EventAction.CREATED, at=i.created_at
            )
            for i in incidents
        ],
        batch_size=2000,
    )
    return len(incidents)


def seed_incomplete_year(institutions: dict[str, Institution], school_year: str) -> None:
    """Twente-Vecht's year without Hardenberg, marked not usable by its coordinator."""
    institution = institutions[INCOMPLETE_BRIN]
    Incident.objects.filter(
        institution=institution,
        school_year=school_year,
        location__code=INCOMPLETE_LOCATION,
        external_id="",
    ).delete()
    coordinator = get_user_model().objects.get(username="coordinator.twente")
    mark_unusable(
        actor=coordinator,
        institution=institution,
        school_year=school_year,
        reason=INCOMPLETE_REASON,
    )
