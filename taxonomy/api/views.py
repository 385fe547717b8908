from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny

from taxonomy.api.serializers import CategorySerializer
from taxonomy.models import Category, IncidentType, Subcategory


@extend_schema(
    summary="The whole incident taxonomy (Bijlage 2) as a tree",
    description=(
        "Public, no token needed: categories with their subcategories and incident types, "
        "with Dutch and English names. Register incidents with a type's `code`; retired "
        "types have `active: false`."
    ),
    tags=["taxonomy"],
)
class TaxonomyTreeView(generics.ListAPIView):
    """Public and read-only: categories with their subcategories and incident types."""

    permission_classes = [AllowAny]
    authentication_classes = []
    pagination_class = None
    filter_backends = []  # the whole tree, always in the taxonomy's order
    serializer_class = CategorySerializer
    queryset = Category.objects.prefetch_related(
        Prefetch(
            "subcategories",
            queryset=Subcategory.objects.prefetch_related(
                Prefetch("types", queryset=IncidentType.objects.order_by("sort_order", "code"))
            ),
        ),
        Prefetch("types", queryset=IncidentType.objects.order_by("sort_order", "code")),
    )
