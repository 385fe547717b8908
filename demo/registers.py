"""Demo denominators and survey scores: DUO-style student counts per school year, JOB and MO
scores per survey year."""

import random
from datetime import date

from demo.data import INSTITUTIONS
from reporting.choices import ScoreSource
from reporting.models import SafetyScore, StudentCount


def seed_student_counts(institutions, school_years: list[str], rng: random.Random) -> None:
    for d in INSTITUTIONS:
        students = d.students
        for year in school_years:
            StudentCount.objects.update_or_create(
                institution=institutions[d.brin],
                school_year=year,
                defaults={"students": students, "source": "demo (DUO-stijl, 1 oktober)"},
            )
            students = int(students * rng.uniform(0.97, 1.05))


def seed_safety_scores(institutions, today: date, rng: random.Random) -> None:
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
