"""Loading a taxonomy version from its fixture in ``fixtures/taxonomy/``.

How versions work
-----------------
Each file ``fixtures/taxonomy/<VERSION>.json`` holds the *whole* tree of one version.
Loading it creates what is new and updates names and sort order of what exists, matched
by ``code``. A later version (say ``MIV-2026``):

* adds a type by listing it with a new code (codes are never reused);
* retires a type by keeping it in the file with ``"active": false`` (its ``retired_in``
  becomes that version); registrations that use it keep it, new ones cannot pick it;
* never removes or renumbers a node: the loader refuses a file that leaves out a code
  that exists, so a type cannot silently disappear.

Ship a new version as a new fixture plus a data migration that calls
:func:`load_taxonomy_file` (see ``taxonomy/migrations/0002_load_miv_2023.py``).
Loading the same file twice changes nothing.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.apps import apps as global_apps
from django.conf import settings
from django.db import transaction

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures" / "taxonomy"


class TaxonomyFileError(ValueError):
    """The taxonomy file contradicts what is already loaded (e.g. a code went missing)."""


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _sync(model, lookup: dict, values: dict, result: LoadResult):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        result.created += 1
        result.changes.append(f"+ {lookup}")
        return obj
    dirty = [name for name, value in values.items() if getattr(obj, name) != value]
    if dirty:
        for name in dirty:
            setattr(obj, name, values[name])
        obj.save(update_fields=dirty)
        result.updated += 1
        result.changes.append(f"~ {lookup}: {', '.join(dirty)}")
    else:
        result.unchanged += 1
    return obj


def load_taxonomy(document: dict, *, apps=global_apps) -> LoadResult:
    """Create or update the version and tree described by ``document``; idempotent.

    ``apps`` lets a data migration pass its historical model registry.
    """
    Version = apps.get_model("taxonomy", "TaxonomyVersion")
    Category = apps.get_model("taxonomy", "Category")
    Subcategory = apps.get_model("taxonomy", "Subcategory")
    IncidentType = apps.get_model("taxonomy", "IncidentType")
    result = LoadResult()

    with transaction.atomic():
        v = document["version"]
        version = _sync(
            Version,
            {"code": v["code"]},
            {
                "name_nl": v["name_nl"],
                "name_en": v["name_en"],
                "published_on": date.fromisoformat(v["published_on"]),
                "source": v.get("source", ""),
            },
            result,
        )

        seen: dict[str, set[str]] = {"category": set(), "subcategory": set(), "type": set()}

        def sync_type(node, order, category, subcategory):
            seen["type"].add(node["code"])
            active = node.get("active", True)
            existing = IncidentType.objects.filter(code=node["code"]).first()
            introduced = existing.introduced_in if existing else version
            if active:
                retired = None
            else:
                retired = existing.retired_in if existing and existing.retired_in else version
            _sync(
                IncidentType,
                {"code": node["code"]},
                {
                    "name_nl": node["name_nl"],
                    "name_en": node["name_en"],
                    "sort_order": order,
                    "active": active,
                    "category": category,
                    "subcategory": subcategory,
                    "introduced_in": introduced,
                    "retired_in": retired,
                },
                result,
            )

        for c_order, c in enumerate(document["categories"], 1):
            seen["category"].add(c["code"])
            category = _sync(
                Category,
                {"code": c["code"]},
                {
                    "name_nl": c["name_nl"],
                    "name_en": c["name_en"],
                    "sort_order": c_order,
                    "active": c.get("active", True),
                },
                result,
            )
            for s_order, s in enumerate(c.get("subcategories", []), 1):
                seen["subcategory"].add(s["code"])
                subcategory = _sync(
                    Subcategory,
                    {"code": s["code"]},
                    {
                        "name_nl": s["name_nl"],
                        "name_en": s["name_en"],
                        "sort_order": s_order,
                        "active": s.get("active", True),
                        "category": category,
                    },
                    result,
                )
                for t_order, t in enumerate(s.get("types", []), 1):
                    sync_type(t, t_order, category, subcategory)
            for t_order, t in enumerate(c.get("types", []), 1):
                sync_type(t, t_order, category, None)

        for model, key in (
            (Category, "category"),
            (Subcategory, "subcategory"),
            (IncidentType, "type"),
        ):
            missing = set(model.objects.values_list("code", flat=True)) - seen[key]
            if missing:
                raise TaxonomyFileError(
                    f"{v['code']} leaves out existing {key} codes {sorted(missing)}; "
                    'retire them with "active": false instead of removing them.'
                )
    return result


def load_taxonomy_file(path: Path | str, *, apps=global_apps) -> LoadResult:
    with open(path, encoding="utf-8") as fh:
        return load_taxonomy(json.load(fh), apps=apps)
