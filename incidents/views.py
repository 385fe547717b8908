"""Web pages for incidents: registration for staff on location, and the list, detail,
edit, close and withdraw pages.

The views are thin. Who sees which incident comes from ``Incident.objects.visible_to`` and
``editable_by``; the rules from ``Incident.clean()`` and the service functions.
"""

import tempfile
from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from miv.errors import DomainError
from miv.xlsxfiles import XLSX_CONTENT_TYPE
from taxonomy.models import IncidentType

from . import exporters, services
from .choices import Status
from .filtersets import IncidentFilterSet
from .forms import (
    CloseForm,
    IncidentForm,
    RegistrationForm,
    TypePicker,
    add_service_errors,
    picker_params,
    selectable_types,
    style_filter_form,
)
from .idempotency import IdempotencyKeyReused, Outcome, fingerprint, run_once
from .models import Incident, Location
from .roles import can_register, is_administrator, is_coordinator

PAGE_SIZE = 25
# Submit buttons of the type picker that re-display the form instead of saving it, so the
# picker works without JavaScript.
PICKER_ACTIONS = {"search", "narrow"}


def incident_staff_required(view):
    """Registrars, coordinators and administrators. Anonymous users go to the login page;
    researchers (who never see individual incidents) and users without a role get 403."""

    protected = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and request.headers.get("HX-Request") == "true":
            # A live search after the session expired: send the whole page to the login
            # instead of swapping the login form into the type picker.
            current = request.headers.get("HX-Current-URL", "")
            next_path = urlsplit(current).path if current else request.path
            return HttpResponse(
                status=401, headers={"HX-Redirect": redirect_to_login(next_path).url}
            )
        if request.user.is_authenticated and not can_register(request.user):
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return wrapper


def _incidents(request):
    return Incident.objects.visible_to(request.user).select_related(
        "institution", "location", "incident_type__category", "incident_type__subcategory"
    )


def _editable_incident(request, pk) -> Incident:
    """An incident the user may change: invisible is 404, visible but not editable 403."""
    incident = get_object_or_404(_incidents(request), pk=pk)
    if not Incident.objects.editable_by(request.user).filter(pk=incident.pk).exists():
        raise PermissionDenied
    return incident


def _picker_redisplay(request) -> dict:
    """The posted input as the initial values of a fresh form (no validation messages)."""
    initial = request.POST.dict()
    initial.pop("csrfmiddlewaretoken", None)
    return initial


# --- Registration --------------------------------------------------------------------------


@incident_staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """The registration form. A one-time token makes a double click or a resubmitted form
    register one incident: the repeat is answered with the first registration."""
    context = {"focus_type": False}
    status = 200
    if request.method == "GET":
        form = RegistrationForm(user=request.user, picker=picker_params(request.GET))
    elif request.POST.get("_action") in PICKER_ACTIONS:
        form = RegistrationForm(
            user=request.user,
            initial=_picker_redisplay(request),
            picker=picker_params(request.POST),
        )
        context["focus_type"] = True
    else:
        form = RegistrationForm(request.POST, user=request.user, picker=picker_params(request.POST))
        if form.is_valid():
            try:
                outcome = run_once(
                    user=request.user,
                    key="web-register:" + form.cleaned_data["submission_token"],
                    request_fingerprint=fingerprint(
                        "web-register", form.model_fields_fingerprint()
                    ),
                    produce=lambda: _register(request, form),
                )
            except IdempotencyKeyReused:
                # The same form page was sent before with other data (back button, edit,
                # send): show it again with a new token, so sending it now is deliberate.
                initial = _picker_redisplay(request)
                initial.pop("submission_token", None)
                form = RegistrationForm(
                    user=request.user, initial=initial, picker=picker_params(request.POST)
                )
                context["already_sent"] = True
                status = 409
            except ValidationError as error:
                add_service_errors(form, error)
                status = 400
            else:
                if outcome.replayed:
                    messages.info(
                        request,
                        _(
                            "Dit formulier was al verstuurd; het incident is één keer "
                            "geregistreerd."
                        ),
                    )
                return redirect(outcome.location)
        else:
            status = 400
    context["form"] = form
    return render(request, "incidents/register.html", context, status=status)


def _register(request, form: RegistrationForm) -> Outcome:
    incident = services.register_incident(actor=request.user, incident=form.save(commit=False))
    return Outcome(
        201, {"id": incident.pk}, reverse("incidents:registered", kwargs={"pk": incident.pk})
    )


@incident_staff_required
@require_GET
def registered(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation after registering: the reference and a way to register another."""
    incident = get_object_or_404(_incidents(request), pk=pk)
    return render(request, "incidents/registered.html", {"incident": incident})


@incident_staff_required
@require_GET
def type_choices(request: HttpRequest) -> HttpResponse:
    """The type picker's choices for a search text or category: an htmx fragment."""
    params = picker_params(request.GET)
    picker = TypePicker.build(selectable_types(), **params)
    return render(request, "incidents/_type_choice_response.html", {"picker": picker})


# --- List and detail -----------------------------------------------------------------------


@incident_staff_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    """Coordinators: their institution's incidents; registrars: their own registrations.
    Filters are the API's IncidentFilterSet, with choices from the user's scope."""
    scoped = _incidents(request)
    filterset = IncidentFilterSet(request.GET or None, queryset=scoped, request=request)
    school_years = scoped.order_by().values_list("school_year", flat=True).distinct()
    style_filter_form(filterset.form, list(school_years))
    status = 200
    incidents = filterset.qs
    if filterset.is_bound and not filterset.is_valid():
        # A filter that cannot be applied must not silently show everything.
        incidents, status = incidents.none(), 400
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    # The filterset's own fields; the institution (last) only for administrators: everyone
    # else has one, or sees only their own registrations.
    names = [name for name in filterset.form.fields if name != "institution"]
    if is_administrator(request.user):
        names.append("institution")
    context = {
        "filterset": filterset,
        "filter_fields": [filterset.form[name] for name in names],
        "page": page,
        "filtered": any(request.GET.get(name) for name in names),
    }
    return render(request, "incidents/list.html", context, status=status)


@incident_staff_required
@never_cache
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One incident. Coordinators (and administrators) also see its history and actions."""
    incident = get_object_or_404(_incidents(request).select_related("registered_by"), pk=pk)
    return _detail(request, incident)


def _detail(request, incident: Incident, close_form: CloseForm | None = None, status=200):
    can_edit = Incident.objects.editable_by(request.user).filter(pk=incident.pk).exists()
    history = _history(incident) if can_edit else None
    context = {
        "incident": incident,
        "can_edit": can_edit,
        "history": history,
        "close_form": close_form or CloseForm(),
    }
    return render(request, "incidents/detail.html", context, status=status)


def _display(model_field, value, names: dict) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("ja") if value else _("nee")
    if model_field is not None and model_field.name in names:
        return str(names[model_field.name].get(value, value))
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def _history(incident: Incident) -> list[dict]:
    """The incident's events as rows for the history table. Types and locations are
    recorded by code and shown by name; personal data stays masked (``***``)."""
    fields = {f.name: f for f in Incident._meta.concrete_fields}
    names = {
        "incident_type": {t.code: t.name for t in IncidentType.objects.all()},
        "location": {
            loc.code: loc.name for loc in Location.objects.filter(institution=incident.institution)
        },
    }
    rows = []
    for event in incident.events.select_related("actor"):
        changes = []
        for name, value in (event.changes or {}).items():
            model_field = fields.get(name)
            label = capfirst(model_field.verbose_name) if model_field else name
            # Changes are [old, new]; other shapes (e.g. an import's note) show as the new value.
            pair = isinstance(value, list | tuple) and len(value) == 2
            old, new = value if pair else (None, value)
            changes.append(
                {
                    "label": label,
                    "old": _display(model_field, old, names),
                    "new": _display(model_field, new, names),
                }
            )
        rows.append({"event": event, "changes": changes})
    return rows


# --- Changes by coordinators ---------------------------------------------------------------


@incident_staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an incident through ``services.update_incident`` (same validation, audited)."""
    incident = _editable_incident(request, pk)
    context = {"incident": incident, "focus_type": False}
    status = 200
    if request.method == "GET":
        form = IncidentForm(instance=incident, user=request.user, picker=picker_params(request.GET))
    elif request.POST.get("_action") in PICKER_ACTIONS:
        form = IncidentForm(
            instance=incident,
            user=request.user,
            initial=_picker_redisplay(request),
            picker=picker_params(request.POST),
        )
        context["focus_type"] = True
    else:
        form = IncidentForm(
            request.POST, instance=incident, user=request.user, picker=picker_params(request.POST)
        )
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                services.update_incident(actor=request.user, incident=incident, changes=changes)
            except ValidationError as error:
                add_service_errors(form, error)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("De wijzigingen zijn opgeslagen."))
                return redirect("incidents:detail", pk=incident.pk)
        status = 400
    context["form"] = form
    return render(request, "incidents/edit.html", context, status=status)


def _transition(request, pk, service, done: str) -> HttpResponse:
    incident = _editable_incident(request, pk)
    try:
        service(actor=request.user, incident=incident)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("incidents:detail", pk=incident.pk)


@incident_staff_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an open incident as handled, with an optional note for the reporter."""
    incident = _editable_incident(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        incident = get_object_or_404(_incidents(request).select_related("registered_by"), pk=pk)
        return _detail(request, incident, close_form=form, status=400)
    try:
        services.close_incident(
            actor=request.user,
            incident=incident,
            reporter_note=form.cleaned_data["reporter_note"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Het incident is afgesloten."))
    return redirect("incidents:detail", pk=incident.pk)


@incident_staff_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a registration made in error; it is kept but no longer counts."""
    return _transition(
        request,
        pk,
        services.withdraw_incident,
        _("Het incident is ingetrokken en telt niet meer mee in de cijfers."),
    )


# --- Export of the list (issue 6) ------------------------------------------------------------


@incident_staff_required
@never_cache
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The list as CSV (streamed) or XLSX (``incidents.exporters``), with exactly the
    filters of the list (the same IncidentFilterSet over the same scope). Withdrawn
    incidents are left out unless the status filter asks for them. Coordinators and
    administrators: a registrar's own registrations stay on screen."""
    if not (is_administrator(request.user) or is_coordinator(request.user)):
        raise PermissionDenied
    params = request.GET.copy()
    params.pop("page", None)
    if any("\x00" in value for values in params.lists() for value in (values[0], *values[1])):
        # The database cannot even compare with a NUL character; the list would fail too.
        return HttpResponse(
            _("Ongeldig filter: %(errors)s") % {"errors": "NUL"},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filterset = IncidentFilterSet(params or None, queryset=_incidents(request), request=request)
    if filterset.is_bound and not filterset.is_valid():
        # A filter that cannot be applied must not silently export everything.
        errors = "; ".join(
            f"{name}: {' '.join(messages_)}" for name, messages_ in filterset.errors.items()
        )
        return HttpResponse(
            _("Ongeldig filter: %(errors)s") % {"errors": errors},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    incidents = filterset.qs  # the order of the list: newest first
    if not params.get("status"):
        incidents = incidents.exclude(status=Status.WITHDRAWN)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            exporters.stream_list_csv(incidents), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="miv-incidenten-{stamp}.csv"'
        return response
    # XLSX is a zip: written to a temporary file row by row, then streamed from disk.
    spool = tempfile.TemporaryFile()
    exporters.write_list_xlsx(incidents, spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"miv-incidenten-{stamp}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )
