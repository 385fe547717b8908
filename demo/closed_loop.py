"""Demo of the closed loop (issue 13): each demo registrar (``melder.*``) finds in "Mijn
meldingen" three recent reports: two that the coordinator closed with a note for them, one
still open. Registered and closed through the services, as on the pages, so the history
shows it too. Idempotent: a registrar who already has a note gets nothing new."""

from datetime import date, time, timedelta

from django.contrib.auth import get_user_model

from incidents import services
from incidents.choices import Injury, PerpetratorRole, Place, Role, VictimRole
from incidents.models import Incident, Membership
from taxonomy.models import IncidentType

# (days ago, type, place, victim, perpetrator, injury, description, note for the reporter)
REPORTS = [
    (
        2,
        "MIS.VER.02",
        Place.CORRIDOR,
        VictimRole.STAFF,
        PerpetratorRole.STUDENT,
        Injury.NONE,
        "Student schold een medewerker van de kantine uit na een opmerking over afval.",
        "",
    ),
    (
        6,
        "MIS.OVR.03",
        Place.GROUNDS,
        VictimRole.STUDENT,
        PerpetratorRole.UNKNOWN,
        Injury.NONE,
        "Fiets gestolen uit de stalling achter het hoofdgebouw; het slot was doorgeknipt.",
        "Het slot van de fietsenstalling is vervangen en er hangt nu een camera bij de "
        "ingang. Ziet u weer iets, meld het dan gerust opnieuw.",
    ),
    (
        12,
        "MIS.FYS.06",
        Place.CORRIDOR,
        VictimRole.STUDENT,
        PerpetratorRole.STUDENT,
        Injury.MINOR,
        "Twee studenten vochten bij de automaten; een van hen had een bloedneus.",
        "Dank voor uw melding. We hebben met de betrokken studenten gesproken en hun mentor "
        "ingelicht. De conciërge loopt in de pauzes vaker langs de automaten.",
    ),
]


def seed_closing_notes(today: date) -> int:
    """Register the reports above for each demo registrar and close the older ones with a
    note. Returns how many were closed."""
    closed = 0
    types = {t.code: t for t in IncidentType.objects.filter(code__in={r[1] for r in REPORTS})}
    for registrar in get_user_model().objects.filter(username__startswith="melder."):
        if Incident.objects.filter(registered_by=registrar).exclude(reporter_note="").exists():
            continue
        membership = Membership.objects.filter(user=registrar, role=Role.REGISTRAR).first()
        coordinator = Membership.objects.filter(
            institution=membership.institution, role=Role.COORDINATOR
        ).first()
        if membership.default_location is None or coordinator is None:
            continue
        for days, code, place, victim, perpetrator, injury, text, note in REPORTS:
            incident = services.register_incident(
                actor=registrar,
                incident=Incident(
                    location=membership.default_location,
                    incident_type=types[code],
                    occurred_on=today - timedelta(days=days),
                    occurred_at=time(10 + days % 6, 15),
                    place=place,
                    victim_role=victim,
                    perpetrator_role=perpetrator,
                    injury=injury,
                    description=text,
                ),
            )
            if note:
                services.close_incident(
                    actor=coordinator.user, incident=incident, reporter_note=note
                )
                closed += 1
    return closed
