"""``/accounts/tokens/``: a user's own API tokens. Any user with a role may have tokens
(researchers need one for the research API). A new token is shown once, in the answer to
the POST that made it (never stored, never in a URL or a redirect)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from incidents.roles import has_any_role

from . import tokens
from .forms import TokenForm


def _api_user(request: HttpRequest) -> None:
    if not has_any_role(request.user):
        raise PermissionDenied


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    _api_user(request)
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            _instance, new_token = tokens.create_token(
                actor=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens.tokens_of(request.user), "new_token": new_token},
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest) -> HttpResponse:
    _api_user(request)
    key = request.POST.get("key", "")
    if not tokens.revoke_token(actor=request.user, key=key[:20]):
        raise Http404
    messages.success(request, _("Het token is ingetrokken en werkt niet meer."))
    return redirect("accounts:tokens")
