"""Demo answers to the safety-policy questionnaire (Bijlage 7) over two school years.

The last complete school year: submitted by ten of the twelve institutions (two did not
answer). The running school year: submitted by six, a draft for three (ROC Metropool Amstel
among them, so ``coordinator.amstel`` can continue it), not started by three (ROC
Rivierenland-West among them, so ``coordinator.rivierenland`` can start it). Rivierenland's
answers of last year were reopened once by the administrator and submitted again, so its
history shows a reopening with its reason.

The answers imitate the sector's distributions of chapter 5 of the report (31
institutions): a confidential adviser everywhere, camera surveillance and a reporting point
at most, staff training at about half; the police as partner everywhere, Halt at two
thirds; evaluation mostly after incidents and centrally; more attention wanted above all for
subversive crime, undesirable behaviour and sexual transgression. Each institution has a
fixed "policy profile", so its answers of the two years resemble each other.
"""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.db import transaction

from demo.data import INSTITUTIONS, SEED
from incidents.choices import Role
from incidents.models import Institution, Membership
from questionnaire import services
from questionnaire.answers import Answers
from questionnaire.models import QuestionnaireResponse

NOT_LAST_YEAR = {"92AB", "93VB"}
THIS_YEAR_DRAFT = {"91RD", "91RC", "92AA"}
THIS_YEAR_NONE = {"91RA", "91RF", "93VB"}
REOPENED = "91RA"

# Chance that an institution has a provision (V3), and that it has it at all/most locations.
PROVISIONS = {
    "V3a": (1.00, 0.94),  # confidential adviser
    "V3b": (0.81, 0.85),  # reporting point
    "V3c": (0.48, 0.90),  # staff training
    "V3d": (0.94, 0.80),  # camera surveillance
    "V3e": (0.65, 0.70),  # supervision at entrances
    "V3f": (0.60, 0.65),  # supervision in public areas
    "V3g": (0.29, 0.60),  # other
}
OTHER_PROVISIONS = ["Ombudsman", "Meldpunt stagediscriminatie", "Incidentenmonitor"]
# Chance of some cooperation per partner (V5).
PARTNERS = {"V5a": 0.94, "V5b": 0.90, "V5c": 1.00, "V5d": 0.68}
# V11 per level: chance a source is used, for an institution evaluating at that level.
SOURCES = {
    "central": {"V11a": 0.46, "V11b": 0.96, "V11c": 0.85, "V11d": 0.73},
    "all_locations": {"V11a": 0.59, "V11b": 0.76, "V11c": 0.59, "V11d": 0.65},
    "some_locations": {"V11a": 0.20, "V11b": 0.50, "V11c": 0.60, "V11d": 0.80},
}
# V12 per theme: weights of (whole institution, problem locations only, no, don't know).
MEASURES = {
    "V12a": (4, 3, 6, 1), "V12b": (14, 6, 3, 1), "V12c": (12, 5, 4, 1), "V12d": (5, 11, 5, 1),
    "V12e": (4, 6, 8, 1), "V12f": (5, 6, 7, 2), "V12g": (6, 9, 5, 1), "V12h": (7, 9, 5, 1),
    "V12i": (6, 6, 6, 2), "V12j": (5, 4, 8, 2), "V12k": (16, 4, 3, 1), "V12l": (6, 3, 8, 2),
}  # fmt: skip
# V14 per theme: share wanting (much) more attention.
MORE_ATTENTION = {
    "V14a": 0.55, "V14b": 0.71, "V14c": 0.65, "V14d": 0.58, "V14e": 0.52, "V14f": 0.74,
    "V14g": 0.55, "V14h": 0.60, "V14i": 0.62, "V14j": 0.65, "V14k": 0.52, "V14l": 0.55,
}  # fmt: skip
OPEN_TEXTS = {
    "V7": [
        "Korte lijnen met de wijkagent; de gemeente is minder goed bereikbaar.",
        "Vaste overleggen met gemeente en politie per locatie werken goed.",
    ],
    "V15": [
        "Invloeden van buitenaf die de school in komen (straatcultuur, rivaliserende "
        "jeugdgroepen) en online risico's via sociale media.",
        "Mondigheid en aanspreekbaarheid van studenten; onvoldoende zicht op incidenten.",
    ],
    "V16": [
        "Heldere afspraken over gewenst en ongewenst gedrag, en gewenst gedrag stimuleren.",
        "Betrokkenheid bij het welbevinden van studenten en een bekende vertrouwenspersoon.",
    ],
    "V17": [
        "Werkdruk, ziekteverzuim en personeelstekort maken handhaven lastig; soms "
        "handelingsverlegenheid bij incidenten.",
    ],
    "V18": [
        "Training en scholing van medewerkers; goede samenwerking intern en met externe partijen.",
    ],
}


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def demo_answers(rng: random.Random, activeness: float) -> Answers:
    """One institution's answers; ``activeness`` (0.8–1.2) shifts provisions and evaluation."""
    a = Answers()
    role = _pick(rng, {"central_staff": 65, "local_staff": 8, "local_manager": 12, "other": 15})
    a.set_choice("V1", "", [role])
    if role == "other":
        a.set_text(
            "V1", "", rng.choice(["Adviseur integrale veiligheid", "Manager bedrijfsvoering"])
        )
    plan = {"no": 3, "planned": 16, "in_progress": 42, "complete": 39 * activeness}
    a.set_choice("V2", "", [_pick(rng, plan)])
    for item, (present, everywhere) in PROVISIONS.items():
        if item == "V3g" and rng.random() > present:
            continue  # "Anders" is usually left open
        has = rng.random() < min(1.0, present * activeness) or item == "V3a"
        a.set_choice("V3", item, ["yes" if has else rng.choice(["no", "no", "unknown"])])
        if has:
            spread = "all_most" if rng.random() < everywhere else rng.choice(["part", "one_few"])
            a.set_choice("V4", item, [spread])
            if item == "V3g":
                a.set_text("V3", item, rng.choice(OTHER_PROVISIONS))
    for item, chance in PARTNERS.items():
        if rng.random() < chance:
            level = _pick(rng, {"little": 25, "fair": 40, "much": 30, "no_view": 5})
        else:
            level = rng.choice(["none", "no_view"])
        a.set_choice("V5", item, [level])
    a.set_choice(
        "V6",
        "",
        [
            _pick(
                rng,
                {
                    "dissatisfied": 1,
                    "neutral": 6,
                    "satisfied": 17,
                    "very_satisfied": 4,
                    "no_view": 3,
                },
            )
        ],
    )
    if rng.random() < 0.3:
        a.set_text("V7", "", rng.choice(OPEN_TEXTS["V7"]))
    a.set_choice("V8", "", [_pick(rng, {"no_small": 2, "no_integral": 2, "yes": 27})])
    v9 = _pick(
        rng,
        {
            "central_oversees": 10,
            "central_guides": 13,
            "locations": 2,
            "central_shares": 1,
            "other": 5,
        },
    )
    a.set_choice("V9", "", [v9])
    if v9 == "other":
        a.set_text(
            "V9", "", "Het beleid wordt dit jaar herzien; de taakverdeling is in ontwikkeling."
        )
    # V10: per moment, the levels at which the policy is evaluated.
    central = {"V10a": 0.52, "V10b": 0.74, "V10c": 0.84}
    locations = {"V10a": 0.25, "V10b": 0.30, "V10c": 0.45}
    for item in ("V10a", "V10b", "V10c"):
        levels = []
        if rng.random() < min(1.0, central[item] * activeness):
            levels.append("central")
        if rng.random() < locations[item] * activeness:
            levels.append("all_locations" if rng.random() < 0.75 else "some_locations")
        a.set_choice("V10", item, levels or ["not_evaluated"])
    evaluated = a.selected("V10") - {"not_evaluated"}
    for level in sorted(evaluated):
        for source, chance in SOURCES[level].items():
            if rng.random() < chance:
                a.set_choice("V11", source, a.selected("V11", source) | {level})
    if evaluated and not a.choices.get("V11"):
        a.set_choice("V11", "V11b", [sorted(evaluated)[0]])
    for item, weights in MEASURES.items():
        a.set_choice(
            "V12",
            item,
            [
                _pick(
                    rng,
                    dict(
                        zip(("whole", "problem_locations", "no", "unknown"), weights, strict=True)
                    ),
                )
            ],
        )
    a.set_choice(
        "V13", "", [_pick(rng, {"enough": 15 * activeness, "reasonable": 12, "insufficient": 4})]
    )
    for item, chance in MORE_ATTENTION.items():
        if rng.random() < chance:
            a.set_choice("V14", item, [rng.choice(["much_more", "more", "more"])])
        else:
            a.set_choice("V14", item, ["same"])
    for question in ("V15", "V16", "V17", "V18"):
        if rng.random() < 0.6:
            a.set_text(question, "", rng.choice(OPEN_TEXTS[question]))
    a.set_choice("V19", "", ["no" if rng.random() < 0.9 else "yes"])
    if a.selected("V19") == {"yes"}:
        a.set_text("V19", "", "Graag volgend jaar dezelfde vragen, dan kunnen we vergelijken.")
    return a


def _draft_part(answers: Answers) -> Answers:
    """A draft: the first two sections answered, the rest still open."""
    return Answers().replace_questions(answers, ["V1", "V2", "V3", "V4", "V5", "V6", "V7"])


def _coordinators() -> dict[int, object]:
    return {
        m.institution_id: m.user
        for m in Membership.objects.filter(role=Role.COORDINATOR).select_related("user")
    }


def seed_questionnaire(institutions: dict[str, Institution], school_years: list[str]) -> int:
    """Answers for ``school_years[-2]`` (last complete year) and ``school_years[-1]`` (the
    running one). Does nothing when the demo institutions have responses already. Returns
    the number of responses created."""
    if QuestionnaireResponse.objects.filter(institution__brin__in=institutions).exists():
        return 0
    rng = random.Random(SEED + 15)
    last_year, this_year = school_years[-2], school_years[-1]
    coordinators = _coordinators()
    created = 0
    with transaction.atomic():
        for d in INSTITUTIONS:
            institution = institutions[d.brin]
            actor = coordinators.get(institution.pk)
            activeness = rng.uniform(0.8, 1.2)
            if d.brin not in NOT_LAST_YEAR:
                services.record_response(
                    institution=institution,
                    school_year=last_year,
                    answers=demo_answers(rng, activeness),
                    submit=True,
                    actor=actor,
                )
                created += 1
            if d.brin in THIS_YEAR_NONE:
                continue
            answers = demo_answers(rng, activeness)
            if d.brin in THIS_YEAR_DRAFT:
                answers = _draft_part(answers)
            services.record_response(
                institution=institution,
                school_year=this_year,
                answers=answers,
                submit=d.brin not in THIS_YEAR_DRAFT,
                actor=actor,
            )
            created += 1
        reopen_and_resubmit(institutions[REOPENED], last_year)
    return created


def reopen_and_resubmit(institution: Institution, school_year: str) -> None:
    """The administrator reopens a submitted response (recorded with its reason); the
    coordinator corrects V12 and submits again."""
    response = QuestionnaireResponse.objects.get(institution=institution, school_year=school_year)
    administrator = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    coordinator = _coordinators().get(institution.pk)
    if administrator is None or coordinator is None:
        return
    services.reopen(
        actor=administrator,
        response=response,
        reason="Op verzoek van de coördinator: V12 ging over het verkeerde schooljaar.",
    )
    answers = services.load_answers(response)
    for item in ("V12b", "V12c", "V12k"):
        answers.set_choice("V12", item, ["whole"])
    services.save_answers(
        actor=coordinator, response=response, answers=answers, questions=["V12"], section=3
    )
    services.submit(actor=coordinator, response=response)
