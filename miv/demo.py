"""Fictitious but realistic demo data: the shop window of ``make demo``.

Twelve invented institutions (BRIN codes starting with 9, which DUO does not use for MBO),
their locations, one user per role, DUO-style student counts, JOB and MO survey scores,
and a few thousand incidents over the last three complete school years and the current
one. Deterministic (fixed seed), so every demo shows the same figures.
"""

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from incidents import import_jobs
from incidents.choices import (
    EventAction,
    ImportKind,
    ImportStatus,
    Injury,
    InstitutionKind,
    PerpetratorRole,
    Place,
    Role,
    Status,
    VictimRole,
)
from incidents.importers import MappingEntry, save_mapping
from incidents.models import Incident, IncidentEvent, Institution, Location, Membership
from miv.schoolyear import school_year_bounds, school_year_from_start, school_year_of
from reporting.choices import ScoreSource
from reporting.models import SafetyScore, StudentCount
from reporting.services import compute_school_year
from taxonomy.models import IncidentType, TaxonomyVersion

DEMO_PASSWORD = "demo-miv-2023"
SEED = 2023


@dataclass(frozen=True)
class DemoInstitution:
    brin: str
    name: str
    kind: str
    region: str
    urbanity: int
    city: str
    students: int  # 1 October of the first demo year
    rate: float  # incidents per 1,000 students a year
    job_safe: float  # % students feeling safe (JOB)
    mo_score: float  # staff safety score 0-10 (MO)
    locations: tuple[tuple[str, str, str], ...]


INSTITUTIONS = [
    DemoInstitution(
        "91RA",
        "ROC Rivierenland-West",
        InstitutionKind.ROC,
        "west",
        2,
        "Dordrecht",
        14200,
        16.0,
        80.5,
        7.9,
        (
            ("DOR-C", "Dordrecht Centrum", "Dordrecht"),
            ("DOR-N", "Dordrecht Noord", "Dordrecht"),
            ("GOR", "Gorinchem", "Gorinchem"),
        ),
    ),
    DemoInstitution(
        "91RB",
        "ROC Noorderkust",
        InstitutionKind.ROC,
        "noord",
        3,
        "Leeuwarden",
        9800,
        11.0,
        84.0,
        8.1,
        (("LWD", "Leeuwarden Campus", "Leeuwarden"), ("DRA", "Drachten", "Smallingerland")),
    ),
    DemoInstitution(
        "91RC",
        "ROC Oostland",
        InstitutionKind.ROC,
        "oost",
        3,
        "Apeldoorn",
        17500,
        21.0,
        77.5,
        7.6,
        (
            ("APD-1", "Apeldoorn Laan", "Apeldoorn"),
            ("APD-2", "Apeldoorn Zuid", "Apeldoorn"),
            ("DEV", "Deventer", "Deventer"),
            ("ZUT", "Zutphen", "Zutphen"),
        ),
    ),
    DemoInstitution(
        "91RD",
        "ROC Metropool Amstel",
        InstitutionKind.ROC,
        "west",
        1,
        "Amsterdam",
        24500,
        34.0,
        75.0,
        7.3,
        (
            ("AMS-W", "Amsterdam West", "Amsterdam"),
            ("AMS-Z", "Amsterdam Zuidoost", "Amsterdam"),
            ("AMS-N", "Amsterdam Noord", "Amsterdam"),
            ("HLM", "Haarlemmermeer", "Haarlemmermeer"),
            ("ZAA", "Zaandam", "Zaanstad"),
        ),
    ),
    DemoInstitution(
        "91RE",
        "ROC Brabant-Midden",
        InstitutionKind.ROC,
        "zuid",
        2,
        "Tilburg",
        12300,
        14.0,
        82.0,
        8.0,
        (("TLB", "Tilburg Spoorzone", "Tilburg"), ("WAA", "Waalwijk", "Waalwijk")),
    ),
    DemoInstitution(
        "91RF",
        "ROC Maasvallei",
        InstitutionKind.ROC,
        "zuid",
        3,
        "Venlo",
        6900,
        9.0,
        86.0,
        8.3,
        (("VNL", "Venlo", "Venlo"), ("RMD", "Roermond", "Roermond")),
    ),
    DemoInstitution(
        "91RG",
        "ROC Twente-Vecht",
        InstitutionKind.ROC,
        "oost",
        3,
        "Almelo",
        8700,
        4.5,
        76.0,
        7.4,  # few registrations, low safety: under-registration?
        (("ALM", "Almelo", "Almelo"), ("HAR", "Hardenberg", "Hardenberg")),
    ),
    DemoInstitution(
        "91RH",
        "ROC Haaglanden-Kust",
        InstitutionKind.ROC,
        "west",
        1,
        "Den Haag",
        19800,
        27.0,
        78.0,
        7.7,
        (
            ("DH-C", "Den Haag Centrum", "'s-Gravenhage"),
            ("DH-L", "Den Haag Laak", "'s-Gravenhage"),
            ("DLF", "Delft", "Delft"),
        ),
    ),
    DemoInstitution(
        "92AA",
        "AOC Groene Delta",
        InstitutionKind.AOC,
        "west",
        4,
        "Naaldwijk",
        3100,
        7.0,
        88.5,
        8.4,
        (("NLD", "Naaldwijk", "Westland"), ("GOU", "Gouda", "Gouda")),
    ),
    DemoInstitution(
        "92AB",
        "AOC Veld en Vee",
        InstitutionKind.AOC,
        "noord",
        5,
        "Emmen",
        2400,
        5.5,
        90.5,
        8.6,
        (("EMM", "Emmen", "Emmen"),),
    ),
    DemoInstitution(
        "93VA",
        "Vakcollege Maritiem",
        InstitutionKind.VAK,
        "west",
        1,
        "Rotterdam",
        1900,
        12.0,
        85.0,
        8.2,
        (("RTD", "Rotterdam Haven", "Rotterdam"),),
    ),
    DemoInstitution(
        "93VB",
        "Vakschool Zorg en Welzijn",
        InstitutionKind.VAK,
        "zuid",
        2,
        "Eindhoven",
        2800,
        8.0,
        87.5,
        8.5,
        (("EHV", "Eindhoven", "Eindhoven"),),
    ),
]

# Share of incidents per subcategory (or per category where types hang directly under it).
GROUP_WEIGHTS = {
    "MIS.BED": 7,
    "MIS.DIS": 3,
    "MIS.FYS": 14,
    "MIS.NVA": 2,
    "MIS.VER": 14,
    "MIS.SIN": 3,
    "MIS.SMB": 1,
    "MIS.GEN": 8,
    "MIS.VUW": 2,
    "MIS.TEC": 3,
    "MIS.OVR": 13,
    "ONG.ONV": 17,
    "ONG.ZIE": 9,
    "BRA": 1.5,
    "MIL": 2.5,
}
VICTIMS = [
    (VictimRole.STUDENT, 58),
    (VictimRole.STAFF, 24),
    (VictimRole.VISITOR, 5),
    (VictimRole.NONE, 9),
    (VictimRole.UNKNOWN, 4),
]
PERPETRATORS = [
    (PerpetratorRole.STUDENT, 62),
    (PerpetratorRole.EXTERNAL, 14),
    (PerpetratorRole.STAFF, 3),
    (PerpetratorRole.UNKNOWN, 21),
]
PLACES = [
    (Place.CLASSROOM, 30),
    (Place.CORRIDOR, 28),
    (Place.GROUNDS, 16),
    (Place.SURROUNDINGS, 10),
    (Place.INTERNSHIP, 5),
    (Place.ONLINE, 6),
    (Place.OTHER, 5),
]
DESCRIPTIONS = {
    "MIS": [
        "Student reageerde agressief na aanspreken op gedrag in de kantine.",
        "Ruzie tussen twee studenten bij de ingang, door beveiliging gesust.",
        "Melding van een docent over herhaald intimiderend gedrag in de les.",
        "Fiets gestolen uit de stalling; camerabeelden opgevraagd.",
        "Bezoeker zonder afspraak weigerde het gebouw te verlaten.",
    ],
    "ONG": [
        "Student gestruikeld op de trap, eerste hulp verleend door BHV.",
        "Snijwond bij praktijkles in de werkplaats; pleister volstond.",
        "Medewerker onwel geworden tijdens de pauze, ambulance gebeld.",
    ],
    "BRA": ["Prullenbak in brand gestoken op het toilet, snel geblust."],
    "MIL": ["Sterke gaslucht in het praktijklokaal, ruimte geventileerd."],
}


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def demo_school_years(today: date) -> list[str]:
    """The last three complete school years and the current one, oldest first."""
    current_start = int(school_year_of(today)[:4])
    return [school_year_from_start(current_start - n) for n in (3, 2, 1, 0)]


def _seed_institutions() -> dict[str, Institution]:
    result = {}
    for d in INSTITUTIONS:
        inst, _ = Institution.objects.update_or_create(
            brin=d.brin,
            defaults={
                "name": d.name,
                "kind": d.kind,
                "region": d.region,
                "urbanity": d.urbanity,
                "city": d.city,
            },
        )
        for code, name, municipality in d.locations:
            Location.objects.update_or_create(
                institution=inst, code=code, defaults={"name": name, "municipality": municipality}
            )
        result[d.brin] = inst
    return result


def _user(username: str, *, superuser: bool = False):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(DEMO_PASSWORD)
    user.is_superuser = user.is_staff = superuser
    user.save()
    return user


def _seed_users(institutions: dict[str, Institution]) -> list[tuple[str, str]]:
    logins = [("beheerder", "administrator (Django admin)")]
    _user("beheerder", superuser=True)
    for brin, short in (("91RA", "rivierenland"), ("91RD", "amstel"), ("91RG", "twente")):
        inst = institutions[brin]
        first_location = inst.locations.order_by("code").first()
        registrar = _user(f"melder.{short}")
        Membership.objects.update_or_create(
            user=registrar,
            institution=inst,
            defaults={"role": Role.REGISTRAR, "default_location": first_location},
        )
        coordinator = _user(f"coordinator.{short}")
        Membership.objects.update_or_create(
            user=coordinator, institution=inst, defaults={"role": Role.COORDINATOR}
        )
        logins += [
            (f"melder.{short}", f"registrar (facility staff), {inst.name}"),
            (f"coordinator.{short}", f"safety coordinator, {inst.name}"),
        ]
    researcher = _user("onderzoeker")
    Membership.objects.update_or_create(
        user=researcher, institution=None, defaults={"role": Role.RESEARCHER}
    )
    named = _user("onderzoeker.benoemd")
    Membership.objects.update_or_create(
        user=named, institution=None, defaults={"role": Role.RESEARCHER, "named_access": True}
    )
    logins += [
        ("onderzoeker", "researcher (pseudonymised figures)"),
        ("onderzoeker.benoemd", "researcher with named access (BRIN codes)"),
    ]
    return logins


def _seed_student_counts(institutions, school_years: list[str], rng: random.Random) -> None:
    for d in INSTITUTIONS:
        students = d.students
        for year in school_years:
            StudentCount.objects.update_or_create(
                institution=institutions[d.brin],
                school_year=year,
                defaults={"students": students, "source": "demo (DUO-stijl, 1 oktober)"},
            )
            students = int(students * rng.uniform(0.97, 1.05))


def _seed_safety_scores(institutions, today: date, rng: random.Random) -> None:
    last_even = today.year if today.year % 2 == 0 else today.year - 1
    for d in INSTITUTIONS:
        for survey_year in (last_even - 4, last_even - 2, last_even):
            drift = (survey_year - last_even) / 2
            SafetyScore.objects.update_or_create(
                institution=institutions[d.brin],
                source=ScoreSource.JOB,
                survey_year=survey_year,
                defaults={
                    "value": round(min(95, d.job_safe + drift * 0.8 + rng.uniform(-1, 1)), 1),
                    "respondents": int(d.students * rng.uniform(0.35, 0.5)),
                },
            )
        for survey_year in (last_even - 2, last_even):
            SafetyScore.objects.update_or_create(
                institution=institutions[d.brin],
                source=ScoreSource.MO,
                survey_year=survey_year,
                defaults={
                    "value": round(min(10, d.mo_score + rng.uniform(-0.15, 0.15)), 2),
                    "respondents": int(d.students / 11 * rng.uniform(0.3, 0.5)),
                },
            )


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


def _seed_incidents(institutions, school_years: list[str], today: date, rng: random.Random) -> int:
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


def seed_demo(today: date | None = None) -> dict:
    """Create the demo data unless it is there already. Returns what was done and the logins."""
    today = today or timezone.localdate()
    rng = random.Random(SEED)
    school_years = demo_school_years(today)
    with transaction.atomic():
        already = Institution.objects.filter(brin=INSTITUTIONS[0].brin).exists()
        institutions = _seed_institutions()
        logins = _seed_users(institutions)
        _seed_student_counts(institutions, school_years, rng)
        _seed_safety_scores(institutions, today, rng)
        incidents = 0
        if not already:
            incidents = _seed_incidents(institutions, school_years, today, rng)
    if not already:
        # Outside the transaction: the import job's check and import are queued on commit.
        _seed_legacy_import(institutions[LEGACY_BRIN], school_years[-2], rng)
    # The figures of the demo years (rates, sector, correlations), so figures are there at
    # once; bulk-created incidents send no change signals. Idempotent, about a second.
    for school_year in school_years:
        compute_school_year(school_year)
    return {
        "created": not already,
        "incidents": incidents,
        "school_years": school_years,
        "logins": logins,
        "research_token": _research_token(),
    }


def _research_token() -> str:
    """A fresh API token for the demo researcher (the research API takes tokens only);
    earlier demo tokens are revoked, so repeated demos do not pile them up."""
    researcher = get_user_model().objects.get(username="onderzoeker")
    AuthToken.objects.filter(user=researcher).delete()
    _, token = AuthToken.objects.create(user=researcher, expiry=timedelta(days=30))
    return token


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
    """The TOPdesk-style export: ``;``-separated, Windows-1252, dates as Dutch Excel writes
    them, locations by name."""
    first, last = school_year_bounds(school_year)
    locations = list(institution.locations.order_by("code").values_list("name", flat=True))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Incidentnummer", "Aanmelddatum", "Vestiging", "Categorie", "Subcategorie"])
    labels = sorted(LEGACY_LABELS)
    for n in range(1, LEGACY_ROWS + 1):
        day = first + timedelta(days=rng.randint(0, (last - first).days))
        category, _, sub = rng.choice(labels).partition(" > ")
        writer.writerow(
            [
                f"TD-{first.year}-{n:04d}",
                f"{day:%d-%m-%Y} {rng.randint(8, 16):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                rng.choice(locations),
                category,
                sub,
            ]
        )
    return out.getvalue().encode("cp1252")


def _seed_legacy_import(institution: Institution, school_year: str, rng: random.Random) -> None:
    coordinator = Membership.objects.get(institution=institution, role=Role.COORDINATOR).user
    types = {t.code: t for t in IncidentType.objects.filter(code__in=LEGACY_LABELS.values())}
    save_mapping(
        institution,
        [MappingEntry(label, types[code]) for label, code in LEGACY_LABELS.items()],
        actor=coordinator,
    )
    upload = SimpleUploadedFile(
        f"topdesk-export-{school_year}.csv",
        legacy_export(institution, school_year, rng),
        content_type="text/csv",
    )
    job = import_jobs.create_job(
        user=coordinator, kind=ImportKind.INCIDENTS, upload=upload, institution=institution
    )
    job.refresh_from_db()
    # With eager tasks the check has run: confirm as the coordinator would. With a worker
    # the job waits for the coordinator's confirmation in the import list.
    if job.status == ImportStatus.VALIDATED:
        import_jobs.confirm_job(job)
