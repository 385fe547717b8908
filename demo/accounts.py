"""People and access in the demo (issue 14), at ROC Rivierenland-West: a location that
closed (deactivated; its incidents keep it), a new one the coordinator added, a colleague
who left (deactivated), a pending invitation, the audit trail of all that, a pending
researcher invitation, and the researcher's API tokens with their last use.

Everything goes through the services of :mod:`accounts`, as the web pages do, and is
idempotent: a second ``make demo`` adds nothing."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import locations, members, tokens
from accounts.models import ApiTokenInfo, Invitation
from demo.data import DEMO_PASSWORD
from incidents.choices import Role
from incidents.models import Institution, Location, Membership

BRIN = "91RA"
CLOSED_LOCATION = "GOR"  # Gorinchem: closed last summer
NEW_LOCATION = ("DOR-P", "Dordrecht Praktijkhal", "Dordrecht")
INVITED = "nieuwe.collega@rivierenland.example.nl"
LEFT = "oud.melder.rivierenland"
RESEARCH_INVITED = "promovendus@universiteit.example.nl"
# name, valid days, last used (days ago; None: never)
RESEARCH_TOKENS = (("R-analyse veiligheid", 90, 2), ("Jaarrapport sector", 365, None))


def seed_accounts(institutions: dict[str, Institution]) -> None:
    User = get_user_model()
    institution = institutions[BRIN]
    coordinator = User.objects.get(username="coordinator.rivierenland")
    administrator = User.objects.get(username="beheerder")

    closed = Location.objects.get(institution=institution, code=CLOSED_LOCATION)
    if closed.active:
        locations.deactivate_location(actor=coordinator, location=closed)
    code, name, municipality = NEW_LOCATION
    if not Location.objects.filter(institution=institution, code=code).exists():
        locations.create_location(
            actor=coordinator,
            institution=institution,
            code=code,
            name=name,
            municipality=municipality,
        )

    left, created = User.objects.get_or_create(
        username=LEFT, defaults={"email": "oud.melder@rivierenland.example.nl"}
    )
    if created:
        left.set_password(DEMO_PASSWORD)
        left.save()
        membership = Membership.objects.create(
            user=left, institution=institution, role=Role.REGISTRAR
        )
        members.deactivate_member(actor=coordinator, membership=membership)

    if not Invitation.objects.pending().filter(email=INVITED).exists():
        members.invite(
            actor=coordinator, institution=institution, email=INVITED, role=Role.REGISTRAR
        )
    if not Invitation.objects.pending().filter(email=RESEARCH_INVITED).exists():
        members.invite(actor=administrator, email=RESEARCH_INVITED, role=Role.RESEARCHER)

    researcher = User.objects.get(username="onderzoeker")
    for token_name, days, used_days_ago in RESEARCH_TOKENS:
        if ApiTokenInfo.objects.filter(token__user=researcher, name=token_name).exists():
            continue
        instance, _token = tokens.create_token(actor=researcher, name=token_name, days=days)
        if used_days_ago is not None:
            ApiTokenInfo.objects.filter(token=instance).update(
                last_used_at=timezone.now() - timedelta(days=used_days_ago, hours=3)
            )
