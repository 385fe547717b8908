from django.contrib.auth import get_user_model
from rest_framework import serializers

from incidents.models import Incident, Institution, Location
from taxonomy.models import IncidentType


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["brin", "name", "kind", "region", "urbanity"]


class LocationSerializer(serializers.ModelSerializer):
    institution = serializers.SlugRelatedField(
        slug_field="brin", queryset=Institution.objects.all()
    )

    class Meta:
        model = Location
        fields = ["id", "institution", "code", "name", "municipality", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Another institution's BRIN is rejected as if it did not exist.
            self.fields["institution"].queryset = Institution.objects.manageable_by(request.user)


class IncidentSerializer(serializers.ModelSerializer):
    """An incident as the API shows it. Invariants live in ``Incident.clean()``; the
    service functions run them, so the API, the form and the admin agree."""

    reference = serializers.CharField(read_only=True)
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.none())
    incident_type = serializers.SlugRelatedField(
        slug_field="code", queryset=IncidentType.objects.all()
    )
    institution = serializers.SlugRelatedField(slug_field="brin", read_only=True)
    registered_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True
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
            self.fields["location"].queryset = Location.objects.registrable_by(request.user)
