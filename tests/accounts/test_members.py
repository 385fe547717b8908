"""Members in the web interface: invite by e-mail (a real SMTP server on loopback), accept
by the one-time link, change a role, deactivate (refused at once: session and API token);
every change audited. Administrators appoint researchers."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts import members
from accounts.choices import AuditAction
from accounts.models import AuditEvent, Invitation
from incidents.choices import Role
from incidents.models import Membership
from miv.errors import DomainError
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Vijf-Lange-Woorden-2024"


def invite_by_page(client, institution, email="nieuw@alfa.example.nl", role="registrar", **extra):
    return client.post(
        f"/accounts/institutions/{institution.brin}/invite/",
        {"email": email, "role": role, **extra},
    )


def link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"(http://\S+/accounts/invitation/\S+/)", body)[1]


def test_invite_accept_and_register(
    smtp_server, settings, client, coordinator_a, institution_a, location_a
):
    settings.MIV_SITE_URL = "http://miv.example.nl"
    client.force_login(coordinator_a)
    answer = invite_by_page(client, institution_a, "Nieuw@Alfa.example.nl", "registrar",
                            default_location=location_a.pk)  # fmt: skip
    assert answer.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "nieuw@alfa.example.nl"
    assert institution_a.name in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Registreerder bij ROC Alfa" in body and "as Registrar at ROC Alfa" in body
    link = link_in(message)
    assert link.startswith("http://miv.example.nl/accounts/invitation/")
    invitation = Invitation.objects.get()
    assert link.rstrip("/").rsplit("/", 1)[1] not in invitation.secret_hash  # only a hash kept

    # The coordinator sees it pending.
    page = client.get(f"/accounts/institutions/{institution_a.brin}/members/").content.decode()
    assert "nieuw@alfa.example.nl" in page

    invitee = Client()
    path = link.removeprefix("http://miv.example.nl")
    first = invitee.get(path)
    assert first.status_code == 302 and first["Location"] == "/accounts/invitation/accept/"
    form = invitee.get(first["Location"])
    assert "Registreerder" in form.content.decode()
    assert form.context["form"]["username"].value() == "nieuw@alfa.example.nl"
    # A weak password is refused with a message; nothing is made.
    weak = invitee.post(first["Location"], {"username": "nieuw", "password1": "12345678",
                                            "password2": "12345678"})  # fmt: skip
    assert weak.status_code == 200 and weak.context["form"].errors["password1"]
    assert not get_user_model().objects.filter(username="nieuw").exists()

    done = invitee.post(
        first["Location"],
        {"username": "nieuw", "first_name": "Nina", "last_name": "Nieuw",
         "password1": PASSWORD, "password2": PASSWORD},
    )  # fmt: skip
    assert done.status_code == 302 and done["Location"] == "/incidents/register/"
    user = get_user_model().objects.get(username="nieuw")
    assert user.email == "nieuw@alfa.example.nl" and user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.institution, membership.role, membership.default_location) == (
        institution_a,
        Role.REGISTRAR,
        location_a,
    )
    register = invitee.get("/incidents/register/")
    assert register.status_code == 200
    assert register.context["form"]["location"].value() == location_a.pk

    # The link worked once.
    assert Client().get(path).status_code == 410
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.INVITED, AuditAction.INVITATION_ACCEPTED]


def test_an_expired_or_resent_link_no_longer_works(smtp_server, coordinator_a, institution_a):
    invitation, secret = members.invite(
        actor=coordinator_a, institution=institution_a, email="x@alfa.example.nl", role="registrar"
    )
    client = Client()
    assert client.get(f"/accounts/invitation/{secret}/").status_code == 302
    _invitation, new_secret = members.resend_invitation(actor=coordinator_a, invitation=invitation)
    assert Client().get(f"/accounts/invitation/{secret}/").status_code == 410
    # The session held the old secret: the accept page refuses it too.
    assert client.get("/accounts/invitation/accept/").status_code == 410
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = Client().get(f"/accounts/invitation/{new_secret}/")
    assert answer.status_code == 410
    assert "niet (meer) geldig" in answer.content.decode()


def test_a_revoked_invitation_cannot_be_accepted(coordinator_a, institution_a):
    invitation, secret = members.invite(
        actor=coordinator_a, institution=institution_a, email="x@alfa.example.nl", role="registrar"
    )
    members.revoke_invitation(actor=coordinator_a, invitation=invitation)
    assert members.find_invitation(secret) is None


def test_a_logged_in_user_accepts_as_themselves(coordinator_a, institution_b, registrar_b):
    admin = UserFactory(username="beheer", is_superuser=True)
    _invitation, secret = members.invite(
        actor=admin, institution=institution_b, email="c@alfa.example.nl", role="coordinator"
    )
    client = Client()
    client.force_login(coordinator_a)
    client.get(f"/accounts/invitation/{secret}/")
    answer = client.post("/accounts/invitation/accept/")
    assert answer.status_code == 302
    assert (
        Membership.objects.get(user=coordinator_a, institution=institution_b).role == "coordinator"
    )


def test_double_invitations_and_members_are_refused(
    coordinator_a, institution_a, registrar_a, client
):
    registrar_a.email = "melder@alfa.example.nl"
    registrar_a.save()
    with pytest.raises(ValidationError):
        members.invite(actor=coordinator_a, institution=institution_a,
                       email="MELDER@alfa.example.nl", role="registrar")  # fmt: skip
    members.invite(actor=coordinator_a, institution=institution_a, email="n@a.nl", role="registrar")
    client.force_login(coordinator_a)
    answer = invite_by_page(client, institution_a, "n@a.nl")
    assert answer.status_code == 200 and "staat al een uitnodiging open" in answer.content.decode()


def test_the_mail_server_refusing_is_said_and_the_invitation_can_be_resent(
    settings, client, coordinator_a, institution_a
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    client.force_login(coordinator_a)
    answer = invite_by_page(client, institution_a)
    page = client.get(answer["Location"]).content.decode()
    assert "kon niet worden verstuurd" in page
    assert Invitation.objects.get().pending


def test_change_a_role_and_keep_the_last_coordinator(client, coordinator_a, registrar_a):
    membership = Membership.objects.get(user=registrar_a)
    client.force_login(coordinator_a)
    client.post(f"/accounts/members/{membership.pk}/", {"role": "coordinator"})
    membership.refresh_from_db()
    assert membership.role == Role.COORDINATOR
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.changes["role"] == ["registrar", "coordinator"] and event.actor == coordinator_a

    # Nobody demotes or deactivates themselves (so a coordinator always remains).
    own = Membership.objects.get(user=coordinator_a)
    with pytest.raises(DomainError):
        members.change_member(actor=coordinator_a, membership=own, role="registrar")
    with pytest.raises(DomainError):
        members.deactivate_member(actor=coordinator_a, membership=own)
    # A fellow coordinator can.
    members.change_member(actor=registrar_a, membership=own, role="registrar")
    assert Membership.objects.get(user=coordinator_a).role == Role.REGISTRAR


def test_a_deactivated_member_is_refused_at_once(client, coordinator_a, registrar_a):
    session = Client()
    session.force_login(registrar_a)
    assert session.get("/incidents/register/").status_code == 200
    _token_row, token = AuthToken.objects.create(user=registrar_a)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/incidents/").status_code == 200

    client.force_login(coordinator_a)
    membership = Membership.objects.get(user=registrar_a)
    client.post(f"/accounts/members/{membership.pk}/deactivate/")

    refused = session.get("/incidents/register/")
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/login/")
    assert api.get("/api/v1/incidents/").status_code == 401
    assert not AuthToken.objects.filter(user=registrar_a).exists()
    login = Client().post("/accounts/login/", {"username": "registrar_a",
                                               "password": "correct-horse-battery"})  # fmt: skip
    assert login.status_code == 200  # the form again: inactive accounts cannot log in
    assert AuditEvent.objects.get().action == AuditAction.MEMBER_DEACTIVATED
    page = client.get(f"/accounts/institutions/{membership.institution.brin}/members/")
    assert "gedeactiveerd" in page.content.decode()

    # Activated again: a new login works; the old session was ended and stays out.
    client.post(f"/accounts/members/{membership.pk}/activate/")
    assert session.get("/incidents/register/").status_code == 302
    again = Client().post(
        "/accounts/login/", {"username": "registrar_a", "password": "correct-horse-battery"}
    )
    assert again.status_code == 302


def test_a_member_elsewhere_only_loses_this_membership(coordinator_a, institution_a, institution_b):
    both = UserFactory(username="beide")
    here = MembershipFactory(user=both, institution=institution_a, role=Role.REGISTRAR)
    MembershipFactory(user=both, institution=institution_b, role=Role.REGISTRAR)
    assert members.deactivate_member(actor=coordinator_a, membership=here) == "member_removed"
    both.refresh_from_db()
    assert both.is_active
    assert list(Membership.objects.filter(user=both).values_list("institution", flat=True)) == [
        institution_b.pk
    ]


def test_a_coordinator_cannot_touch_another_institution(coordinator_a, registrar_b, institution_b):
    with pytest.raises(PermissionDenied):
        members.deactivate_member(
            actor=coordinator_a, membership=Membership.objects.get(user=registrar_b)
        )
    with pytest.raises(PermissionDenied):
        members.invite(actor=coordinator_a, institution=institution_b, email="a@b.nl",
                       role="registrar")  # fmt: skip
    with pytest.raises(PermissionDenied):
        members.invite(actor=coordinator_a, email="a@b.nl", role=Role.RESEARCHER)


def test_an_administrator_appoints_a_researcher_with_named_access(
    smtp_server, client, administrator
):
    client.force_login(administrator)
    client.post("/accounts/researchers/", {"email": "r@uni.example.nl", "named_access": "on"})
    [message] = smtp_server.wait_for(1)
    invitee = Client()
    invitee.get(link_in(message).split("8000", 1)[1])
    invitee.post("/accounts/invitation/accept/", {"username": "onderzoeker2",
                 "password1": PASSWORD, "password2": PASSWORD})  # fmt: skip
    membership = Membership.objects.get(user__username="onderzoeker2")
    assert (membership.role, membership.institution, membership.named_access) == (
        Role.RESEARCHER,
        None,
        True,
    )
    client.post(f"/accounts/members/{membership.pk}/", {})  # named access off
    membership.refresh_from_db()
    assert membership.named_access is False
    assert "onderzoeker2" in client.get("/accounts/researchers/").content.decode()
