"""The API's shared parts (``miv/api``) that make its hot paths cheaper without changing an
answer: model serializers build their fields once, and a list builds its FilterSet only
when the request names a filter (issue 16)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from incidents.api.serializers import IncidentSerializer
from incidents.filtersets import IncidentFilterSet
from incidents.models import Location
from miv.api.serializers import BuiltOnceModelSerializer, copy_field
from taxonomy.api.serializers import SubcategorySerializer
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

INCIDENTS = "/api/v1/incidents/"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def built(monkeypatch):
    """Counts how often DRF builds a model serializer's fields, from an empty cache."""
    monkeypatch.setattr(BuiltOnceModelSerializer, "_built_fields", {})
    calls = []
    original = serializers.ModelSerializer.get_fields

    def counting(self):
        calls.append((type(self).__name__, translation.get_language()))
        return original(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counting)
    return calls


def _serializer_for(user) -> IncidentSerializer:
    request = APIRequestFactory().post(INCIDENTS)
    request.user = user
    return IncidentSerializer(data={}, context={"request": request})


def test_fields_are_built_once_per_class_and_language_and_each_serializer_has_its_own(
    built, registrar_a, coordinator_b, location_a, location_b
):
    with translation.override("nl"):
        first, second = _serializer_for(registrar_a), _serializer_for(coordinator_b)
        first.fields, second.fields  # noqa: B018 - building them is what is counted
        assert built == [("IncidentSerializer", "nl")]
        # Each instance has its own fields, scoped to its own request's user.
        assert first.fields["location"] is not second.fields["location"]
        assert list(first.fields["location"].queryset) == [location_a]
        assert list(second.fields["location"].queryset) == [location_b]
        assert first.fields["location"].parent is first
        assert second.fields["location"].parent is second
    with translation.override("en"):
        _serializer_for(registrar_a).fields  # noqa: B018
    assert built == [("IncidentSerializer", "nl"), ("IncidentSerializer", "en")]
    # What a request changes stays on its copy: the next serializer starts from the class,
    # and one that only shows incidents (no input to validate) offers no location at all.
    assert Location.objects.count() == 2
    assert list(IncidentSerializer().fields["location"].queryset) == []
    request = APIRequestFactory().get(INCIDENTS)
    request.user = registrar_a
    shown = IncidentSerializer(context={"request": request})
    assert list(shown.fields["location"].queryset) == []


def test_a_registration_and_a_list_read_the_model_only_for_the_first_request(
    built, client_for, registrar_a, coordinator_a, location_a
):
    registrar = client_for(registrar_a)
    for day in ("2024-03-14", "2024-03-15"):
        response = registrar.post(
            INCIDENTS,
            {
                "location": location_a.pk,
                "incident_type": "MIS.FYS.06",
                "occurred_on": day,
                "victim_role": "student",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        # The times are in the site's zone (named once, not looked up per incident).
        created = datetime.fromisoformat(response.json()["created_at"])
        assert created.utcoffset() == created.astimezone(AMSTERDAM).utcoffset()
        assert created.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    coordinator = client_for(coordinator_a)
    for _ in range(2):
        assert coordinator.get(INCIDENTS).json()["count"] == 2
    assert [name for name, _language in built] == ["IncidentSerializer"]


@pytest.fixture
def filtersets(monkeypatch):
    """Counts the IncidentFilterSets built."""
    made = []
    original = IncidentFilterSet.__init__

    def counting(self, *args, **kwargs):
        made.append(kwargs.get("data"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(IncidentFilterSet, "__init__", counting)
    return made


def test_a_list_builds_its_filterset_only_when_a_filter_is_named(
    filtersets, client_for, coordinator_a, location_a, registrar_a
):
    IncidentFactory(location=location_a, registered_by=registrar_a, status="open")
    IncidentFactory(location=location_a, registered_by=registrar_a, status="closed")
    client = client_for(coordinator_a)
    for query in ({}, {"page": "1"}, {"page_size": "1"}, {"ordering": "-occurred_on"}):
        assert client.get(INCIDENTS, query).status_code == 200
    assert filtersets == []
    assert client.get(INCIDENTS).json()["count"] == 2
    # Named: built and applied, as before, also with other parameters beside it.
    assert client.get(INCIDENTS, {"status": "closed", "page": "1"}).json()["count"] == 1
    assert len(filtersets) == 1
    response = client.get(INCIDENTS, {"status": "lost"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def test_every_filter_is_one_parameter_of_its_own_name():
    """The backend recognises a filter by its name in the query string: a filter that reads
    several parameters (a range's ``_min``/``_max``) would be skipped when only those are
    given. None of MIV's FilterSets has one."""
    import django_filters
    from django.forms import MultiWidget

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    filtersets = list(subclasses(django_filters.FilterSet))
    assert IncidentFilterSet in filtersets
    for filterset in filtersets:
        for name, filter_ in filterset.base_filters.items():
            # The widget by class: building the class-level filter's form field would cache
            # it, with its choices read for no user, into every later FilterSet.
            widget = filter_.extra.get("widget", filter_.field_class.widget)
            widget = widget if isinstance(widget, type) else type(widget)
            assert not issubclass(widget, MultiWidget), (filterset, name)


def test_a_copied_field_has_its_own_state_and_nested_fields_are_built_again():
    """``copy_field``: a shallow copy of a plain field, with its own validators; a field that
    holds other fields is built again, so those are bound to the copy, not the original."""

    original = serializers.CharField(max_length=5, label="Code")
    copied = copy_field(original)
    assert copied is not original and copied.max_length == 5
    copied.validators.append(lambda value: None)
    assert len(copied.validators) == len(original.validators) + 1
    copied.bind("code", serializers.Serializer())
    assert copied.field_name == "code" and original.field_name is None

    listed = serializers.ListField(child=serializers.IntegerField())
    assert copy_field(listed).child.parent is not listed
    nested = SubcategorySerializer().fields["types"]
    again = copy_field(nested)
    assert again is not nested and again.child is not nested.child
    assert again.child.parent is again


def test_two_serializers_of_one_class_share_no_field(built, registrar_a):
    first, second = _serializer_for(registrar_a), _serializer_for(registrar_a)
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other, name
        assert field.parent is first and other.parent is second, name
        if "_validators" in field.__dict__:
            assert field.validators is not other.validators, name
