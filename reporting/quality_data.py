"""The registration quality of one institution and school year from the database (five
queries), and the to-do items of :mod:`reporting.quality` in words. Only the coordinator's
own institution (or an administrator) ever gets here: the view scopes it."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents.choices import EventAction, Injury, PerpetratorRole, VictimRole
from incidents.models import Incident, IncidentEvent, Institution, Location
from miv.numbers import format_number, format_percent
from miv.schoolyear import is_running, school_year_bounds, through_date

from . import quality
from .groups import MISCONDUCT_CATEGORY


def quality_inputs(
    institution: Institution, school_year: str, *, today: date | None = None
) -> quality.QualityInputs:
    today = today or timezone.localdate()
    first, _last = school_year_bounds(school_year)
    base = Incident.objects.counted().filter(institution=institution, school_year=school_year)
    misconduct = Q(incident_type__category__code=MISCONDUCT_CATEGORY)
    totals = base.aggregate(
        total=Count("id"),
        place=Count("id", filter=Q(place="")),
        occurred_at=Count("id", filter=Q(occurred_at__isnull=True)),
        victim_role=Count("id", filter=Q(victim_role=VictimRole.UNKNOWN)),
        injury=Count("id", filter=Q(injury=Injury.UNKNOWN)),
        misconduct=Count("id", filter=misconduct),
        perpetrator_role=Count(
            "id", filter=misconduct & Q(perpetrator_role=PerpetratorRole.UNKNOWN)
        ),
    )
    total = totals["total"]
    unknown = {
        name: (totals[name], totals["misconduct"] if name == "perpetrator_role" else total)
        for name in quality.FIELDS
    }
    per_location = dict(base.values_list("location_id").annotate(n=Count("id")).order_by())
    locations = {
        name: per_location.get(pk, 0)
        for pk, name in Location.objects.filter(institution=institution, active=True).values_list(
            "pk", "name"
        )
    }
    months = {
        (m.date() if hasattr(m, "date") else m): n
        for m, n in base.annotate(month=TruncMonth("occurred_on"))
        .values_list("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
        .order_by()
    }
    imported = IncidentEvent.objects.filter(incident=OuterRef("pk"), action=EventAction.IMPORTED)
    delays, n_imported = [], 0
    for occurred_on, created_at, was_imported in base.annotate(
        was_imported=Exists(imported)
    ).values_list("occurred_on", "created_at", "was_imported"):
        if was_imported:
            n_imported += 1
        else:
            delays.append(max(0, (timezone.localtime(created_at).date() - occurred_on).days))
    return quality.QualityInputs(
        school_year=school_year,
        first_day=first,
        through=through_date(school_year, today),
        running=is_running(school_year, today),
        incidents=total,
        unknown=unknown,
        locations=locations,
        months=months,
        delays=delays,
        imported=n_imported,
        registered_in_miv=total - n_imported,
    )


def registration_quality(
    institution: Institution, school_year: str, *, today: date | None = None
) -> quality.RegistrationQuality:
    return quality.assess(quality_inputs(institution, school_year, today=today))


def field_label(name: str) -> str:
    return {
        "place": _("Plek"),
        "occurred_at": _("Tijdstip"),
        "victim_role": _("Slachtoffer"),
        "perpetrator_role": _("Dader (bij misdragingen)"),
        "injury": _("Letsel"),
    }[name]


def month_label(month: date) -> str:
    return date_format(month, "F Y")


def days_text(days: float | None) -> str:
    """A number of days as written: whole days without decimals (a median may be x.5)."""
    if days is None:
        return format_number(None)
    return format_number(days, 1 if days % 1 else 0)


def todo_text(item: quality.Todo) -> str:
    """One to-do item as the coordinator reads it: what is wrong and what to do."""
    p = item.params
    if item.code == quality.NO_REGISTRATIONS:
        return _(
            "Er is in dit schooljaar niets geregistreerd. Registreer incidenten in MIV of "
            "importeer het register dat de instelling bijhoudt."
        )
    if item.code == quality.UNKNOWN_FIELD:
        return _(
            "%(field)s is bij %(unknown)s van %(total)s registraties onbekend (%(share)s). "
            "Vul het aan waar het bekend is."
        ) % {
            "field": field_label(p["field"]),
            "unknown": format_number(p["unknown"], 0),
            "total": format_number(p["total"], 0),
            "share": format_percent(p["unknown"] / p["total"]),
        }
    if item.code == quality.SILENT_LOCATIONS:
        return ngettext(
            "Geen enkele registratie van vestiging %(locations)s. Registreert deze vestiging "
            "incidenten ergens anders?",
            "Geen enkele registratie van de vestigingen %(locations)s. Registreren deze "
            "vestigingen incidenten ergens anders?",
            len(p["locations"]),
        ) % {"locations": ", ".join(p["locations"])}
    if item.code == quality.SILENT_MONTHS:
        return ngettext(
            "Geen enkele registratie in %(months)s. Is er toen echt niets gebeurd?",
            "Geen enkele registratie in %(months)s. Is er toen echt niets gebeurd?",
            len(p["months"]),
        ) % {"months": ", ".join(month_label(m) for m in p["months"])}
    if item.code == quality.LATE:
        return _(
            "Registraties komen laat binnen: de helft na %(median)s dagen, %(late)s van "
            "%(n)s na meer dan %(days)s dagen. Registreer zo snel mogelijk na het incident."
        ) % {
            "median": days_text(p["median"]),
            "late": format_number(p["late"], 0),
            "n": format_number(p["n"], 0),
            "days": quality.LATE_DAYS,
        }
    raise ValueError(f"unknown to-do item {item.code!r}")
