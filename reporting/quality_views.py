"""The registration-quality pages, under ``/figures/quality/``: per institution and school
year a short to-do list for the coordinator (:mod:`reporting.quality`), the indicators
behind it, and marking the year's registrations not usable for the sector
(:mod:`reporting.usability`).

Access: coordinators see their own institutions (another institution is a 404, so its
existence is not confirmed), administrators every institution; registrars and researchers
get 403, anonymous users the login page. The pages show counts of the institution's own
registrations only, never an incident's text.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AuditEvent
from incidents.models import Incident, Institution
from incidents.roles import is_administrator, manager_required
from miv.schoolyear import parse_school_year, school_year_of

from . import quality_data, usability
from .forms import UnusableYearForm
from .models import StudentCount, UnusableYear

HISTORY_SHOWN = 20


def _institution(request: HttpRequest, brin: str) -> Institution:
    return get_object_or_404(Institution.objects.manageable_by(request.user), brin=brin)


def school_years_offered(institution: Institution, today=None) -> list[str]:
    """The running school year, every year with registrations or a mark, newest first."""
    years = {school_year_of(today or timezone.localdate())}
    years |= set(
        Incident.objects.filter(institution=institution)
        .values_list("school_year", flat=True)
        .order_by()
        .distinct()
    )
    years |= set(
        UnusableYear.objects.filter(institution=institution).values_list("school_year", flat=True)
    )
    return sorted(years, reverse=True)


def _valid_year(value: str) -> bool:
    try:
        parse_school_year(value)
    except ValueError:
        return False
    return True


@never_cache
@require_GET
@manager_required
def index(request: HttpRequest) -> HttpResponse:
    institutions = Institution.objects.manageable_by(request.user).order_by("name")
    if not is_administrator(request.user) and institutions.count() == 1:
        return redirect("reporting:quality", brin=institutions.get().brin)
    return render(request, "reporting/quality_index.html", {"institutions": institutions[:500]})


def _page(request, institution, school_year, *, form=None) -> HttpResponse:
    years = school_years_offered(institution)
    result = quality_data.registration_quality(institution, school_year)
    mark = UnusableYear.objects.filter(institution=institution, school_year=school_year).first()
    students = (
        StudentCount.objects.filter(institution=institution, school_year=school_year)
        .values_list("students", flat=True)
        .first()
    )
    history = AuditEvent.objects.filter(
        institution=institution, subject=school_year, action__in=["year_unusable", "year_usable"]
    ).select_related("actor")[:HISTORY_SHOWN]
    context = {
        "institution": institution,
        "school_year": school_year,
        "school_years": years,
        "quality": result,
        "todo": [quality_data.todo_text(item) for item in result.todo],
        "completeness": [
            (quality_data.field_label(item.field), item) for item in result.completeness
        ],
        "silent_months": [quality_data.month_label(m) for m in result.silent_months],
        "median_delay": quality_data.days_text(result.delay.median_days),
        "mark": mark,
        "students": students,
        "usable": result.incidents > 0 and bool(students) and mark is None,
        "form": form or UnusableYearForm(),
        "history": history,
    }
    return render(request, "reporting/quality.html", context)


@never_cache
@require_GET
@manager_required
def quality_page(request: HttpRequest, brin: str) -> HttpResponse:
    institution = _institution(request, brin)
    years = school_years_offered(institution)
    school_year = (request.GET.get("school_year") or "").strip() or years[0]
    if not _valid_year(school_year):
        messages.error(request, _("Ongeldig schooljaar; schrijf 2022-2023."))
        school_year = years[0]
    return _page(request, institution, school_year)


def _back(institution: Institution, school_year: str) -> HttpResponse:
    url = reverse("reporting:quality", args=[institution.brin])
    return redirect(f"{url}?school_year={school_year}")


@never_cache
@require_POST
@manager_required
def mark_unusable(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    institution = _institution(request, brin)
    if not _valid_year(school_year):
        return redirect("reporting:quality", brin=institution.brin)
    form = UnusableYearForm(request.POST)
    if form.is_valid():
        try:
            usability.mark_unusable(
                actor=request.user,
                institution=institution,
                school_year=school_year,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("reason" if field == "reason" else None, errors)
        else:
            messages.success(
                request,
                _(
                    "De registraties van %(year)s tellen niet meer mee in de sectorcijfers. De "
                    "cijfers worden opnieuw berekend."
                )
                % {"year": school_year},
            )
            return _back(institution, school_year)
    return _page(request, institution, school_year, form=form)


@never_cache
@require_POST
@manager_required
def mark_usable(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    institution = _institution(request, brin)
    if not _valid_year(school_year):
        return redirect("reporting:quality", brin=institution.brin)
    if usability.unmark_unusable(
        actor=request.user, institution=institution, school_year=school_year
    ):
        messages.success(
            request,
            _(
                "De registraties van %(year)s tellen weer mee in de sectorcijfers. De cijfers "
                "worden opnieuw berekend."
            )
            % {"year": school_year},
        )
    return _back(institution, school_year)
