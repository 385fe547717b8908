"""Taking up an invitation: ``/accounts/invitation/<secret>/`` (the e-mailed link) checks
the link, keeps the secret in the session and sends the browser on to
``/accounts/invitation/accept/``, so the secret is not left in the address bar, the
history or a Referer header (as Django's password reset does). There the invitee chooses a
username and password, signs in with the institution account, or, already logged in,
accepts as themselves."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from miv.errors import DomainError

from . import members
from .forms import AcceptForm
from .oidc import oidc_enabled

SESSION_KEY = "miv_invitation"
LOCAL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/invitation_invalid.html", status=410)


@never_cache
@require_GET
def invitation(request: HttpRequest, secret: str) -> HttpResponse:
    if members.find_invitation(secret) is None:
        return _invalid(request)
    request.session[SESSION_KEY] = secret
    return redirect("accounts:invitation-accept")


def _after_login(invitation) -> str:
    return reverse("incidents:register") if invitation.institution_id else reverse("home")


@never_cache
@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest) -> HttpResponse:
    invitation = members.find_invitation(request.session.get(SESSION_KEY, ""))
    if invitation is None:
        request.session.pop(SESSION_KEY, None)
        return _invalid(request)
    user = request.user if request.user.is_authenticated else None
    form = None
    if user is None:
        form = AcceptForm(request.POST or None, initial={"username": invitation.email})
    if request.method == "POST":
        try:
            with transaction.atomic():
                if user is not None:
                    members.accept_invitation(invitation=invitation, user=user)
                elif form.is_valid():
                    data = form.cleaned_data
                    user = members.create_account(
                        invitation=invitation,
                        username=data["username"],
                        password=data["password1"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                    )
                    login(request, user, backend=LOCAL_BACKEND)
        except DomainError:
            return _invalid(request)
        if user is not None:
            request.session.pop(SESSION_KEY, None)
            messages.success(request, _("Welkom bij MIV. U bent nu lid."))
            return redirect(_after_login(invitation))
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form, "oidc_enabled": oidc_enabled()},
    )
