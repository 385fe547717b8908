"""Web pages of the figures, under ``/figures/``: the dashboards (figures 5.1, 5.3, 6.2 and
6.4: charts as SVG, the numbers as tables, the data as CSV) and the coordinators' yearly
export. The views are thin: the data comes from :mod:`reporting.dashboards` and
:mod:`reporting.exports`, who may see what from :mod:`reporting.access`.

Access: administrators, coordinators and researchers (with their browser session; the
research *API* wants a token). Registrars get 403, anonymous users the login page. The
yearly export is for coordinators (their own institution) and administrators.
"""

from __future__ import annotations

import io
import re
from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents.models import Institution
from incidents.roles import coordinator_institution_ids, is_administrator

from . import charts, dashboards, export_files, exports, queries, research
from .access import figure_viewer

BRIN = re.compile(r"^[0-9]{2}[A-Z]{2}$")


def figures_required(view):
    """Users who may read figures; anonymous users go to the login page, others get 403.
    A researcher's page views are logged like their API requests."""

    protected = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.headers.get("HX-Request") == "true":
                # The session expired while the page was open: send the whole page to the
                # login instead of swapping the login form into the figures region.
                current = urlsplit(request.headers.get("HX-Current-URL", "")).path
                login = redirect_to_login(current or request.path).url
                return HttpResponse(status=401, headers={"HX-Redirect": login})
            return protected(request, *args, **kwargs)
        viewer = figure_viewer(request.user)
        if viewer is None:
            raise PermissionDenied
        response = view(request, *args, **kwargs)
        if viewer.researcher:
            written = research.record_request(
                user=request.user,
                endpoint=f"dashboard:{request.resolver_match.url_name}",
                method=request.method,
                params=request.GET,
                authentication="session",
                status_code=response.status_code,
            )
            if not written:
                return HttpResponse(
                    _("De toegang kon niet worden vastgelegd. Probeer het zo opnieuw."),
                    status=503,
                    content_type="text/plain; charset=utf-8",
                )
        return response

    return wrapper


def _choice(request: HttpRequest) -> dashboards.Choice | None:
    return dashboards.parse_choice(request.GET)


def _figure_data(request: HttpRequest, figure: str, choice: dashboards.Choice) -> dict:
    if figure == "5.1":
        return dashboards.figure_51(request.user, choice)
    if figure == "5.3":
        return dashboards.figure_53(request.user, choice)
    if figure == "funnel":
        return dashboards.funnel(request.user, choice, dashboards.figure_53(request.user, choice))
    return dashboards.figure_scatter(request.user, choice, figure)


# --- The dashboard ----------------------------------------------------------------------------


@figures_required
@never_cache
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Figures 5.1, 5.3, 6.2 and 6.4 for a school year, group and victim role. With htmx
    (``HX-Request``) only the figures region is returned."""
    viewer = figure_viewer(request.user)
    status = 200
    context: dict = {
        "options": dashboards.options(),
        "viewer": viewer,
        "error": None,
        "choice": None,
    }
    try:
        choice = _choice(request)
    except dashboards.BadChoice as error:
        choice, status = None, 400
        context["error"] = error.message
    if choice is not None:
        context["choice"] = choice
        context["query"] = choice.as_query()
        for figure in dashboards.FIGURES:
            if figure == "funnel":
                data = dashboards.funnel(request.user, choice, context["fig53"])
            else:
                data = _figure_data(request, figure, choice)
            # In the page (one request, swapped with the region by htmx): the SVG holds
            # no styles, and every text in it was escaped by matplotlib.
            name = "fig" + figure.replace(".", "")
            drawn = charts.chart(figure, data)
            data["svg"] = mark_safe(charts.inline_svg(drawn.svg, name))
            data["caption"] = drawn.caption
            context[name] = data
        context["running"] = dashboards.running_year(choice.school_year)
        context["withheld_wholesale"] = viewer.protected and dashboards.withheld_wholesale(
            choice.school_year
        )
    template = (
        "reporting/_figures.html"
        if request.headers.get("HX-Request") == "true"
        else "reporting/dashboard.html"
    )
    return render(request, template, context, status=status)


def one_figure(view):
    """For the files of one figure: 404 for an unknown figure or a year without figures, 400
    (plain text) for a bad choice; the view gets the figure, the choice and its data."""

    @wraps(view)
    def wrapper(request: HttpRequest, figure: str) -> HttpResponse:
        if figure not in dashboards.FIGURES:
            raise Http404
        try:
            choice = _choice(request)
        except dashboards.BadChoice as error:
            return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
        if choice is None:
            raise Http404
        return view(request, figure, choice, _figure_data(request, figure, choice))

    return wrapper


@figures_required
@never_cache
@require_GET
@one_figure
def chart(request: HttpRequest, figure: str, choice: dashboards.Choice, data: dict) -> HttpResponse:
    """One chart as an SVG file."""
    response = HttpResponse(charts.chart(figure, data).svg, content_type="image/svg+xml")
    response["Content-Disposition"] = (
        f'inline; filename="miv-figuur-{figure}-{choice.school_year}.svg"'
    )
    return response


@figures_required
@never_cache
@require_GET
@one_figure
def figure_data(
    request: HttpRequest, figure: str, choice: dashboards.Choice, data: dict
) -> HttpResponse:
    """The numbers of one chart as CSV (the same rows as the table beside it), for Excel
    in the reader's language (``;`` and a decimal comma in Dutch)."""
    header, rows = dashboards.figure_csv_rows(figure, data)
    # The figures' tables name their columns for people only: their labels are the header.
    table = exports.ExportTable(figure, figure, [exports.Column(h, h) for h in header], rows)
    response = HttpResponse(
        export_files.csv_bytes(table, for_excel=True), content_type="text/csv; charset=utf-8"
    )
    name = f"miv-figuur-{figure}-{choice.school_year}-{choice.group}-{choice.victim_role}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- The yearly export ------------------------------------------------------------------------


def exportable_institutions(user) -> list[Institution]:
    """Coordinators: their own institutions; administrators: all."""
    if is_administrator(user):
        return list(Institution.objects.order_by("name"))
    ids = coordinator_institution_ids(user)
    return list(Institution.objects.filter(pk__in=ids).order_by("name"))


def export_required(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (is_administrator(request.user) or coordinator_institution_ids(request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@export_required
@never_cache
@require_GET
def export_page(request: HttpRequest) -> HttpResponse:
    """Download buttons for the yearly figures."""
    return render(request, "reporting/export.html", _export_context(request))


def _export_context(request: HttpRequest, error: str = "") -> dict:
    institutions = exportable_institutions(request.user)
    years = exports.school_years_with_figures()
    return {
        "institutions": institutions,
        "school_years": years,
        "selected_institution": request.GET.get("institution")
        or (institutions[0].brin if institutions else ""),
        "selected_year": request.GET.get("school_year")
        or (queries.default_school_year(sorted(years)) if years else ""),
        "tables": [(part.key, part.label) for part in exports.yearly_parts()],
        "error": error,
    }


def _bad_export(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "reporting/export.html", _export_context(request, message), status=400)


@export_required
@never_cache
@require_GET
def export_download(request: HttpRequest) -> HttpResponse:
    """``?institution=BRIN&school_year=2022-2023&format=xlsx|csv[&table=delivery|rates|
    trend|policy]``: XLSX with a sheet per table; CSV of one table, or a zip of all."""
    params = request.GET
    brin = (params.get("institution") or "").strip().upper()
    allowed = {i.brin: i for i in exportable_institutions(request.user)}
    if not brin and len(allowed) == 1:
        # A coordinator of one institution need not name it (e.g. a bookmarked link).
        brin = next(iter(allowed))
    if brin not in allowed:
        # Another institution's export is refused; anything else is a bad choice (checked
        # against the BRIN pattern first, so no odd input reaches the database).
        if BRIN.match(brin) and Institution.objects.filter(brin=brin).exists():
            raise PermissionDenied
        return _bad_export(request, _("Kies een instelling."))
    institution = allowed[brin]
    school_year = (params.get("school_year") or "").strip()
    table = params.get("table") or ""
    # A table is a CSV download; without one, XLSX unless CSV (a zip) is asked for.
    fmt = params.get("format") or ("csv" if table else "xlsx")
    if fmt not in export_files.FORMATS:
        return _bad_export(request, _("Kies CSV of Excel (XLSX)."))
    if table and (fmt != "csv" or table not in exports.table_keys()):
        return _bad_export(request, _("Kies een van de tabellen."))
    try:
        tables = exports.yearly_tables(
            institution,
            school_year,
            user=request.user,
            tables=[table] if table else None,
        )
    except exports.ExportError as error:
        return _bad_export(request, str(error))
    stem = exports.file_stem(institution, school_year)
    if fmt == "xlsx":
        buffer = io.BytesIO()
        export_files.write_xlsx(tables, buffer)
        buffer.seek(0)
        return FileResponse(
            buffer,
            as_attachment=True,
            filename=f"{stem}.xlsx",
            content_type=export_files.XLSX_CONTENT_TYPE,
        )
    if table:
        response = HttpResponse(
            export_files.csv_bytes(tables[0]), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}-{table}.csv"'
        return response
    buffer = io.BytesIO()
    export_files.write_zip(tables, buffer, stem)
    buffer.seek(0)
    return FileResponse(
        buffer, as_attachment=True, filename=f"{stem}-csv.zip", content_type="application/zip"
    )
