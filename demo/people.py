"""Demo institutions with their locations, one user per role, and the researcher's API token."""

from django.contrib.auth import get_user_model
from knox.models import AuthToken

from demo.data import DEMO_PASSWORD, INSTITUTIONS
from incidents.choices import Role
from incidents.models import Institution, Location, Membership


def seed_institutions() -> dict[str, Institution]:
    result = {}
    for d in INSTITUTIONS:
        inst, _ = Institution.objects.update_or_create(
            brin=d.brin,
            defaults={
                "name": d.name,
                "kind": d.kind,
                "region": d.region,
                "urbanity": d.urbanity,
                "city": d.city,
            },
        )
        for code, name, municipality in d.locations:
            Location.objects.update_or_create(
                institution=inst, code=code, defaults={"name": name, "municipality": municipality}
            )
        result[d.brin] = inst
    return result


def _user(username: str, *, superuser: bool = False):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(DEMO_PASSWORD)
    user.is_superuser = user.is_staff = superuser
    user.save()
    return user


def seed_users(institutions: dict[str, Institution]) -> list[tuple[str, str]]:
    logins = [("beheerder", "administrator (Django admin)")]
    _user("beheerder", superuser=True)
    for brin, short in (("91RA", "rivierenland"), ("91RD", "amstel"), ("91RG", "twente")):
        inst = institutions[brin]
        first_location = inst.locations.order_by("code").first()
        registrar = _user(f"melder.{short}")
        Membership.objects.update_or_create(
            user=registrar,
            institution=inst,
            defaults={"role": Role.REGISTRAR, "default_location": first_location},
        )
        coordinator = _user(f"coordinator.{short}")
        Membership.objects.update_or_create(
            user=coordinator, institution=inst, defaults={"role": Role.COORDINATOR}
        )
        logins += [
            (f"melder.{short}", f"registrar (facility staff), {inst.name}"),
            (f"coordinator.{short}", f"safety coordinator, {inst.name}"),
        ]
    researcher = _user("onderzoeker")
    Membership.objects.update_or_create(
        user=researcher, institution=None, defaults={"role": Role.RESEARCHER}
    )
    named = _user("onderzoeker.benoemd")
    Membership.objects.update_or_create(
        user=named, institution=None, defaults={"role": Role.RESEARCHER, "named_access": True}
    )
    logins += [
        ("onderzoeker", "researcher (pseudonymised figures)"),
        ("onderzoeker.benoemd", "researcher with named access (BRIN codes)"),
    ]
    return logins


DEMO_TOKEN_NAME = "make demo"


def research_token() -> str:
    """A fresh API token for the demo researcher (the research API takes tokens only),
    made as on the token page; the previous demo's token is revoked, so repeated demos do
    not pile them up (the researcher's other tokens stay)."""
    from accounts.tokens import create_token

    researcher = get_user_model().objects.get(username="onderzoeker")
    AuthToken.objects.filter(user=researcher, miv_info__name=DEMO_TOKEN_NAME).delete()
    _, token = create_token(actor=researcher, name=DEMO_TOKEN_NAME, days=30)
    return token
