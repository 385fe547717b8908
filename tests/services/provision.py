"""Users, API tokens and locations for tests that talk to a live MIV over HTTP.

``provision()`` works on whatever database Django is connected to: the pytest test
database (in-process, committed by ``transactional_db`` so gunicorn sees it), or a
throw-away cluster through ``python -m tests.services.provision`` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from datetime import date, time

# The default type of the loaded MIV-2023 taxonomy: Misdraging > Fysieke agressie > Vechtpartij.
INCIDENT_TYPE = "MIS.FYS.06"


@dataclass(frozen=True)
class Actors:
    institution: str  # BRIN of institution A
    location: int  # a location of A
    other_institution: str  # BRIN of institution B
    other_location: int
    registrar_tokens: list[str]  # registrars of A, one token each
    coordinator_token: str  # coordinator of A
    other_coordinator_token: str  # coordinator of B
    researcher_token: str
    incident_type: str = INCIDENT_TYPE


def _user(username: str):
    from django.contrib.auth import get_user_model

    # No password: these users only use API tokens, and skipping Argon2 keeps set-up fast.
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def _token(user) -> str:
    from knox.models import AuthToken

    return AuthToken.objects.create(user=user)[1]


def provision(*, prefix: str = "svc", registrars: int = 1, incidents: int = 0) -> Actors:
    """Two institutions with a location each, their people, and ``incidents`` of A."""
    from django.db import transaction

    from incidents import services
    from incidents.choices import InstitutionKind, Role, VictimRole
    from incidents.models import Incident, Institution, Location, Membership
    from taxonomy.models import IncidentType

    with transaction.atomic():
        institution_a, _ = Institution.objects.get_or_create(
            brin="90SV", defaults={"name": "ROC Servicetest Alfa", "kind": InstitutionKind.ROC}
        )
        institution_b, _ = Institution.objects.get_or_create(
            brin="91SV", defaults={"name": "ROC Servicetest Beta", "kind": InstitutionKind.AOC}
        )
        location_a, _ = Location.objects.get_or_create(
            institution=institution_a, code="A-HQ", defaults={"name": "Alfa Hoofdgebouw"}
        )
        location_b, _ = Location.objects.get_or_create(
            institution=institution_b, code="B-HQ", defaults={"name": "Beta Hoofdgebouw"}
        )

        def member(name: str, role: str, institution) -> str:
            user = _user(f"{prefix}-{name}")
            Membership.objects.get_or_create(user=user, institution=institution, role=role)
            return _token(user)

        registrar_tokens = [
            member(f"registrar-{n}", Role.REGISTRAR, institution_a) for n in range(registrars)
        ]
        coordinator = member("coordinator-a", Role.COORDINATOR, institution_a)
        other_coordinator = member("coordinator-b", Role.COORDINATOR, institution_b)
        researcher = member("researcher", Role.RESEARCHER, None)

        incident_type = IncidentType.objects.get(code=INCIDENT_TYPE)
        # Registered by nobody (as imports are): ``registered_by`` is null in the API.
        for n in range(incidents):
            services.register_incident(
                actor=None,
                incident=Incident(
                    location=location_a if n % 2 == 0 else location_b,
                    incident_type=incident_type,
                    occurred_on=date(2024, 3, 1 + n % 28),
                    # Both shapes the API must describe: a time, and none.
                    occurred_at=time(12, 15) if n % 3 else None,
                    victim_role=VictimRole.STUDENT,
                    description=f"Provisioned incident {n}",
                ),
            )

    return Actors(
        institution=institution_a.brin,
        location=location_a.pk,
        other_institution=institution_b.brin,
        other_location=location_b.pk,
        registrar_tokens=registrar_tokens,
        coordinator_token=coordinator,
        other_coordinator_token=other_coordinator,
        researcher_token=researcher,
    )


def incident_payload(location: int, label: str, **fields) -> dict:
    """A valid registration; ``label`` makes it recognisable (external_id, description)."""
    return {
        "location": location,
        "incident_type": INCIDENT_TYPE,
        "occurred_on": "2024-03-14",
        "occurred_at": "10:15:00",
        "place": "corridor",
        "victim_role": "student",
        "perpetrator_role": "student",
        "injury": "minor",
        "police_involved": False,
        "description": f"Service test {label}: two students fought in the canteen.",
        "external_id": label,
        **fields,
    }


def main() -> None:
    import django

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefix", default="svc")
    parser.add_argument("--registrars", type=int, default=1)
    parser.add_argument("--incidents", type=int, default=0)
    args = parser.parse_args()
    django.setup()
    actors = provision(prefix=args.prefix, registrars=args.registrars, incidents=args.incidents)
    print(json.dumps(asdict(actors)))


if __name__ == "__main__":
    main()
