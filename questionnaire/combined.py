"""Figures 6.1, 6.3 and 6.5 for the sector, as published: staff safety (MO) against student
safety (JOB), and the number of the six V3 safety provisions against each. The statistics
are :mod:`questionnaire.analyses` (pure); this module chooses what each reader gets.

Publication rules (decisions):

* **Complete school years and submitted answers only**, as figures 5.4–5.9
  (:func:`questionnaire.sector.published_years`). The survey scores are the latest JOB and
  MO survey held in or before the school year, as figures 6.2 and 6.4 take them.
* **6.1** (MO against JOB): Pearson r with its 95% interval and p, Spearman ρ with p and n,
  when at least ``MIV_DISCLOSURE_K`` institutions have both scores; r, ρ and the interval
  to two decimals, p to three. Two equations cannot pin down a dozen unknown MO scores.
  No points: a point would pair an institution's public JOB score with its MO score.
* **6.3 and 6.5** (number of provisions against JOB and MO): an institution's number of
  provisions comes from its own answers, which only the institution and administrators
  read. With the public JOB scores, r and ρ are equations in those numbers, and over the
  integers 0–6 they have very few solutions: in a sector of seven, r and ρ of both
  figures to two decimals leave two possible answers for the whole sector, and even to one
  decimal they give away the band of an institution
  (``tests/questionnaire/test_combined.py`` runs the attack). So outside readers get the
  number of institutions per band of provisions (0–3, 4–5, 6), only when the integer
  program of :mod:`questionnaire.combined_audit` leaves every institution's band open to
  every other institution, and n; administrators, who read every answer, get the
  correlations and the group means per number of provisions, as in the report.

Computed by the figures job: when it has computed a complete school year, it computes these
figures too (:mod:`questionnaire.receivers`), so the audit's verdict is in the shared cache,
keyed by its inputs, before anyone reads it. After a response of a complete year is reopened
and submitted again, the first reader runs the audit (about 1.2 s for a synthetic sector of
57 institutions on the two-core development machine).

Limits: the audit assumes the attacker knows every score and who answered, and their own
number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, replace

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reporting import surveys
from reporting.stats import Correlation

from . import analyses, combined_audit
from .models import QuestionnaireVersion
from .sector import minimum
from .services import submitted_answers

BANDS = ((0, 1, 2, 3), (4, 5), (6,))
CACHE_SECONDS = 7 * 24 * 60 * 60

TITLES = {
    "6.1": gettext_lazy("Veiligheid personeel (MO) en studenten (JOB)"),
    "6.3": gettext_lazy("Aantal voorzieningen en veiligheid studenten (JOB)"),
    "6.5": gettext_lazy("Aantal voorzieningen en veiligheid personeel (MO)"),
}
AXES = {
    "mo": gettext_lazy("MO-score personeel (0–10)"),
    "job": gettext_lazy("aandeel studenten dat zich (zeer) veilig voelt (JOB)"),
    "provisions": gettext_lazy("aantal van de zes voorzieningen (V3)"),
}


@dataclass(frozen=True)
class Group:
    """Institutions per band (outside readers) or per number of provisions (administrators)."""

    label: str
    n: int
    mean: float | None = None  # administrators only
    sd: float | None = None


@dataclass(frozen=True)
class Combined:
    number: str
    title: str
    x_label: str
    y_label: str
    survey_years: dict[str, int | None]
    n: int
    published: bool  # the correlation
    pearson_r: float | None = None
    pearson_ci_low: float | None = None
    pearson_ci_high: float | None = None
    pearson_p: float | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    message: str = ""  # what is not shown, and why
    groups: tuple[Group, ...] = ()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _band_label(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def band_sizes(counts: Mapping[Hashable, int], members: Collection) -> tuple[int, ...]:
    """Institutions of ``members`` per band of :data:`BANDS`."""
    return tuple(sum(counts[i] in values for i in members) for values in BANDS)


def bands_safe(counts: Mapping[Hashable, int], points: Mapping[str, Collection]) -> bool:
    """Whether the number of institutions per band of 6.3 and 6.5 (``points``: figure ->
    its institutions) may be published: the audit of :mod:`combined_audit`, cached by its
    inputs (the same answers give the same verdict)."""
    figures = [
        combined_audit.PublishedFigure(
            points=members,
            bands=[
                combined_audit.PublishedBand(values, n)
                for values, n in zip(BANDS, band_sizes(counts, members), strict=True)
            ],
        )
        for members in points.values()
    ]
    payload = json.dumps(
        [
            sorted((str(k), v) for k, v in counts.items()),
            [sorted(str(k) for k in members) for members in points.values()],
        ]
    )
    key = "questionnaire-combined-audit:" + hashlib.sha256(payload.encode()).hexdigest()
    verdict = cache.get(key)
    if verdict is None:
        verdict = combined_audit.audit_bands(counts, figures, BANDS, sum(counts.values()))
        verdict = verdict.protected
        cache.set(key, verdict, CACHE_SECONDS)
    return verdict


def _scores(source: str, school_year: str) -> tuple[int | None, dict[int, float]]:
    year = surveys.default_survey_year(source, school_year)
    return year, surveys.survey_scores(source, year) if year is not None else {}


def combined_figures(school_year: str, *, administrator: bool = False) -> list[Combined]:
    """Figures 6.1, 6.3 and 6.5 of a complete school year, as the reader may see them."""
    version = QuestionnaireVersion.current()
    if version is None:
        return []
    questionnaire = version.questionnaire
    answers = submitted_answers(school_year)
    job_year, job = _scores("job", school_year)
    mo_year, mo = _scores("mo", school_year)
    years = {"job": job_year, "mo": mo_year}
    k = minimum()
    associations = {
        "6.1": analyses.figure_6_1(mo, job),
        "6.3": analyses.figure_6_3(questionnaire, answers, job),
        "6.5": analyses.figure_6_5(questionnaire, answers, mo),
    }
    counts = {
        key: count
        for key, count in analyses.provision_counts(questionnaire, answers).items()
        if count is not None
    }
    points = {
        number: [p.institution for p in associations[number].points] for number in ("6.3", "6.5")
    }
    safe = administrator or bands_safe(counts, points)
    out = []
    for number, association in associations.items():
        stats: Correlation = association.correlation
        figure = {
            "number": number,
            "title": str(TITLES[number]),
            "x_label": str(AXES[association.x]),
            "y_label": str(AXES[association.y]),
            "survey_years": {s: years[s] for s in (association.x, association.y) if s in years},
            "n": stats.n,
        }
        if stats.n < k:
            out.append(
                Combined(
                    **figure,
                    published=False,
                    message=_(
                        "Niet gepubliceerd: minder dan %(k)s instellingen hebben beide gegevens."
                    )
                    % {"k": k},
                )
            )
        elif number == "6.1":
            out.append(_with_statistics(figure, association))
        elif administrator:
            shown = _with_statistics(figure, association)
            note = _("Alleen zichtbaar voor beheerders: anderen zien het aantal per groep.")
            out.append(replace(shown, message=" ".join(filter(None, [shown.message, note]))))
        else:
            sizes = band_sizes(counts, points[number]) if safe else None
            out.append(_outside(figure, sizes))
    return out


def _with_statistics(figure: dict, association: analyses.Association) -> Combined:
    stats = association.correlation
    groups = tuple(
        Group(str(g.x), g.n, round(g.mean, 1), _round(g.sd, 1)) for g in association.groups
    )
    return Combined(
        **figure,
        published=stats.status == "ok",
        pearson_r=_round(stats.pearson_r, 2),
        pearson_ci_low=_round(stats.pearson_ci_low, 2),
        pearson_ci_high=_round(stats.pearson_ci_high, 2),
        pearson_p=_round(stats.pearson_p, 3),
        spearman_rho=_round(stats.spearman_rho, 2),
        spearman_p=_round(stats.spearman_p, 3),
        message=""
        if stats.status == "ok"
        else _("Geen correlatie: te weinig variatie of te weinig instellingen."),
        groups=groups,
    )


def _outside(figure: dict, sizes: tuple[int, ...] | None) -> Combined:
    """6.3 or 6.5 for outside readers: n, and the institutions per band when ``sizes`` (None
    when the audit withholds them)."""
    message = _(
        "Correlaties en gemiddelden alleen voor beheerders: met de openbare JOB-scores zou "
        "uit deze statistieken terug te rekenen zijn hoeveel voorzieningen een instelling "
        "heeft."
    )
    groups: tuple[Group, ...] = ()
    if sizes is not None:
        groups = tuple(
            Group(_band_label(values), n) for values, n in zip(BANDS, sizes, strict=True)
        )
    else:
        message += " " + _(
            "Ook het aantal instellingen per groep wordt niet getoond: daaruit zou het aantal "
            "van een instelling af te leiden zijn."
        )
    return Combined(**figure, published=False, message=message, groups=groups)
