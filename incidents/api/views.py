from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from incidents import services
from incidents.api.permissions import (
    IncidentPermission,
    InstitutionPermission,
    LocationPermission,
)
from incidents.api.serializers import (
    CloseSerializer,
    IncidentSerializer,
    InstitutionSerializer,
    LocationSerializer,
)
from incidents.choices import Status, VictimRole
from incidents.filtersets import IncidentFilterSet
from incidents.idempotency import Outcome, fingerprint, run_once
from incidents.models import Incident, Institution, Location
from miv.api.problems import ProblemSerializer

# What a page of the incident list reads (IncidentViewSet.get_queryset).
LIST_RELATED = ("institution", "incident_type", "registered_by")
LIST_COLUMNS = (
    *(field.name for field in Incident._meta.concrete_fields),
    "institution__brin",
    "incident_type__code",
    "registered_by__username",
)


class ScopedQuerysetMixin:
    # Every API list and detail starts from the model's ``visible_to(user)``.

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Repeat a POST safely (at most 200 characters, e.g. a UUID): the same key with the "
        "same body returns the first answer (with `Idempotent-Replayed: true`) and creates "
        "nothing new; the same key with another body is a 409 `idempotency_key_reused`. "
        "Keys are per account and kept for a few days."
    ),
)


def conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


# The filters of the incident list, described for integrators (the FilterSet's labels are
# for the people using the web list).
INCIDENT_FILTERS = [
    OpenApiParameter("institution", OpenApiTypes.STR, description="BRIN of an institution."),
    OpenApiParameter("location", OpenApiTypes.INT, description="Id of a location."),
    OpenApiParameter(
        "school_year",
        OpenApiTypes.STR,
        description="School year, e.g. 2023-2024 (1 August - 31 July).",
        pattern=r"^\d{4}-\d{4}$",
    ),
    OpenApiParameter("category", OpenApiTypes.STR, description="Category code, e.g. MIS."),
    OpenApiParameter(
        "subcategory", OpenApiTypes.STR, description="Subcategory code, e.g. MIS.FYS."
    ),
    OpenApiParameter(
        "incident_type", OpenApiTypes.STR, description="Incident type code, e.g. MIS.FYS.06."
    ),
    OpenApiParameter(
        "victim_role", OpenApiTypes.STR, enum=VictimRole.values, description="Victim role."
    ),
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        enum=Status.values,
        description="Status; without this filter withdrawn incidents are listed too.",
    ),
    OpenApiParameter(
        "occurred_after", OpenApiTypes.DATE, description="Occurred on or after this date."
    ),
    OpenApiParameter(
        "occurred_before", OpenApiTypes.DATE, description="Occurred on or before this date."
    ),
]


class IdempotentCreateMixin:
    """``POST`` honours an ``Idempotency-Key`` header (as pretix does)."""

    def create(self, request, *args, **kwargs):
        def produce() -> Outcome:
            response = super(IdempotentCreateMixin, self).create(request, *args, **kwargs)
            return Outcome(response.status_code, response.data, response.get("Location", ""))

        outcome = run_once(
            user=request.user,
            key=request.headers.get("Idempotency-Key"),
            request_fingerprint=fingerprint(request.method, request.path, request.data),
            produce=produce,
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.body, status=outcome.status_code, headers=headers)


@extend_schema_view(
    list=extend_schema(
        summary="Institutions",
        description=(
            "The active institutions this account belongs to (administrators and named "
            "researchers: all of them)."
        ),
    ),
    retrieve=extend_schema(summary="One institution", description="By its BRIN code."),
    create=extend_schema(summary="Add an institution", description="Administrators only."),
    partial_update=extend_schema(
        summary="Change an institution", description="Administrators only."
    ),
)
class InstitutionViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Institution.objects.filter(active=True)
    serializer_class = InstitutionSerializer
    permission_classes = [InstitutionPermission]
    lookup_field = "brin"
    # Only BRIN-like values reach the database (a NUL byte would make PostgreSQL fail).
    lookup_value_regex = "[0-9A-Za-z]+"
    ordering_fields = ["brin", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]


@extend_schema_view(
    list=extend_schema(
        summary="Locations",
        description=(
            "The locations of this account's institutions (administrators: all). Registrars "
            "register incidents at the active ones."
        ),
    ),
    retrieve=extend_schema(
        summary="One location", description="A location of this account's institutions."
    ),
    create=extend_schema(
        summary="Add a location", description="Coordinators (their own institution)."
    ),
    partial_update=extend_schema(
        summary="Change a location",
        description="Coordinators (their own institution). `active: false` retires it.",
    ),
)
class LocationViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Location.objects.select_related("institution")
    serializer_class = LocationSerializer
    permission_classes = [LocationPermission]
    filterset_fields = ["institution__brin", "active"]
    ordering_fields = ["code", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]


@extend_schema_view(
    list=extend_schema(
        summary="Incidents",
        description=(
            "Incidents this account may see: a registrar their own registrations, a "
            "coordinator all of their institution's. Newest first. Researchers see no "
            "individual incidents (they use `figures/` and `research/`)."
        ),
        parameters=INCIDENT_FILTERS,
    ),
    retrieve=extend_schema(
        summary="One incident",
        description="An incident this account may see; any other id is a 404.",
    ),
    create=extend_schema(
        summary="Register an incident",
        description=(
            "Registrars and coordinators, at a location of their institution. Send an "
            "`Idempotency-Key` so that a retry after a lost connection creates nothing twice."
        ),
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: IncidentSerializer,
            409: conflict(
                "`duplicate_external_id` (`existing` names the incident that has the "
                "external id) or `idempotency_key_reused`."
            ),
        },
    ),
    partial_update=extend_schema(
        summary="Change an incident",
        description=(
            "Coordinators: send only the fields to change; `null` clears `occurred_at`. A "
            "withdrawn incident cannot be changed."
        ),
        responses={
            200: IncidentSerializer,
            409: conflict("`incident_withdrawn` or `duplicate_external_id`."),
        },
    ),
    close=extend_schema(
        request=CloseSerializer,
        summary="Close an incident",
        description=(
            "Coordinators: mark an open incident as handled. It still counts. An optional "
            "`reporter_note` tells the registrar what was done (no body: no note)."
        ),
        responses={200: IncidentSerializer, 409: conflict("`invalid_status`: not open.")},
    ),
    withdraw=extend_schema(
        request=None,
        summary="Withdraw an incident",
        description=(
            "Coordinators: a registration made in error. It is kept but no longer counts "
            "in the figures."
        ),
        responses={
            200: IncidentSerializer,
            409: conflict("`invalid_status`: already withdrawn."),
        },
    ),
)
class IncidentViewSet(
    ScopedQuerysetMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Incident.objects.select_related(
        "institution", "location", "incident_type", "registered_by"
    )
    serializer_class = IncidentSerializer
    permission_classes = [IncidentPermission]
    filterset_class = IncidentFilterSet
    ordering_fields = ["occurred_on", "created_at", "id"]
    ordering = ["-occurred_on", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # A page shows the incident's own columns and one column of each relation
            # (BRIN, type code, username; the location as its id): loading whole related
            # rows cost about a quarter of page 1 (benchmarks/registration_and_list.py).
            queryset = (
                queryset.select_related(None).select_related(*LIST_RELATED).only(*LIST_COLUMNS)
            )
        return queryset

    def perform_create(self, serializer):
        serializer.instance = services.register_incident(
            actor=self.request.user, incident=Incident(**serializer.validated_data)
        )

    def perform_update(self, serializer):
        serializer.instance = services.update_incident(
            actor=self.request.user, incident=serializer.instance, changes=serializer.validated_data
        )

    # ``format``: the router also serves ``<pk>/close.json`` (format suffix) here.
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, format=None):
        incident = self.get_object()
        note = CloseSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        incident = services.close_incident(
            actor=request.user,
            incident=incident,
            reporter_note=note.validated_data["reporter_note"],
        )
        return Response(self.get_serializer(incident).data)

    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None, format=None):
        incident = services.withdraw_incident(actor=request.user, incident=self.get_object())
        return Response(self.get_serializer(incident).data)
