"""``manage.py import_safety_scores FILE``: JOB-monitor and MO scores per institution.

The work is done by :func:`reporting.importers.import_safety_scores`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from miv.management_output import print_report
from reporting.importers import import_safety_scores


class Command(BaseCommand):
    help = (
        "Importeer veiligheidsscores uit CSV institution,source,survey_year,value,respondents "
        "(source job: % veilig 0-100; mo: gemiddelde 0-10)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="alleen controleren")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("Bestand niet gevonden: %(path)s") % {"path": path})
        report = import_safety_scores(path, commit=not options["dry_run"])
        print_report(self, report, dry_run=options["dry_run"])
