"""Data-subject requests (AVG art. 15 and 17): a coordinator searches the institution's
incidents for a name or text, exports what was found, and erases it.

Privacy rules of these pages:

* Every form is a POST, so a name never ends up in a URL, the browser history, a proxy or
  the access log. The search term is not stored, logged or carried to the next page.
* Only incidents the user may change are searched, exported or erased (coordinators: their
  own institutions; ``Incident.objects.editable_by``). An incident outside that scope is a
  404, exactly like one that does not exist.
* Erasing asks for a confirmation first and is recorded in the audit trail as ``erased``
  (which fields, never their content).
* Responses are never cached (``never_cache``): they hold personal data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from miv.csvfiles import escape_formula

from . import services
from .forms import ErrorSummaryMixin
from .models import Incident
from .roles import is_administrator, is_coordinator

# Enough for any real request; bounds the work one POST can cause.
MAX_SELECTED = services.MAX_SEARCH_RESULTS
EXPORT_FORMATS = ("json", "csv")
# The fields of an incident in an export, in this order. Who registered or changed it is
# left out: those are the staff's personal data, not the data subject's.
EXPORT_FIELDS = [
    "reference",
    "institution",
    "location",
    "incident_type",
    "occurred_on",
    "occurred_at",
    "school_year",
    "place",
    "victim_role",
    "perpetrator_role",
    "injury",
    "police_involved",
    "description",
    "measures",
    "reporter_note",
    "status",
    "external_id",
    "created_at",
    "updated_at",
    "anonymised_at",
]


def privacy_officer_required(view):
    """Coordinators (for their institutions) and administrators. Anonymous users go to the
    login page; everyone else, researchers and registrars included, gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (is_administrator(request.user) or is_coordinator(request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class SearchForm(ErrorSummaryMixin, forms.Form):
    term = forms.CharField(
        label=gettext_lazy("Naam of tekst"),
        min_length=2,
        max_length=200,
        help_text=gettext_lazy(
            "Gezocht wordt in beschrijving en genomen maatregelen van de incidenten van uw "
            "instelling, zonder onderscheid tussen hoofdletters en kleine letters."
        ),
        error_messages={"required": gettext_lazy("Vul een naam of tekst in.")},
        # Browsers must not remember names typed here.
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_term(self) -> str:
        term = services.normalise_search_term(self.cleaned_data["term"])
        if len(term) < 2:
            raise forms.ValidationError(_("Vul minstens twee tekens in."))
        return term


class SelectionForm(forms.Form):
    """The incidents picked from the search result (their ids), and the export format."""

    incident = forms.TypedMultipleChoiceField(coerce=int, required=True)
    format = forms.ChoiceField(choices=[(f, f) for f in EXPORT_FORMATS], required=False)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any positive id is a valid *choice*; whether the user may touch it is decided by
        # ``selected_incidents`` (out of scope is a 404, not a form error).
        values = self.data.getlist("incident") if hasattr(self.data, "getlist") else []
        self.fields["incident"].choices = [
            (value, value) for value in values[: MAX_SELECTED + 1] if str(value).isdigit()
        ]

    def clean_incident(self) -> list[int]:
        ids = sorted(set(self.cleaned_data["incident"]))
        if len(ids) > MAX_SELECTED:
            raise forms.ValidationError(
                _("Kies hoogstens %(max)d incidenten.") % {"max": MAX_SELECTED}
            )
        return ids


def selected_incidents(request: HttpRequest, ids: Iterable[int]) -> list[Incident]:
    """The chosen incidents, all of them within the user's scope, or 404."""
    ids = sorted(set(ids))
    incidents = list(
        Incident.objects.editable_by(request.user)
        .filter(pk__in=ids)
        .select_related("institution", "location", "incident_type")
        .prefetch_related("events")
        .order_by("-occurred_on", "-id")
    )
    if not ids or len(incidents) != len(ids):
        raise Http404
    return incidents


def _selection(request: HttpRequest) -> tuple[SelectionForm, list[Incident]] | None:
    form = SelectionForm(request.POST)
    if not form.is_valid():
        return None
    return form, selected_incidents(request, form.cleaned_data["incident"])


@privacy_officer_required
@never_cache
@require_http_methods(["GET", "POST"])
def privacy_search(request: HttpRequest) -> HttpResponse:
    """Search the institution's incidents for a name or text (POST only)."""
    results = None
    truncated = False
    status = 200
    if request.method == "POST":
        form = SearchForm(request.POST)
        if form.is_valid():
            found = list(
                services.search_personal_data(request.user, form.cleaned_data["term"])[
                    : services.MAX_SEARCH_RESULTS + 1
                ]
            )
            truncated = len(found) > services.MAX_SEARCH_RESULTS
            results = found[: services.MAX_SEARCH_RESULTS]
        else:
            status = 400
    else:
        form = SearchForm()
    return render(
        request,
        "incidents/privacy/search.html",
        {"form": form, "results": results, "truncated": truncated},
        status=status,
    )


def _value(incident: Incident, field: str):
    if field == "reference":
        return incident.reference
    if field == "institution":
        return incident.institution.brin
    if field == "location":
        return f"{incident.location.code} ({incident.location.name})"
    if field == "incident_type":
        return f"{incident.incident_type.code} ({incident.incident_type.name})"
    return getattr(incident, field)


def _history(incident: Incident) -> list[dict]:
    # The audit trail holds no content of description or measures (***), and the actor is
    # left out for the same reason as ``registered_by``.
    return [
        {"at": event.at, "action": event.action, "changes": event.changes}
        for event in incident.events.all()
    ]


def _export_json(incidents: list[Incident]) -> bytes:
    document = {
        "export": "MIV - verzoek van betrokkene",
        "generated_at": timezone.now(),
        "count": len(incidents),
        "incidents": [
            {
                **{field: _value(incident, field) for field in EXPORT_FIELDS},
                "history": _history(incident),
            }
            for incident in incidents
        ],
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return escape_formula(str(value))


def _export_csv(incidents: list[Incident]) -> bytes:
    buffer = io.StringIO(newline="")
    # A byte order mark, so that Excel reads the accented letters correctly.
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    for incident in incidents:
        writer.writerow([_csv_cell(_value(incident, field)) for field in EXPORT_FIELDS])
    return buffer.getvalue().encode()


@privacy_officer_required
@never_cache
@require_POST
def privacy_export(request: HttpRequest) -> HttpResponse:
    """Download the chosen incidents (JSON with their history, or CSV)."""
    selection = _selection(request)
    if selection is None:
        messages.error(request, _("Kies eerst de incidenten die bij het verzoek horen."))
        return redirect("incidents:privacy")
    form, incidents = selection
    kind = form.cleaned_data["format"] or "json"
    if kind == "csv":
        body, content_type = _export_csv(incidents), "text/csv; charset=utf-8"
    else:
        body, content_type = _export_json(incidents), "application/json"
    # The file name holds a date, never the search term or a name.
    filename = f"miv-verzoek-betrokkene-{timezone.localdate():%Y%m%d}.{kind}"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@privacy_officer_required
@never_cache
@require_POST
def privacy_erase(request: HttpRequest) -> HttpResponse:
    """Erase description and measures of the chosen incidents, after a confirmation."""
    selection = _selection(request)
    if selection is None:
        messages.error(request, _("Kies eerst de incidenten die bij het verzoek horen."))
        return redirect("incidents:privacy")
    form, incidents = selection
    if not form.cleaned_data["confirm"]:
        return render(request, "incidents/privacy/erase_confirm.html", {"incidents": incidents})
    erased = services.erase_personal_data(actor=request.user, incidents=incidents)
    messages.success(
        request,
        ngettext(
            "Beschrijving en maatregelen van %(count)d incident zijn gewist.",
            "Beschrijving en maatregelen van %(count)d incidenten zijn gewist.",
            erased,
        )
        % {"count": erased},
    )
    return redirect("incidents:privacy")
