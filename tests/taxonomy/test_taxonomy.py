"""The taxonomy against Bijlage 2 of the MIV report: counts, exact names, stable codes."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from taxonomy.models import Category, IncidentType, Subcategory, TaxonomyVersion
from taxonomy.services import FIXTURE_DIR, TaxonomyFileError, load_taxonomy, load_taxonomy_file

pytestmark = pytest.mark.django_db


def test_counts_match_bijlage_2():
    assert Category.objects.count() == 4
    assert Subcategory.objects.count() == 13
    assert IncidentType.objects.count() == 75
    assert TaxonomyVersion.objects.get().code == "MIV-2023"


@pytest.mark.parametrize(
    "category,subcategories,types",
    [("Misdraging", 11, 54), ("Ongeval/ziekte", 2, 10), ("Brand/explosie", 0, 5), ("Milieu", 0, 6)],
)
def test_counts_per_category(category, subcategories, types):
    cat = Category.objects.get(name_nl=category)
    assert cat.subcategories.count() == subcategories
    assert cat.types.count() == types


def test_brand_and_milieu_have_types_without_subcategory():
    for name in ("Brand/explosie", "Milieu"):
        assert not IncidentType.objects.filter(category__name_nl=name, subcategory__isnull=False)


@pytest.mark.parametrize(
    "subcategory,type_name",
    [
        ("Bedreiging", "Bedreiging (met de dood)"),
        ("Bedreiging", "Bedreiging (niet met de dood)"),
        ("Fysieke agressie", "Ontvoering/vrijheidsberoving/gijzeling"),
        ("Fysieke agressie", "Vechtpartij"),
        ("Overig", "Negeren (veiligheids)regels"),
        ("Ziekte", "Ziektegolf/epidemie/pandemie"),
        ("Seksueel misbruik", "Loverboy/-girl"),
        ("Technisch/digitaal", "Email- en internetpesterijen"),
        ("Genotmiddelen", "Drugsbezit en/of handel en/of gebruik"),
    ],
)
def test_exact_dutch_names_under_subcategories(subcategory, type_name):
    assert IncidentType.objects.filter(subcategory__name_nl=subcategory, name_nl=type_name).exists()


def test_exact_names_at_each_level():
    assert list(Category.objects.values_list("name_nl", flat=True)) == [
        "Misdraging",
        "Ongeval/ziekte",
        "Brand/explosie",
        "Milieu",
    ]
    assert list(
        Subcategory.objects.filter(category__code="MIS").values_list("name_nl", flat=True)
    ) == [
        "Bedreiging",
        "Discriminatie",
        "Fysieke agressie",
        "Non-verbale agressie",
        "Verbale agressie",
        "Seksuele intimidatie",
        "Seksueel misbruik",
        "Genotmiddelen",
        "Vuurwerk en wapens",
        "Technisch/digitaal",
        "Overig",
    ]
    assert list(
        IncidentType.objects.filter(category__name_nl="Milieu").values_list("name_nl", flat=True)
    ) == ["Lucht", "Stank", "Water", "Bodem", "Geluid", "Gevaarlijke stoffen"]
    assert IncidentType.objects.filter(name_nl="Moedwillig veroorzaken uitslaande brand").exists()


def test_every_node_has_an_english_name():
    for model in (Category, Subcategory, IncidentType):
        assert not model.objects.filter(name_en="").exists()


def test_codes_unique_and_stable_across_reload():
    before = dict(IncidentType.objects.values_list("code", "pk"))
    assert len(before) == 75
    result = load_taxonomy_file(FIXTURE_DIR / "MIV-2023.json")
    assert (result.created, result.updated) == (0, 0)
    assert result.unchanged == 1 + 4 + 13 + 75
    assert dict(IncidentType.objects.values_list("code", "pk")) == before


def test_load_command_twice_changes_nothing(capsys):
    call_command("load_taxonomy")
    call_command("load_taxonomy")
    assert "0 created, 0 updated, 93 unchanged" in capsys.readouterr().out


def _document():
    with open(FIXTURE_DIR / "MIV-2023.json", encoding="utf-8") as fh:
        return json.load(fh)


def test_new_version_retires_and_adds_types():
    doc = _document()
    doc["version"] = {**doc["version"], "code": "MIV-2026", "published_on": "2026-08-01"}
    milieu = doc["categories"][3]
    milieu["types"][1]["active"] = False  # retire "Stank"
    milieu["types"].append(
        {"code": "MIL.07", "name_nl": "Lichthinder", "name_en": "Light nuisance"}
    )
    load_taxonomy(doc)

    stank = IncidentType.objects.get(code="MIL.02")
    assert not stank.active and stank.retired_in.code == "MIV-2026"
    assert stank.introduced_in.code == "MIV-2023"
    new = IncidentType.objects.get(code="MIL.07")
    assert new.active and new.introduced_in.code == "MIV-2026"
    assert TaxonomyVersion.current().code == "MIV-2026"


def test_a_version_that_drops_a_code_is_refused():
    doc = _document()
    doc["categories"][3]["types"].pop()
    with pytest.raises(TaxonomyFileError, match="MIL.06"):
        load_taxonomy(doc)
    assert IncidentType.objects.filter(code="MIL.06").exists()


def test_code_cannot_be_renumbered():
    node = IncidentType.objects.get(code="MIL.01")
    node.code = "MIL.99"
    with pytest.raises(ValidationError, match="code"):
        node.full_clean()


def test_api_returns_the_whole_tree(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/taxonomy/")
    assert response.status_code == 200
    data = response.json()
    assert [c["code"] for c in data] == ["MIS", "ONG", "BRA", "MIL"]
    assert sum(len(c["subcategories"]) for c in data) == 13
    n_types = sum(len(s["types"]) for c in data for s in c["subcategories"]) + sum(
        len(c["types"]) for c in data
    )
    assert n_types == 75
    misdraging = data[0]
    assert misdraging["types"] == []
    assert misdraging["subcategories"][0]["name_nl"] == "Bedreiging"
    assert misdraging["subcategories"][0]["types"][3] == {
        "code": "MIS.BED.04",
        "name_nl": "Bedreiging (met de dood)",
        "name_en": "Threat (death threat)",
        "active": True,
    }
    milieu = data[3]
    assert milieu["subcategories"] == [] and len(milieu["types"]) == 6
