"""How the import commands print an :class:`~miv.importreport.ImportReport`: the summary on
stdout, every error on stderr, and a non-zero exit status when anything was wrong."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from miv.importreport import ImportReport


def print_report(command: BaseCommand, report: ImportReport, *, dry_run: bool) -> None:
    for line in report.text_lines():
        command.stdout.write(line)
    if report.errors:
        for error in report.errors:
            command.stderr.write(str(error))
        if report.errors.omitted:
            command.stderr.write(
                _("... en nog %(count)s fouten.") % {"count": report.errors.omitted}
            )
        raise CommandError(
            _("Niets geïmporteerd: %(total)s fouten in %(rows)s rijen.")
            % {"total": report.errors.total, "rows": report.errors.rows}
        )
    if dry_run:
        command.stdout.write(_("Proefimport (--dry-run): niets opgeslagen."))
    else:
        command.stdout.write(command.style.SUCCESS(_("Geïmporteerd.")))
