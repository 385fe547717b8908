"""``manage.py import_incidents FILE --institution BRIN``: import an incident file.

The work is done by :func:`incidents.importers.import_incidents`; this command only reads
the options and prints the report.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from incidents.importers import ImportOptions, import_incidents, read_mapping_file
from incidents.models import Institution
from miv.management_output import print_report


class Command(BaseCommand):
    help = (
        "Importeer incidenten uit MIV's standaard-CSV of een export (TOPdesk, Excel) met "
        "een koppeltabel. Alles of niets: bij één foute rij wordt niets opgeslagen."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV-bestand (; of , gescheiden, UTF-8 of Windows-1252)")
        parser.add_argument("--institution", required=True, help="BRIN-code van de instelling")
        parser.add_argument(
            "--mapping", help="koppeltabel source_label,incident_type (wordt bewaard)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="alleen controleren, niets opslaan"
        )
        parser.add_argument(
            "--create-locations", action="store_true", help="onbekende vestigingen aanmaken"
        )
        parser.add_argument("--date-column", default="", help="kolom met de datum")
        parser.add_argument("--location-column", default="", help="kolom met de vestiging")
        parser.add_argument(
            "--label-columns", default="", help="labelkolommen, bijv. Categorie,Subcategorie"
        )
        parser.add_argument("--id-column", default="", help="kolom met het incidentnummer")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("Bestand niet gevonden: %(path)s") % {"path": path})
        brin = options["institution"].strip().upper()
        institution = Institution.objects.filter(brin=brin).first()
        if institution is None:
            raise CommandError(_("Onbekende instelling: %(brin)s") % {"brin": brin})
        mapping = None
        if options["mapping"]:
            mapping_path = Path(options["mapping"])
            if not mapping_path.is_file():
                raise CommandError(_("Bestand niet gevonden: %(path)s") % {"path": mapping_path})
            mapping, errors = read_mapping_file(mapping_path)
            if errors:
                for error in errors:
                    self.stderr.write(f"{mapping_path.name}: {error}")
                raise CommandError(
                    _("De koppeltabel heeft %(count)s fouten; niets geïmporteerd.")
                    % {"count": errors.total}
                )
        import_options = ImportOptions.from_dict(
            {
                "date_column": options["date_column"],
                "location_column": options["location_column"],
                "label_columns": options["label_columns"],
                "id_column": options["id_column"],
                "create_locations": options["create_locations"],
            }
        )
        report = import_incidents(
            path,
            institution,
            mapping=mapping,
            options=import_options,
            commit=not options["dry_run"],
        )
        print_report(self, report, dry_run=options["dry_run"])
