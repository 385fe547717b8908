from django.contrib import admin

from .models import Category, IncidentType, Subcategory, TaxonomyVersion


class TaxonomyNodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_nl", "name_en", "sort_order", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name_nl", "name_en"]

    def get_readonly_fields(self, request, obj=None):
        # Codes are permanent identifiers; set once, never edited.
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        # Nodes are retired (active = False), never deleted: old incidents refer to them.
        return False


@admin.register(TaxonomyVersion)
class TaxonomyVersionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_nl", "published_on"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(TaxonomyNodeAdmin):
    pass


@admin.register(Subcategory)
class SubcategoryAdmin(TaxonomyNodeAdmin):
    list_display = [*TaxonomyNodeAdmin.list_display, "category"]
    list_filter = ["active", "category"]


@admin.register(IncidentType)
class IncidentTypeAdmin(TaxonomyNodeAdmin):
    list_display = [*TaxonomyNodeAdmin.list_display, "category", "subcategory", "retired_in"]
    list_filter = ["active", "category", "subcategory"]
    list_select_related = ["category", "subcategory", "retired_in"]
