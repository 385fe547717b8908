"""The pages where coordinators (their own institutions) and administrators (every
institution, and the researchers) manage locations and people, under ``/accounts/``.

Which institution a page is about comes from ``Institution.objects.manageable_by``:
another institution is a 404, so a coordinator cannot even learn that it exists. Anyone
else who is logged in gets 403. The work is done by :mod:`accounts.locations` and
:mod:`accounts.members`, which check the same rules again.
"""

from __future__ import annotations

import logging
import smtplib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.choices import Role
from incidents.models import Institution, Location, Membership
from incidents.roles import is_administrator, manager_required
from miv.errors import DomainError

from . import locations as location_services
from . import members as member_services
from .forms import InviteForm, LocationForm, MemberForm, NamedAccessForm, ResearcherInviteForm
from .mail import send_invitation
from .models import AuditEvent, Invitation

logger = logging.getLogger(__name__)
HISTORY_SHOWN = 50


def administrator_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_administrator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _posted(request: HttpRequest):
    """The form data of a POST (even an empty one: an unticked box), else None."""
    return request.POST if request.method == "POST" else None


def _institution(request: HttpRequest, brin: str) -> Institution:
    return get_object_or_404(Institution.objects.manageable_by(request.user), brin=brin)


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _send(request: HttpRequest, invitation: Invitation, secret: str) -> None:
    try:
        send_invitation(invitation, secret)
    except (OSError, smtplib.SMTPException):
        logger.exception("invitation %s: the e-mail could not be sent", invitation.pk)
        messages.error(
            request,
            _(
                "De uitnodiging is aangemaakt, maar de e-mail kon niet worden verstuurd. "
                "Probeer het later opnieuw met ‘Opnieuw versturen’."
            ),
        )
    else:
        messages.success(
            request, _("Uitnodiging verstuurd naar %(email)s.") % {"email": invitation.email}
        )


# --- Which institution ------------------------------------------------------------------------


@never_cache
@require_GET
@manager_required
def index(request: HttpRequest) -> HttpResponse:
    institutions = Institution.objects.manageable_by(request.user)
    if institutions.count() == 1 and not is_administrator(request.user):
        return redirect("accounts:members", brin=institutions.get().brin)
    return render(
        request,
        "accounts/index.html",
        {"institutions": institutions.order_by("name")[:500]},
    )


# --- Locations --------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def location_list(request: HttpRequest, brin: str) -> HttpResponse:
    institution = _institution(request, brin)
    form = LocationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            location = location_services.create_location(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Vestiging %(name)s toegevoegd.") % {"name": location.name})
            return redirect("accounts:locations", brin=institution.brin)
    locations = institution.locations.annotate(incident_count=Count("incidents")).order_by(
        "-active", "name"
    )
    return render(
        request,
        "accounts/locations.html",
        {"institution": institution, "locations": locations, "form": form},
    )


def _location(request: HttpRequest, brin: str, pk: int) -> Location:
    institution = _institution(request, brin)
    return get_object_or_404(Location.objects.filter(institution=institution), pk=pk)


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def location_edit(request: HttpRequest, brin: str, pk: int) -> HttpResponse:
    location = _location(request, brin, pk)
    initial = {"name": location.name, "municipality": location.municipality}
    form = LocationForm(_posted(request), initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            location_services.update_location(
                actor=request.user, location=location, changes=form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("De vestiging is opgeslagen."))
            return redirect("accounts:locations", brin=location.institution.brin)
    return render(
        request,
        "accounts/location_edit.html",
        {
            "institution": location.institution,
            "location": location,
            "form": form,
            "has_incidents": location.incidents.exists(),
        },
    )


@require_POST
@manager_required
def location_active(request: HttpRequest, brin: str, pk: int, active: bool) -> HttpResponse:
    location = _location(request, brin, pk)
    if active:
        location_services.activate_location(actor=request.user, location=location)
        messages.success(request, _("%(name)s is weer actief.") % {"name": location.name})
    else:
        location_services.deactivate_location(actor=request.user, location=location)
        messages.success(
            request,
            _("%(name)s is gedeactiveerd: niet meer te kiezen bij nieuwe meldingen.")
            % {"name": location.name},
        )
    return redirect("accounts:locations", brin=location.institution.brin)


@require_POST
@manager_required
def location_delete(request: HttpRequest, brin: str, pk: int) -> HttpResponse:
    location = _location(request, brin, pk)
    try:
        location_services.delete_location(actor=request.user, location=location)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s is verwijderd.") % {"name": location.name})
    return redirect("accounts:locations", brin=location.institution.brin)


# --- Members and invitations ----------------------------------------------------------------


@never_cache
@require_GET
@manager_required
def member_list(request: HttpRequest, brin: str) -> HttpResponse:
    institution = _institution(request, brin)
    memberships = (
        Membership.objects.filter(institution=institution)
        .select_related("user", "default_location")
        .order_by("-user__is_active", "role", "user__username")
    )
    invitations = Invitation.objects.filter(
        institution=institution, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")
    history = AuditEvent.objects.filter(institution=institution).select_related("actor")
    return render(
        request,
        "accounts/members.html",
        {
            "institution": institution,
            "memberships": memberships,
            "invitations": invitations,
            "history": history[:HISTORY_SHOWN],
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def invite(request: HttpRequest, brin: str) -> HttpResponse:
    institution = _institution(request, brin)
    form = InviteForm(_posted(request), institution=institution)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, secret = member_services.invite(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            _send(request, invitation, secret)
            return redirect("accounts:members", brin=institution.brin)
    return render(request, "accounts/invite.html", {"institution": institution, "form": form})


def _invitation(request: HttpRequest, pk: int) -> Invitation:
    """An invitation of an institution the user manages (or a researcher's, for an
    administrator); anything else is a 404."""
    queryset = Invitation.objects.filter(
        institution__in=Institution.objects.manageable_by(request.user)
    )
    if is_administrator(request.user):
        queryset = Invitation.objects.all()
    return get_object_or_404(queryset.select_related("institution"), pk=pk)


def _back(invitation_or_membership) -> HttpResponse:
    institution = invitation_or_membership.institution
    if institution is None:
        return redirect("accounts:researchers")
    return redirect("accounts:members", brin=institution.brin)


@require_POST
@manager_required
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    try:
        invitation, secret = member_services.resend_invitation(
            actor=request.user, invitation=invitation
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        _send(request, invitation, secret)
    return _back(invitation)


@require_POST
@manager_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    try:
        member_services.revoke_invitation(actor=request.user, invitation=invitation)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("De uitnodiging is ingetrokken."))
    return _back(invitation)


def _membership(request: HttpRequest, pk: int) -> Membership:
    queryset = Membership.objects.filter(
        institution__in=Institution.objects.manageable_by(request.user)
    )
    if is_administrator(request.user):
        queryset = Membership.objects.all()
    return get_object_or_404(queryset.select_related("user", "institution"), pk=pk)


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    if membership.role == Role.RESEARCHER:
        return _researcher_edit(request, membership)
    form = MemberForm(
        _posted(request),
        institution=membership.institution,
        initial={"role": membership.role, "default_location": membership.default_location},
    )
    if request.method == "POST" and form.is_valid():
        try:
            member_services.change_member(
                actor=request.user,
                membership=membership,
                role=form.cleaned_data["role"],
                default_location=form.cleaned_data["default_location"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("De wijziging is opgeslagen."))
            return _back(membership)
    return render(
        request,
        "accounts/member_edit.html",
        {"membership": membership, "institution": membership.institution, "form": form},
    )


def _researcher_edit(request: HttpRequest, membership: Membership) -> HttpResponse:
    if not is_administrator(request.user):
        raise PermissionDenied
    form = NamedAccessForm(_posted(request), initial={"named_access": membership.named_access})
    if request.method == "POST" and form.is_valid():
        member_services.change_member(
            actor=request.user,
            membership=membership,
            named_access=form.cleaned_data["named_access"],
        )
        messages.success(request, _("De wijziging is opgeslagen."))
        return _back(membership)
    return render(
        request,
        "accounts/member_edit.html",
        {"membership": membership, "institution": None, "form": form},
    )


@require_POST
@manager_required
def member_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    membership = _membership(request, pk)
    name = membership.user.get_username()
    try:
        if active:
            member_services.activate_member(actor=request.user, membership=membership)
            messages.success(request, _("%(name)s is weer actief.") % {"name": name})
        else:
            member_services.deactivate_member(actor=request.user, membership=membership)
            messages.success(
                request,
                _("%(name)s is gedeactiveerd en kan meteen niet meer inloggen of de API gebruiken.")
                % {"name": name},
            )
    except DomainError as error:
        messages.error(request, error.message)
    return _back(membership)


# --- Researchers (administrators) -------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@administrator_required
def researchers(request: HttpRequest) -> HttpResponse:
    form = ResearcherInviteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation, secret = member_services.invite(
                actor=request.user,
                email=form.cleaned_data["email"],
                role=Role.RESEARCHER,
                named_access=form.cleaned_data["named_access"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            _send(request, invitation, secret)
            return redirect("accounts:researchers")
    memberships = (
        Membership.objects.filter(role=Role.RESEARCHER)
        .select_related("user")
        .order_by("-user__is_active", "user__username")
    )
    invitations = Invitation.objects.filter(
        role=Role.RESEARCHER, accepted_at__isnull=True, revoked_at__isnull=True
    )
    history = AuditEvent.objects.filter(institution__isnull=True).select_related("actor")
    return render(
        request,
        "accounts/researchers.html",
        {
            "form": form,
            "memberships": memberships,
            "invitations": invitations,
            "history": history[:HISTORY_SHOWN],
        },
    )
