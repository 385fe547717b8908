"""Sign-in with the institution account through a real OpenID Connect provider on loopback
(:mod:`tests.oidc`): the whole authorization-code flow over HTTP, with the provider's own
login form, then MIV's rules for who gets in."""

import re
from urllib.parse import urljoin

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import members
from accounts.choices import AuditAction
from accounts.models import AuditEvent, OIDCIdentity
from accounts.oidc import (
    DEACTIVATED,
    NO_ACCESS,
    UNVERIFIED,
    Refused,
    resolve_user,
)
from incidents.choices import Role
from incidents.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.oidc import IDP_USERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign_in():
    """``sign_in(base_url, idp_username)`` follows the flow as a browser would: MIV ->
    the provider's login form -> MIV's callback. Returns the client and the last answer."""
    clients = []

    def run(base_url: str, idp_username: str) -> tuple[httpx.Client, httpx.Response]:
        client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=20)
        clients.append(client)
        return client, _flow(client, idp_username)

    yield run
    for client in clients:
        client.close()


def _flow(client: httpx.Client, idp_username: str) -> httpx.Response:
    page = client.get("/accounts/oidc/login/?next=/incidents/register/")
    assert "Institution login" in page.text, page.text[:500]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    nxt = re.search(r'name="next" value="([^"]*)"', page.text)[1].replace("&amp;", "&")
    answer = client.post(
        urljoin(str(page.url), "/login/"),
        data={
            "csrfmiddlewaretoken": csrf,
            "username": idp_username,
            "password": IDP_USERS[idp_username]["password"],
            "next": nxt,
        },
        headers={"Referer": str(page.url)},
    )
    return answer


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_invited_colleague_signs_in_with_the_institution_account(
    live_server, oidc_settings, sign_in, institution_a, coordinator_a, location_a
):
    members.invite(
        actor=coordinator_a,
        institution=institution_a,
        email="j.jansen@alfa.example.nl",  # the provider sends J.Jansen@...: case is ignored
        role=Role.REGISTRAR,
        default_location=location_a,
    )
    client, answer = sign_in(live_server.url, "j.jansen")
    assert answer.status_code == 200
    assert answer.url.path == "/incidents/register/"
    assert "Incident registreren" in answer.text

    user = get_user_model().objects.get(email="j.jansen@alfa.example.nl")
    assert (user.first_name, user.last_name) == ("Jan", "Jansen")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert (membership.institution, membership.role) == (institution_a, Role.REGISTRAR)
    assert membership.default_location == location_a
    identity = OIDCIdentity.objects.get(user=user)
    assert identity.issuer == oidc_settings.issuer
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.ACCOUNT_LINKED, AuditAction.INVITATION_ACCEPTED} <= actions

    # A second sign-in finds the account by the provider's subject; no second account.
    again, answer = sign_in(live_server.url, "j.jansen")
    assert answer.url.path == "/incidents/register/"
    assert get_user_model().objects.filter(email__iexact="j.jansen@alfa.example.nl").count() == 1

    # Deactivated: the open session is refused at the next request, and so is a new sign-in.
    members.deactivate_member(actor=coordinator_a, membership=membership)
    assert again.get("/incidents/register/").url.path == "/accounts/login/"
    _client, answer = sign_in(live_server.url, "j.jansen")
    assert answer.url.path == "/accounts/oidc/failed/"
    assert "Uw account is gedeactiveerd" in answer.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_someone_without_invitation_gets_a_clear_page_and_no_account(
    live_server, oidc_settings, sign_in, settings, institution_a
):
    users_before = get_user_model().objects.count()
    _client, answer = sign_in(live_server.url, "p.pietersen")
    assert answer.url.path == "/accounts/oidc/failed/"
    assert "U hebt (nog) geen toegang tot MIV" in answer.text
    assert "Vraag de veiligheidscoördinator" in answer.text
    assert get_user_model().objects.count() == users_before
    assert not OIDCIdentity.objects.exists()

    # Refusals are not failed logins for the lockout: after more of them than
    # AXES_FAILURE_LIMIT from this address, an invited colleague still gets in.
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _client, answer = sign_in(live_server.url, "p.pietersen")
        assert answer.url.path == "/accounts/oidc/failed/"
    members.invite(
        actor=None, institution=institution_a, email="j.jansen@alfa.example.nl", role="registrar"
    )
    _client, answer = sign_in(live_server.url, "j.jansen")
    assert answer.url.path == "/incidents/register/"

    # In English too.
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = english.session
    session["miv_oidc_failure"] = NO_ACCESS
    session.save()
    page = english.get("/accounts/oidc/failed/")
    assert "You do not have access to MIV (yet)" in page.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unverified_address_does_not_take_up_an_invitation(
    live_server, oidc_settings, sign_in, institution_a, coordinator_a
):
    members.invite(
        actor=coordinator_a,
        institution=institution_a,
        email="o.onbevestigd@alfa.example.nl",
        role=Role.REGISTRAR,
    )
    _client, answer = sign_in(live_server.url, "o.onbevestigd")
    assert answer.url.path == "/accounts/oidc/failed/"
    assert "Uw e-mailadres is niet bevestigd" in answer.text
    assert not Membership.objects.filter(user__email="o.onbevestigd@alfa.example.nl").exists()


def test_sign_in_pages_are_not_there_without_configuration(client):
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert client.get("/accounts/oidc/callback/").status_code == 404
    assert "Aanmelden met instellingsaccount" not in client.get("/accounts/login/").content.decode()


# --- The rules, without the provider ----------------------------------------------------------

ISSUER = "https://connect.example.nl"


def claims(email, verified=True, **extra):
    return {"sub": "s1", "email": email, "email_verified": verified, **extra}


def test_an_existing_member_is_linked_by_verified_address(registrar_a):
    registrar_a.email = "melder@alfa.example.nl"
    registrar_a.save()
    user = resolve_user(issuer=ISSUER, subject="s1", claims=claims("Melder@Alfa.example.nl"))
    assert user == registrar_a
    assert OIDCIdentity.objects.get().user == registrar_a


def test_an_administrator_is_never_linked_by_address(administrator):
    administrator.email = "beheer@example.nl"
    administrator.save()
    with pytest.raises(Refused) as refused:
        resolve_user(issuer=ISSUER, subject="s1", claims=claims("beheer@example.nl"))
    assert refused.value.reason == NO_ACCESS


def test_an_unverified_address_links_nothing(registrar_a):
    registrar_a.email = "melder@alfa.example.nl"
    registrar_a.save()
    with pytest.raises(Refused) as refused:
        resolve_user(
            issuer=ISSUER, subject="s1", claims=claims("melder@alfa.example.nl", verified=False)
        )
    assert refused.value.reason == UNVERIFIED
    assert not OIDCIdentity.objects.exists()


def test_a_trusted_provider_needs_no_verified_claim(settings, institution_a, coordinator_a):
    settings.OIDC_TRUST_EMAIL = True
    members.invite(actor=coordinator_a, institution=institution_a, email="a@b.nl", role="registrar")
    user = resolve_user(issuer=ISSUER, subject="s9", claims={"sub": "s9", "email": "a@b.nl"})
    assert Membership.objects.get(user=user).institution == institution_a


def test_an_account_without_membership_gets_no_rights(db):
    UserFactory(username="oud", email="oud@alfa.example.nl")
    with pytest.raises(Refused):
        resolve_user(issuer=ISSUER, subject="s1", claims=claims("oud@alfa.example.nl"))


def test_a_deactivated_member_is_let_back_in_only_by_a_new_invitation(institution_a, coordinator_a):
    member = MembershipFactory(
        user=UserFactory(username="weg", email="weg@alfa.example.nl"), institution=institution_a
    )
    members.deactivate_member(actor=coordinator_a, membership=member)
    with pytest.raises(Refused) as refused:
        resolve_user(issuer=ISSUER, subject="s1", claims=claims("weg@alfa.example.nl"))
    assert refused.value.reason == DEACTIVATED
    members.invite(
        actor=coordinator_a,
        institution=institution_a,
        email="weg@alfa.example.nl",
        role="registrar",
    )
    user = resolve_user(issuer=ISSUER, subject="s1", claims=claims("weg@alfa.example.nl"))
    assert user.pk == member.user.pk and user.is_active


# The provider fixture uses the live server (for its redirect URI), so this test is
# transactional; like every such test here it restores the serialized data afterwards.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_endpoints_command_reads_the_discovery_document(oidc_provider, capsys):
    from django.core.management import call_command

    call_command("oidc_endpoints", oidc_provider.issuer)
    out = capsys.readouterr().out
    for name, value in oidc_provider.settings().items():
        if name.startswith("OIDC_OP_"):
            assert f"{name}={value}" in out
