"""Demo incidents: a few thousand over the demo school years, and a legacy TOPdesk export
(an Excel workbook) that goes through the import page with its label mapping."""

import io
import random
from datetime import date, datetime, time, timedelta

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from demo.data import (
    DESCRIPTIONS,
    GROUP_WEIGHTS,
    INSTITUTIONS,
    PERPETRATORS,
    PLACES,
    SEED,
    VICTIMS,
)
from incidents import import_jobs
from incidents.choices import (
    EventAction,
    ImportKind,
    ImportStatus,
    Injury,
    PerpetratorRole,
    Role,
    Status,
)
from incidents.importers import MappingEntry, save_mapping
from incidents.models import Incident, IncidentEvent, Institution, Membership
from miv.schoolyear import school_year_bounds, school_year_of
from miv.xlsxfiles import XLSX_CONTENT_TYPE
from reporting.models import StudentCount
from taxonomy.models import IncidentType, TaxonomyVersion


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _type_sampler(rng: random.Random):
    types = IncidentType.objects.filter(active=True).select_related("category", "subcategory")
    keyed: dict[str, list[IncidentType]] = {}
    for t in types:
        keyed.setdefault(t.subcategory.code if t.subcategory_id else t.category.code, []).append(t)
    names, weights = zip(*GROUP_WEIGHTS.items(), strict=True)

    def sample() -> IncidentType:
        group = rng.choices(names, weights=weights)[0]
        return rng.choice(keyed[group])

    return sample


def seed_incidents(institutions, school_years: list[str], today: date, rng: random.Random) -> int:
    np_rng = np.random.default_rng(SEED)
    sample_type = _type_sampler(rng)
    version = TaxonomyVersion.current()
    members: dict[tuple[int, str], object] = {
        (m.institution_id, m.role): m.user
        for m in Membership.objects.filter(institution__isnull=False).select_related("user")
    }
    incidents: list[Incident] = []
    for d in INSTITUTIONS:
        inst = institutions[d.brin]
        locations = list(inst.locations.all())
        for n, year in enumerate(school_years):
            first, last = school_year_bounds(year)
            last = min(last, today)
            fraction = ((last - first).days + 1) / 365
            students = StudentCount.objects.get(institution=inst, school_year=year).students
            rate = d.rate * (1 + 0.06 * (n - 1))  # registrations grow slowly as MIV is adopted
            expected = rate * students / 1000 * fraction
            span = (last - first).days
            for _ in range(int(np_rng.poisson(expected))):
                day = first + timedelta(days=rng.randint(0, span))
                if day.weekday() >= 5 and rng.random() < 0.8:  # mostly on school days
                    day -= timedelta(days=day.weekday() - 4)
                itype = sample_type()
                category = itype.category.code
                victim = _weighted(rng, VICTIMS)
                status = (
                    Status.CLOSED
                    if last < today - timedelta(days=30)
                    else _weighted(rng, [(Status.OPEN, 60), (Status.CLOSED, 40)])
                )
                if rng.random() < 0.02:
                    status = Status.WITHDRAWN
                incidents.append(
                    Incident(
                        institution=inst,
                        location=rng.choice(locations),
                        incident_type=itype,
                        taxonomy_version=version,
                        occurred_on=day,
                        occurred_at=time(rng.randint(8, 17), rng.choice((0, 15, 30, 45))),
                        school_year=school_year_of(day),
                        place=_weighted(rng, PLACES),
                        victim_role=victim,
                        perpetrator_role=_weighted(rng, PERPETRATORS)
                        if category == "MIS"
                        else PerpetratorRole.UNKNOWN,
                        injury=_weighted(
                            rng, [(Injury.NONE, 70), (Injury.MINOR, 24), (Injury.MEDICAL, 6)]
                        )
                        if category != "MIL"
                        else Injury.NONE,
                        police_involved=category == "MIS" and rng.random() < 0.12,
                        measures=rng.choice(
                            [
                                "Gesprek met betrokkenen.",
                                "Ouders/verzorgers ingelicht.",
                                "Schorsing van één dag.",
                                "Nazorg aangeboden.",
                                "",
                            ]
                        ),
                        description=rng.choice(DESCRIPTIONS[category]),
                        status=status,
                        # A quarter by the demo registrar, the rest by the coordinator (or, at
                        # institutions without demo users, imported from a legacy register).
                        registered_by=members.get(
                            (inst.pk, Role.REGISTRAR if rng.random() < 0.25 else Role.COORDINATOR)
                        ),
                    )
                )
    created = Incident.objects.bulk_create(incidents, batch_size=2000)
    stamp = timezone.make_aware(datetime.combine(today, time(12, 0)))
    IncidentEvent.objects.bulk_create(
        [
            IncidentEvent(incident=i, actor=i.registered_by, action=EventAction.IMPORTED, at=stamp)
            for i in created
        ],
        batch_size=2000,
    )
    return len(created)


# A legacy register of ROC Twente-Vecht (a TOPdesk export with its own labels) and the
# mapping of those labels onto the taxonomy: imported through an import job like a
# coordinator's upload, so the import history and the mapping page have content.
LEGACY_BRIN = "91RG"
LEGACY_LABELS = {
    "Agressie > Fysiek": "MIS.FYS.06",
    "Agressie > Verbaal": "MIS.VER.02",
    "Agressie > Bedreiging": "MIS.BED.05",
    "Diefstal > Fiets": "MIS.OVR.03",
    "Diefstal > Overig": "MIS.OVR.03",
    "Vandalisme": "MIS.FYS.03",
    "Roken": "MIS.GEN.02",
    "Ongeval > Werkplaats": "ONG.ONV.04",
    "Ongeval > Overig": "ONG.ONV.03",
    "Onwel": "ONG.ZIE.03",
}
LEGACY_ROWS = 48


def legacy_export(institution: Institution, school_year: str, rng: random.Random) -> bytes:
    """The TOPdesk-style export as the coordinator saves it from Excel: a workbook (XLSX)
    with Dutch column names, date-time cells, locations by name and the register's own
    category labels."""
    first, last = school_year_bounds(school_year)
    locations = list(institution.locations.order_by("code").values_list("name", flat=True))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Meldingen")
    sheet.append(["Incidentnummer", "Aanmelddatum", "Vestiging", "Categorie", "Subcategorie"])
    labels = sorted(LEGACY_LABELS)
    for n in range(1, LEGACY_ROWS + 1):
        day = first + timedelta(days=rng.randint(0, (last - first).days))
        category, _, sub = rng.choice(labels).partition(" > ")
        at = time(rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
        sheet.append(
            [f"TD-{first.year}-{n:04d}", datetime.combine(day, at), rng.choice(locations)]
            + [category, sub]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def seed_legacy_import(institution: Institution, school_year: str, rng: random.Random) -> None:
    coordinator = Membership.objects.get(institution=institution, role=Role.COORDINATOR).user
    types = {t.code: t for t in IncidentType.objects.filter(code__in=LEGACY_LABELS.values())}
    save_mapping(
        institution,
        [MappingEntry(label, types[code]) for label, code in LEGACY_LABELS.items()],
        actor=coordinator,
    )
    upload = SimpleUploadedFile(
        f"topdesk-export-{school_year}.xlsx",
        legacy_export(institution, school_year, rng),
        content_type=XLSX_CONTENT_TYPE,
    )
    job = import_jobs.create_job(
        user=coordinator, kind=ImportKind.INCIDENTS, upload=upload, institution=institution
    )
    job.refresh_from_db()
    # With eager tasks the check has run: confirm as the coordinator would. With a worker
    # the job waits for the coordinator's confirmation in the import list.
    if job.status == ImportStatus.VALIDATED:
        import_jobs.confirm_job(job)
