from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import Incident, Institution, Location
from taxonomy.models import IncidentType


class CodeRelatedField(serializers.SlugRelatedField):
    """A related object by its code. A NUL character is rejected as an unknown code before
    the lookup: PostgreSQL refuses NUL in a query, which would otherwise be a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["brin", "name", "kind", "region", "urbanity"]


class LocationSerializer(serializers.ModelSerializer):
    institution = CodeRelatedField(slug_field="brin", queryset=Institution.objects.all())

    class Meta:
        model = Location
        fields = ["id", "institution", "code", "name", "municipality", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Another institution's BRIN is rejected as if it did not exist.
            self.fields["institution"].queryset = Institution.objects.manageable_by(request.user)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "14:30:00",
        "description": "Wall-clock time in the Netherlands (HH:MM or HH:MM:SS), no UTC offset.",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A local time of day without a UTC offset.

    OpenAPI's ``format: time`` means RFC 3339 *full-time*, which requires an offset
    ("14:30:00+01:00"); the API sends and accepts the wall-clock time ("14:30:00"), so the
    schema describes it by a pattern instead (found by the schemathesis fuzz test).
    """


class IncidentSerializer(serializers.ModelSerializer):
    """An incident as the API shows it. Invariants live in ``Incident.clean()``; the
    service functions run them, so the API, the form and the admin agree."""

    reference = serializers.CharField(read_only=True)
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.none())
    incident_type = CodeRelatedField(
        slug_field="code", queryset=IncidentType.objects.with_current_version()
    )
    occurred_at = WallClockTimeField(required=False, allow_null=True)
    institution = serializers.SlugRelatedField(slug_field="brin", read_only=True)
    # Null for imported incidents and after the registrar's account was deleted.
    registered_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True, allow_null=True
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "location",
            "incident_type",
            "occurred_on",
            "occurred_at",
            "school_year",
            "place",
            "victim_role",
            "perpetrator_role",
            "injury",
            "police_involved",
            "measures",
            "description",
            "status",
            "external_id",
            "institution",
            "registered_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["school_year", "status", "created_at", "updated_at"]
        # full_clean() in the service checks the per-institution uniqueness, with the
        # institution taken from the location.
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # A location of another institution is rejected as if it did not exist.
            self.fields["location"].queryset = Location.objects.registrable_by(
                request.user
            ).select_related("institution")
