"""Web pages for imports, under ``/incidents/imports/``: upload, progress, summary and
errors, confirmation; and the label-mapping editor of coordinators.

Who sees which job comes from ``ImportJob.objects.visible_to`` and which institution's
mapping from ``Institution.objects.manageable_by``: anything else is a 404, so a
coordinator cannot even learn that another institution's job exists. The work is done by
:mod:`incidents.import_jobs` and its Celery tasks; these views only start and show it.
"""

from __future__ import annotations

import csv
import io
import uuid

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from miv.csvfiles import escape_formula, label_key

from . import import_jobs
from .choices import ImportKind
from .import_forms import ImportUploadForm, MappingUploadForm, mapping_formset
from .importers import read_mapping_file, save_mapping
from .models import ImportJob, Institution, LabelMapping
from .roles import manager_required

ERRORS_SHOWN = 500
EXTRA_ROWS = 3


def _job_or_404(request: HttpRequest, pk) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.user).select_related("institution", "requested_by"),
        pk=pk,
    )


@never_cache
@require_GET
@manager_required
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = ImportJob.objects.visible_to(request.user).select_related("institution", "requested_by")
    institutions = Institution.objects.manageable_by(request.user)
    return render(
        request,
        "incidents/imports/list.html",
        {"jobs": jobs[:100], "mapping_institutions": institutions[:50]},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def import_new(request: HttpRequest) -> HttpResponse:
    # ?kind=enrolments preselects the kind (the admin's upload links use it).
    initial = {"kind": request.GET["kind"]} if request.GET.get("kind") in ImportKind.values else {}
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            job = import_jobs.create_job(
                user=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                institution=form.cleaned_data["institution"],
                options=form.options(),
            )
        return redirect("incidents:import-detail", pk=job.pk)
    return render(request, "incidents/imports/new.html", {"form": form})


def _detail_context(request: HttpRequest, job: ImportJob) -> dict:
    return {
        "job": job,
        "progress": import_jobs.current_progress(job),
        "summary": job.summary or {},
        "errors": job.errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, job.error_count - ERRORS_SHOWN),
        "can_map": job.kind == ImportKind.INCIDENTS,
    }


@never_cache
@require_GET
@manager_required
def import_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _job_or_404(request, pk)
    return render(request, "incidents/imports/detail.html", _detail_context(request, job))


@never_cache
@require_GET
@manager_required
def import_progress(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The progress fragment that htmx polls. When the job stops running the whole page is
    reloaded (``HX-Refresh``) to show the summary; without htmx this is the detail page."""
    job = _job_or_404(request, pk)
    if not request.headers.get("HX-Request"):
        return redirect("incidents:import-detail", pk=job.pk)
    response = render(request, "incidents/imports/_progress.html", _detail_context(request, job))
    if not job.running:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@manager_required
def import_confirm(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _job_or_404(request, pk)
    if import_jobs.confirm_job(job):
        messages.success(request, _("De import is gestart."))
    else:
        messages.error(request, _("Deze import wacht niet (meer) op bevestiging."))
    return redirect("incidents:import-detail", pk=job.pk)


@require_POST
@manager_required
def import_revalidate(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _job_or_404(request, pk)
    if import_jobs.revalidate_job(job):
        messages.success(request, _("Het bestand wordt opnieuw gecontroleerd."))
    else:
        messages.error(request, _("Dit bestand kan nu niet opnieuw worden gecontroleerd."))
    return redirect("incidents:import-detail", pk=job.pk)


@require_POST
@manager_required
def import_cancel(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _job_or_404(request, pk)
    if import_jobs.cancel_job(job):
        messages.success(request, _("De import is geannuleerd en het bestand verwijderd."))
    else:
        messages.error(request, _("Deze import kan niet meer worden geannuleerd."))
    return redirect("incidents:import-detail", pk=job.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@never_cache
@require_GET
@manager_required
def import_errors_csv(request: HttpRequest, pk: uuid.UUID) -> StreamingHttpResponse:
    """Every error of a job as CSV (regel, kolom, melding); messages quote cell values,
    so they are escaped against spreadsheet formulas too."""
    job = _job_or_404(request, pk)
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")

    def rows():
        yield "\ufeff"
        yield writer.writerow([_("regel"), _("kolom"), _("melding")])
        for line, column, message in job.errors:
            yield writer.writerow([line, escape_formula(column), escape_formula(message)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-fouten.csv"'
    return response


# --- Label mapping -------------------------------------------------------------------------


@never_cache
@require_GET
@manager_required
def mapping_index(request: HttpRequest) -> HttpResponse:
    institutions = Institution.objects.manageable_by(request.user).filter(active=True)
    if institutions.count() == 1:
        return redirect("incidents:mapping-edit", brin=institutions.get().brin)
    return render(
        request, "incidents/imports/mapping_index.html", {"institutions": institutions[:500]}
    )


def _job_from_request(request: HttpRequest, institution: Institution) -> ImportJob | None:
    """The import job named in ``?job=``, if the user may see it and it is of this
    institution; the editor then offers its unmapped labels."""
    try:
        job_id = uuid.UUID(request.GET.get("job", ""))
    except ValueError:
        return None
    return (
        ImportJob.objects.visible_to(request.user)
        .filter(pk=job_id, institution=institution, kind=ImportKind.INCIDENTS)
        .first()
    )


def _unmapped_labels(job: ImportJob | None, institution: Institution) -> list[str]:
    if job is None:
        return []
    mapped = set(LabelMapping.objects.filter(institution=institution).values_list("key", flat=True))
    labels = [entry[0] for entry in (job.summary or {}).get("unmapped", [])]
    return [label for label in labels if label_key(label) not in mapped][:200]


@never_cache
@require_http_methods(["GET", "POST"])
@manager_required
def mapping_edit(request: HttpRequest, brin: str) -> HttpResponse:
    institution = get_object_or_404(Institution.objects.manageable_by(request.user), brin=brin)
    queryset = LabelMapping.objects.filter(institution=institution).select_related("incident_type")
    if request.method == "POST" and "upload" in request.POST:
        return _mapping_upload(request, institution)
    job = _job_from_request(request, institution)
    unmapped = _unmapped_labels(job, institution)
    FormSet = mapping_formset(extra=len(unmapped) or EXTRA_ROWS)
    if request.method == "POST":
        formset = FormSet(request.POST, queryset=queryset, prefix="map")
        if formset.is_valid():
            with transaction.atomic():
                for obj in formset.save(commit=False):
                    obj.institution = institution
                    obj.updated_by = request.user
                    obj.save()
                for obj in formset.deleted_objects:
                    obj.delete()
            messages.success(request, _("De koppeltabel is opgeslagen."))
            target = reverse("incidents:mapping-edit", kwargs={"brin": institution.brin})
            return redirect(f"{target}?job={job.pk}" if job else target)
    else:
        formset = FormSet(
            queryset=queryset,
            prefix="map",
            initial=[{"source_label": label} for label in unmapped],
        )
    return render(
        request,
        "incidents/imports/mapping.html",
        {
            "institution": institution,
            "formset": formset,
            "upload_form": MappingUploadForm(),
            "job": job,
        },
    )


def _mapping_upload(request: HttpRequest, institution: Institution) -> HttpResponse:
    form = MappingUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Kies een CSV-bestand met de koppeltabel."))
        return redirect("incidents:mapping-edit", brin=institution.brin)
    upload = form.cleaned_data["file"]
    entries, errors = read_mapping_file(upload.open("rb"), name=upload.name)
    if errors:
        for error in list(errors)[:50]:
            messages.error(request, str(error))
        messages.error(
            request,
            _("De koppeltabel heeft %(count)s fouten; niets opgeslagen.") % {"count": errors.total},
        )
    else:
        with transaction.atomic():
            changed = save_mapping(institution, entries.values(), actor=request.user)
        messages.success(
            request, _("%(count)s koppelingen toegevoegd of gewijzigd.") % {"count": changed}
        )
    return redirect("incidents:mapping-edit", brin=institution.brin)


@never_cache
@require_GET
@manager_required
def mapping_download(request: HttpRequest, brin: str) -> HttpResponse:
    institution = get_object_or_404(Institution.objects.manageable_by(request.user), brin=brin)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["source_label", "incident_type"])
    for mapping in LabelMapping.objects.filter(institution=institution).select_related(
        "incident_type"
    ):
        writer.writerow([escape_formula(mapping.source_label), mapping.incident_type.code])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="koppeltabel-{institution.brin}.csv"'
    return response
