"""Load taxonomy version MIV-2023 (Bijlage 2) from fixtures/taxonomy/MIV-2023.json.

A later version ships as its own fixture and a data migration like this one.
"""

from django.db import migrations

from taxonomy.services import FIXTURE_DIR, load_taxonomy_file


def load(apps, schema_editor):
    load_taxonomy_file(FIXTURE_DIR / "MIV-2023.json", apps=apps)


class Migration(migrations.Migration):
    dependencies = [("taxonomy", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
