"""The invented sector of the demo: twelve institutions (BRIN codes starting with 9, which DUO
does not use for MBO) with their locations, sizes and rates, and the mix of incident types,
victims, perpetrators, places and descriptions the incidents are drawn from."""

from dataclasses import dataclass

from incidents.choices import InstitutionKind, PerpetratorRole, Place, VictimRole

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
