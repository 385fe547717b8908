"""Load questionnaire version VB-2023 (Bijlage 7) from fixtures/questionnaire/VB-2023.json.

A later version ships as its own fixture and a data migration like this one.
"""

from django.db import migrations

from questionnaire.loading import FIXTURE_DIR, load_questionnaire_file


def load(apps, schema_editor):
    load_questionnaire_file(FIXTURE_DIR / "VB-2023.json", apps=apps)


class Migration(migrations.Migration):
    dependencies = [("questionnaire", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
