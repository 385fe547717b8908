"""``python manage.py compute_figures [--school-year 2022-2023]``: compute the figures now,
in this process (no broker needed). Without ``--school-year``: every year with data."""

import time

from django.core.management.base import BaseCommand, CommandError

from miv.schoolyear import parse_school_year
from reporting import engine
from reporting.choices import JobReason


class Command(BaseCommand):
    help = "Compute incidents per 1,000 students, sector figures and correlations."

    def add_arguments(self, parser):
        parser.add_argument(
            "--school-year",
            action="append",
            dest="school_years",
            help="School year such as 2022-2023; may be repeated. Default: all years with data.",
        )

    def handle(self, *args, school_years=None, **options):
        years = school_years or engine.known_school_years()
        for year in years:
            try:
                parse_school_year(year)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        if not years:
            self.stdout.write("No school years with data.")
            return
        for year in years:
            job = engine.create_job(year, reason=JobReason.COMMAND)
            started = time.perf_counter()
            figure_set = engine.run_job(job.pk)
            elapsed = time.perf_counter() - started
            excluded = len(figure_set.excluded)
            self.stdout.write(
                f"{year}: {figure_set.incidents_counted} incidents, "
                f"{figure_set.institutions_included} institutions with rates, "
                f"{excluded} without a student count ({elapsed:.2f}s)"
            )
