from django.core.management.base import BaseCommand, CommandError

from taxonomy.services import FIXTURE_DIR, TaxonomyFileError, load_taxonomy_file


class Command(BaseCommand):
    help = "Load (or reload) a taxonomy version from fixtures/taxonomy/; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(FIXTURE_DIR / "MIV-2023.json"))

    def handle(self, *args, file, **options):
        try:
            result = load_taxonomy_file(file)
        except (OSError, ValueError, KeyError, TaxonomyFileError) as exc:
            raise CommandError(f"Cannot load {file}: {exc}") from exc
        self.stdout.write(
            f"{file}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
