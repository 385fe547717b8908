from django.core.management.base import BaseCommand, CommandError

from questionnaire.loading import CURRENT_FIXTURE, load_questionnaire_file


class Command(BaseCommand):
    help = "Load (or reload) a questionnaire version from fixtures/questionnaire/; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(CURRENT_FIXTURE))

    def handle(self, *args, file, **options):
        try:
            outcome = load_questionnaire_file(file)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot load {file}: {exc}") from exc
        self.stdout.write(f"{file}: {outcome}")
