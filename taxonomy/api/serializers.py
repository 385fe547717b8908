from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from miv.api.serializers import BuiltOnceModelSerializer
from taxonomy.models import Category, IncidentType, Subcategory


class IncidentTypeSerializer(BuiltOnceModelSerializer):
    class Meta:
        model = IncidentType
        fields = ["code", "name_nl", "name_en", "active"]


class SubcategorySerializer(BuiltOnceModelSerializer):
    types = IncidentTypeSerializer(many=True, read_only=True)

    class Meta:
        model = Subcategory
        fields = ["code", "name_nl", "name_en", "types"]


class CategorySerializer(BuiltOnceModelSerializer):
    subcategories = SubcategorySerializer(many=True, read_only=True)
    types = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["code", "name_nl", "name_en", "subcategories", "types"]

    @extend_schema_field(IncidentTypeSerializer(many=True))
    def get_types(self, category) -> list[dict]:
        # Only the types directly under the category (Brand/explosie, Milieu).
        direct = [t for t in category.types.all() if t.subcategory_id is None]
        return IncidentTypeSerializer(direct, many=True).data
