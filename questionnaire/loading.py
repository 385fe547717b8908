"""Loading a questionnaire version from its fixture in ``fixtures/questionnaire/``.

Like the taxonomy (``taxonomy/services.py``): each file ``<VERSION>.json`` holds the whole
questionnaire of one version; a data migration loads it. Loading checks the document
(:func:`questionnaire.definition.parse`) and compares it with every version already loaded:
a code may never change its meaning (:func:`questionnaire.definition.incompatibilities`),
so answers given to an earlier version keep meaning what they meant. Reloading a version
may only correct its English texts. Loading the same file twice changes nothing.

Ship a new version as ``fixtures/questionnaire/<NEW>.json`` plus a data migration like
``questionnaire/migrations/0002_load_vb_2023.py``.
"""

import json
from datetime import date
from pathlib import Path

from django.apps import apps as global_apps
from django.conf import settings
from django.db import transaction

from .definition import DefinitionError, incompatibilities, parse

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures" / "questionnaire"
CURRENT_FIXTURE = FIXTURE_DIR / "VB-2023.json"


def load_questionnaire(document: dict, *, apps=global_apps) -> str:
    """Create or update the version in ``document``: ``"created"``, ``"updated"`` or
    ``"unchanged"``. :class:`DefinitionError` when it is inconsistent or changes the
    meaning of a code of any loaded version."""
    questionnaire = parse(document)
    Version = apps.get_model("questionnaire", "QuestionnaireVersion")
    with transaction.atomic():
        problems = []
        for other in Version.objects.select_for_update().order_by("published_on", "code"):
            problems += incompatibilities(parse(other.definition), questionnaire)
        if problems:
            raise DefinitionError(
                f"{questionnaire.code} changes the meaning of existing codes; give a changed "
                f"question a new code instead: {'; '.join(problems)}"
            )
        values = {
            "name_nl": questionnaire.name_nl,
            "name_en": questionnaire.name_en,
            "published_on": date.fromisoformat(questionnaire.published_on),
            "source": questionnaire.source,
            "definition": document,
        }
        version = Version.objects.filter(code=questionnaire.code).first()
        if version is None:
            Version.objects.create(code=questionnaire.code, **values)
            return "created"
        dirty = [name for name, value in values.items() if getattr(version, name) != value]
        if not dirty:
            return "unchanged"
        for name in dirty:
            setattr(version, name, values[name])
        version.save(update_fields=dirty)
        return "updated"


def load_questionnaire_file(path: Path | str, *, apps=global_apps) -> str:
    with open(path, encoding="utf-8") as fh:
        return load_questionnaire(json.load(fh), apps=apps)
