"""Administrators see the questionnaire versions and every response (read-only here: coordinators
answer in the web interface; a submitted response is reopened on its page, with a reason)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .models import QuestionnaireResponse, QuestionnaireVersion, ResponseEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdmin):
    """Versions are loaded from ``fixtures/questionnaire/`` by a data migration."""

    list_display = ["code", "name_nl", "published_on"]
    fields = ["code", "name_nl", "name_en", "published_on", "source", "questions"]
    readonly_fields = fields

    @admin.display(description=_("vragen"))
    def questions(self, obj):
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "", "<li>{}. {}</li>", ((q.code, q.text_nl) for q in obj.questionnaire.questions)
            ),
        )


class ResponseEventInline(admin.TabularInline):
    model = ResponseEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "action", "details"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(ReadOnlyAdmin):
    list_display = ["institution", "school_year", "status", "version", "updated_at", "page"]
    list_filter = ["status", "school_year", "version"]
    search_fields = ["institution__brin", "institution__name"]
    list_select_related = ["institution", "version"]
    fields = [
        "institution",
        "school_year",
        "version",
        "status",
        "submitted_at",
        "submitted_by",
        "page",
    ]
    readonly_fields = fields
    inlines = [ResponseEventInline]

    @admin.display(description=_("antwoorden"))
    def page(self, obj):
        url = reverse("questionnaire:summary", args=[obj.institution.brin, obj.school_year])
        return format_html('<a href="{}">{}</a>', url, _("bekijken / heropenen"))
