"""The sector's answers to the safety-policy questionnaire (figures 5.4–5.9), at
``/questionnaire/sector/``, for everyone who may read figures (the figures' access rule,
researchers' views logged as theirs), each as a chart
(:mod:`reporting.charts.shares`) with its table, and figures 6.1, 6.3 and 6.5 below them. What
is published is :mod:`questionnaire.sector` and :mod:`questionnaire.combined`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from incidents.models import is_administrator
from reporting import charts
from reporting.views import figures_required

from . import combined, sector


@figures_required
@never_cache
@require_GET
def sector_figures(request: HttpRequest) -> HttpResponse:
    years = sector.published_years()
    chosen = (request.GET.get("school_year") or "").strip() or (years[0] if years else "")
    context = {"years": years, "school_year": chosen, "error": "", "data": None, "combined": []}
    status = 200
    if years and chosen not in years:
        context["error"] = _(
            "Voor schooljaar '%(value)s' zijn geen antwoorden gepubliceerd. Kies uit: %(years)s."
        ) % {"value": chosen[:20], "years": ", ".join(years)}
        status = 400
    elif years:
        context["data"] = data = sector.sector_figures(chosen)
        for number, figure in enumerate(data["figures"], start=1):
            drawn = charts.chart("answers", sector.chart_data(figure, data["k"]))
            figure["svg"] = mark_safe(charts.inline_svg(drawn.svg, f"policy-chart-{number}"))
            figure["caption"] = drawn.caption
        context["combined"] = combined.combined_figures(
            chosen, administrator=is_administrator(request.user)
        )
    return render(request, "questionnaire/sector.html", context, status=status)
