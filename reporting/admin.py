"""The admin of the figures' inputs and logs.

Student counts (denominators) and survey scores are visible and correctable here, one at
a time, through :mod:`reporting.inputs` (the importers' checks, the figures recomputed);
whole files are uploaded on the import page (``/incidents/imports/new/``), with the
commands' checks, line-numbered errors and all-or-nothing import. The researchers' request
log is read-only: an audit log is not edited."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents.choices import ImportKind

from . import inputs
from .models import ResearchRequestLog, SafetyScore, StudentCount


@admin.register(ResearchRequestLog)
class ResearchRequestLogAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "endpoint", "status_code", "authentication"]
    list_filter = ["endpoint", "status_code", "authentication"]
    search_fields = ["username"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in ResearchRequestLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _InputAdmin(admin.ModelAdmin):
    """Shared: an upload link on the list page, saving and deleting through the service
    (which checks and tells the figures), one by one (no bulk delete without signals)."""

    change_list_template = "admin/reporting/input_change_list.html"
    import_kind = ""
    actions = None

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["upload_url"] = reverse("incidents:import-new") + f"?kind={self.import_kind}"
        return super().changelist_view(request, extra_context)


class _ServiceForm(forms.ModelForm):
    """Runs the service's own checks in the form, so an error is shown next to its field
    instead of a 500 from ``save_model``."""

    def _post_clean(self):
        super()._post_clean()
        try:
            self.extra_checks()
        except ValidationError as error:
            self._update_errors(error)

    def extra_checks(self) -> None:
        pass


class StudentCountForm(_ServiceForm):
    class Meta:
        model = StudentCount
        fields = ["institution", "school_year", "students", "source", "source_date"]

    def extra_checks(self) -> None:
        inputs.check_school_year(self.instance.school_year or "")
        if self.instance.students is not None and self.instance.students < 1:
            raise ValidationError({"students": inputs.ZERO_STUDENTS})


class SafetyScoreForm(_ServiceForm):
    class Meta:
        model = SafetyScore
        fields = ["institution", "source", "survey_year", "value", "respondents"]

    def extra_checks(self) -> None:
        inputs.check_survey_year(self.instance.survey_year)


@admin.register(StudentCount)
class StudentCountAdmin(_InputAdmin):
    form = StudentCountForm
    list_display = ["institution", "school_year", "students", "source", "source_date", "updated_at"]
    list_filter = ["school_year"]
    search_fields = ["institution__brin", "institution__name"]
    list_select_related = ["institution"]
    autocomplete_fields = ["institution"]
    readonly_fields = ["updated_at"]
    import_kind = ImportKind.ENROLMENTS

    def save_model(self, request, obj, form, change):
        inputs.save_student_count(actor=request.user, count=obj)

    def delete_model(self, request, obj):
        inputs.delete_student_count(actor=request.user, count=obj)


@admin.register(SafetyScore)
class SafetyScoreAdmin(_InputAdmin):
    form = SafetyScoreForm
    list_display = ["institution", "source", "survey_year", "value", "respondents", "updated_at"]
    list_filter = ["source", "survey_year"]
    search_fields = ["institution__brin", "institution__name"]
    list_select_related = ["institution"]
    autocomplete_fields = ["institution"]
    readonly_fields = ["updated_at"]
    import_kind = ImportKind.SCORES

    def save_model(self, request, obj, form, change):
        inputs.save_safety_score(actor=request.user, score=obj)

    def delete_model(self, request, obj):
        inputs.delete_safety_score(actor=request.user, score=obj)
