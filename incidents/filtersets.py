"""One FilterSet per model, shared by the HTML lists and the API.

Choice filters that name objects (locations) are built from the *scoped* queryset of the
request's user, so naming another institution's location is rejected like a location
that does not exist.
"""

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from miv.schoolyear import parse_school_year
from taxonomy.models import Category, IncidentType, Subcategory

from .choices import Status, VictimRole
from .models import Incident, Institution, Location


def validate_school_year(value: str) -> None:
    try:
        parse_school_year(value)
    except ValueError:
        raise ValidationError(
            _("Geef een schooljaar als 2022-2023."), code="invalid_school_year"
        ) from None


def _user(request):
    return getattr(request, "user", None)


def visible_locations(request):
    return Location.objects.visible_to(_user(request)).select_related("institution")


def visible_institutions(request):
    return Institution.objects.visible_to(_user(request))


class IncidentFilterSet(django_filters.FilterSet):
    institution = django_filters.ModelChoiceFilter(
        label=_("Instelling"),
        queryset=visible_institutions,
        to_field_name="brin",
        field_name="institution",
    )
    location = django_filters.ModelChoiceFilter(label=_("Vestiging"), queryset=visible_locations)
    school_year = django_filters.CharFilter(
        label=_("Schooljaar"), validators=[validate_school_year], help_text="2022-2023"
    )
    category = django_filters.ModelChoiceFilter(
        label=_("Categorie"),
        queryset=Category.objects.all(),
        to_field_name="code",
        field_name="incident_type__category",
    )
    subcategory = django_filters.ModelChoiceFilter(
        label=_("Subcategorie"),
        queryset=Subcategory.objects.all(),
        to_field_name="code",
        field_name="incident_type__subcategory",
    )
    incident_type = django_filters.ModelChoiceFilter(
        label=_("Type incident"),
        queryset=IncidentType.objects.all(),
        to_field_name="code",
    )
    victim_role = django_filters.ChoiceFilter(label=_("Slachtoffer"), choices=VictimRole.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    occurred_after = django_filters.DateFilter(
        label=_("Vanaf datum"), field_name="occurred_on", lookup_expr="gte"
    )
    occurred_before = django_filters.DateFilter(
        label=_("Tot en met datum"), field_name="occurred_on", lookup_expr="lte"
    )

    class Meta:
        model = Incident
        fields = [
            "institution",
            "location",
            "school_year",
            "category",
            "subcategory",
            "incident_type",
            "victim_role",
            "status",
            "occurred_after",
            "occurred_before",
        ]
