from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
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
    IncidentSerializer,
    InstitutionSerializer,
    LocationSerializer,
)
from incidents.filtersets import IncidentFilterSet
from incidents.idempotency import Outcome, fingerprint, run_once
from incidents.models import Incident, Institution, Location


class ScopedQuerysetMixin:
    """Every API list and detail starts from the model's ``visible_to(user)``."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Repeat a POST safely: the same key returns the first answer and creates nothing new."
    ),
)


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
    list=extend_schema(summary="Institutions (instellingen)"),
    retrieve=extend_schema(summary="One institution"),
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
    create=extend_schema(parameters=[IDEMPOTENCY_KEY], summary="Register an incident"),
    close=extend_schema(request=None, summary="Close an incident (coordinators)"),
    withdraw=extend_schema(
        request=None, summary="Withdraw an incident (coordinators); it no longer counts"
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
        incident = services.close_incident(actor=request.user, incident=self.get_object())
        return Response(self.get_serializer(incident).data)

    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None, format=None):
        incident = services.withdraw_incident(actor=request.user, incident=self.get_object())
        return Response(self.get_serializer(incident).data)
