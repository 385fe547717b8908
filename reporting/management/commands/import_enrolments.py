"""``manage.py import_enrolments FILE``: student counts (denominators) from DUO open data.

The work is done by :func:`reporting.importers.import_enrolments`.
"""

from datetime import date, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from miv.management_output import print_report
from reporting.importers import import_enrolments, read_institution_list


class Command(BaseCommand):
    help = (
        "Importeer studentaantallen: DUO's '03 deelnemers per instelling ...' (BRIN NUMMER of "
        "INSTELLINGSCODE, TOTAAL<jaar>) of CSV institution,school_year,students."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--source-date",
            help="datum van het bronbestand (JJJJ-MM-DD; standaard de wijzigingsdatum)",
        )
        parser.add_argument(
            "--institutions",
            help="DUO-instellingenlijst (Brinnr;Naam Instelling;...;Plaats;Vgl Groep) voor naam, "
            "soort en hoofdvestiging van nieuwe instellingen",
        )
        parser.add_argument("--dry-run", action="store_true", help="alleen controleren")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("Bestand niet gevonden: %(path)s") % {"path": path})
        if options["source_date"]:
            try:
                source_date = date.fromisoformat(options["source_date"])
            except ValueError:
                raise CommandError(_("Ongeldige --source-date; schrijf 2024-10-01.")) from None
        else:
            source_date = datetime.fromtimestamp(
                path.stat().st_mtime, tz=timezone.get_current_timezone()
            ).date()
        institution_list = None
        if options["institutions"]:
            list_path = Path(options["institutions"])
            if not list_path.is_file():
                raise CommandError(_("Bestand niet gevonden: %(path)s") % {"path": list_path})
            institution_list, list_report = read_institution_list(list_path)
            if list_report.errors:
                for error in list_report.errors:
                    self.stderr.write(f"{list_path.name}: {error}")
                raise CommandError(_("De instellingenlijst heeft fouten; niets geïmporteerd."))
        report = import_enrolments(
            path,
            source_date=source_date,
            institution_list=institution_list,
            commit=not options["dry_run"],
        )
        print_report(self, report, dry_run=options["dry_run"])
