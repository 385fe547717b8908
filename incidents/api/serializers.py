from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.choices import Injury, PerpetratorRole, Urbanity
from incidents.models import NOTE_MAX_LENGTH, Incident, Institution, Location
from miv.api.serializers import BuiltOnceModelSerializer
from taxonomy.models import IncidentType

SITE_TIMEZONE = ZoneInfo(settings.TIME_ZONE)


class CodeRelatedField(serializers.SlugRelatedField):
    """A related object by its code. A NUL character is rejected as an unknown code before
    the lookup: PostgreSQL refuses NUL in a query, which would otherwise be a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class InstitutionSerializer(BuiltOnceModelSerializer):
    """An MBO institution, identified by its BRIN code."""

    # A choice of 1-5 (the model's integer column would add its 64-bit range to the schema).
    urbanity = serializers.ChoiceField(
        choices=Urbanity.choices,
        allow_null=True,
        required=False,
        default=None,
        help_text="CBS urbanity class of the main seat: 1 very strongly ... 5 not urban.",
    )

    class Meta:
        model = Institution
        fields = ["brin", "name", "kind", "region", "urbanity"]
        extra_kwargs = {
            "brin": {"help_text": "BRIN code of DUO, e.g. 25LJ (two digits, two letters)."},
            "region": {"help_text": "Region of the sector report; empty when not known."},
        }


class LocationSerializer(BuiltOnceModelSerializer):
    """A location (vestiging) of an institution, where incidents are registered."""

    institution = CodeRelatedField(
        slug_field="brin",
        queryset=Institution.objects.all(),
        help_text="BRIN of the institution; a coordinator can name only their own.",
    )

    class Meta:
        model = Location
        fields = ["id", "institution", "code", "name", "municipality", "active"]
        extra_kwargs = {
            "code": {"help_text": "The institution's own code, unique within it."},
            "active": {"help_text": "Inactive locations keep their incidents; no new ones."},
        }

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


class IncidentSerializer(BuiltOnceModelSerializer):
    """An incident registered at a location of an institution.

    Fields that feed the figures are required (`victim_role`) or default to `unknown`
    (`perpetrator_role`, `injury`), never to a value that would count as known.
    """

    # The same rules as the web form and imports: ``Incident.clean()``, run by the services.
    reference = serializers.CharField(
        read_only=True, help_text="Reference for people, e.g. MIV-000123."
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.none(),
        help_text="Id of a location where this account may register (see `locations/`).",
    )
    incident_type = CodeRelatedField(
        slug_field="code",
        queryset=IncidentType.objects.with_current_version(),
        help_text="Code of an active incident type of the taxonomy, e.g. MIS.FYS.06.",
    )
    occurred_at = WallClockTimeField(required=False, allow_null=True, default=None)
    institution = serializers.SlugRelatedField(
        slug_field="brin", read_only=True, help_text="BRIN, taken from the location."
    )
    # Null for imported incidents and after the registrar's account was deleted.
    registered_by = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD,
        read_only=True,
        allow_null=True,
        help_text="Username of the registrar; null for imported incidents.",
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
            "reporter_note",
            "external_id",
            "institution",
            "registered_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["school_year", "status", "reporter_note", "created_at", "updated_at"]
        # The defaults as they are: the schema shows them, and an omitted field that feeds
        # the figures is "unknown", as in imports (issue 17).
        extra_kwargs = {
            "occurred_on": {"help_text": "Date, not in the future, from 2000-01-01."},
            "school_year": {"help_text": "School year of the date (1 August - 31 July)."},
            "place": {"default": "", "help_text": "Where at the location; empty: not known."},
            "victim_role": {"help_text": "Who was the victim; `unknown` when not known."},
            "perpetrator_role": {
                "default": PerpetratorRole.UNKNOWN.value,
                "help_text": "Who caused it. Omitted: `unknown`.",
            },
            "injury": {
                "default": Injury.UNKNOWN.value,
                "help_text": "Injury. Omitted: `unknown` (never counted as no injury).",
            },
            "police_involved": {"default": False},
            "measures": {"default": "", "help_text": "Measures taken. Personal data (AVG)."},
            "description": {
                "default": "",
                "help_text": "What happened. Personal data (AVG): only coordinators read it.",
            },
            "external_id": {
                "default": "",
                "help_text": (
                    "Your system's id, unique per institution: a second incident with the "
                    "same id is a 409 `duplicate_external_id` naming the existing one."
                ),
            },
            "status": {"help_text": "open, closed or withdrawn (withdrawn: not counted)."},
            "reporter_note": {
                "help_text": (
                    "The coordinator's note to the registrar, given when closing (see "
                    "`close`); empty without one. Personal data (AVG)."
                ),
            },
            # In the site's time zone, which MIV never switches: named here, DRF would look
            # the current zone up twice per incident (a twentieth of a list page).
            "created_at": {
                "help_text": "When it was registered.",
                "default_timezone": SITE_TIMEZONE,
            },
            "updated_at": {"help_text": "Last change.", "default_timezone": SITE_TIMEZONE},
        }
        # full_clean() in the service checks the per-institution uniqueness, with the
        # institution taken from the location.
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and hasattr(self, "initial_data"):
            # A location of another institution is rejected as if it did not exist. Only
            # input is validated: a serializer that only shows incidents keeps no locations.
            self.fields["location"].queryset = Location.objects.registrable_by(
                request.user
            ).select_related("institution")


class CloseSerializer(serializers.Serializer):
    """What closing an incident may carry: a note for the registrar."""

    reporter_note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=NOTE_MAX_LENGTH,
        help_text=(
            f"Optional, at most {NOTE_MAX_LENGTH} characters: what was done, for the "
            "registrar. They read it with the incident (web and API) and get an e-mail with "
            "only a link. Write no names: it is personal data (AVG); internal measures belong "
            "in `measures`."
        ),
    )
