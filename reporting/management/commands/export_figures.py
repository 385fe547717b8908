"""``python manage.py export_figures --institution BRIN [--school-year 2022-2023]
--format csv|xlsx --output PATH [--table delivery|rates|trend|policy] [--language nl|en]``

The yearly figures of one institution (see :mod:`reporting.exports`): XLSX with one sheet
per table; CSV as a zip of all tables, or one table's CSV with ``--table``.
Run by an operator, so disclosure control of other institutions does not apply.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from miv.schoolyear import school_year_from_start, school_year_of
from reporting import export_files, exports


class Command(BaseCommand):
    help = "Export an institution's yearly figures (delivery table, rates, trend)."

    def add_arguments(self, parser):
        parser.add_argument("--institution", required=True, help="BRIN code, e.g. 25LJ")
        parser.add_argument(
            "--school-year", help="e.g. 2024-2025 (default: the last complete school year)"
        )
        parser.add_argument("--format", required=True, choices=export_files.FORMATS)
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument(
            "--table",
            choices=exports.table_keys(),
            help="CSV only: write this one table as a CSV file instead of a zip of all tables",
        )
        parser.add_argument(
            "--language",
            choices=["nl", "en"],
            default="nl",
            help="language of column names and labels (default nl)",
        )

    def handle(self, *args, institution, school_year, format, output, table, language, **opts):
        if not school_year:
            current_start = int(school_year_of(timezone.localdate())[:4])
            school_year = school_year_from_start(current_start - 1)
        if table and format != "csv":
            raise CommandError("--table applies to --format csv only.")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"The directory of {output!r} does not exist.")
        with translation.override(language):
            try:
                found = exports.find_institution(institution)
                tables = exports.yearly_tables(
                    found, school_year, tables=[table] if table else None
                )
            except exports.ExportError as exc:
                raise CommandError(str(exc)) from None
            if format == "xlsx":
                with path.open("wb") as fileobj:
                    export_files.write_xlsx(tables, fileobj)
            elif table:
                with path.open("w", encoding="utf-8", newline="") as fileobj:
                    export_files.write_csv(tables[0], fileobj)
            else:
                with path.open("wb") as fileobj:
                    export_files.write_zip(tables, fileobj, exports.file_stem(found, school_year))
        rows = sum(len(t.rows) for t in tables)
        self.stdout.write(
            f"Wrote {path} ({format}, {len(tables)} table(s), {rows} rows) for "
            f"{found.brin} {school_year}."
        )
