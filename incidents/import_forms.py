"""Forms of the import pages: the upload form and the label-mapping editor."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from miv.csvfiles import label_key, max_import_bytes
from taxonomy.models import IncidentType

from .choices import ImportKind
from .models import Institution, LabelMapping, is_administrator

ACCEPTED = (
    ".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)


class ImportUploadForm(forms.Form):
    """Upload a file: coordinators an incident file for their institution, administrators
    also DUO enrolment and survey-score files."""

    kind = forms.ChoiceField(label=_("Soort bestand"), widget=forms.RadioSelect)
    institution = forms.ModelChoiceField(
        label=_("Instelling"),
        queryset=Institution.objects.none(),
        required=False,
        help_text=_("Alleen voor incidenten."),
    )
    file = forms.FileField(
        label=_("Bestand (CSV of Excel)"),
        help_text=_(
            "CSV (; of , gescheiden, UTF-8 of Windows-1252) of een Excel-werkmap (xlsx, het "
            "eerste werkblad); eerste regel met kolomnamen."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )
    create_locations = forms.BooleanField(label=_("Onbekende vestigingen aanmaken"), required=False)
    date_column = forms.CharField(label=_("Kolom met de datum"), required=False, max_length=100)
    location_column = forms.CharField(
        label=_("Kolom met de vestiging"), required=False, max_length=100
    )
    label_columns = forms.CharField(
        label=_("Labelkolommen"),
        required=False,
        max_length=300,
        help_text=_("Gescheiden door komma's, bijvoorbeeld: Categorie,Subcategorie"),
    )
    id_column = forms.CharField(
        label=_("Kolom met het incidentnummer"), required=False, max_length=100
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        kinds = [(ImportKind.INCIDENTS.value, ImportKind.INCIDENTS.label)]
        if is_administrator(user):
            kinds = list(ImportKind.choices)
        else:
            # Coordinators only import incidents, always for an institution.
            self.fields["kind"].widget = forms.HiddenInput()
            self.fields["institution"].required = True
            self.fields["institution"].help_text = ""
        self.fields["kind"].choices = kinds
        self.fields["kind"].initial = ImportKind.INCIDENTS.value
        institutions = Institution.objects.manageable_by(user).filter(active=True)
        self.fields["institution"].queryset = institutions
        if institutions.count() == 1:
            self.fields["institution"].initial = institutions.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = max_import_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                _("Het bestand is groter dan %(mb)s MB. Splits het in kleinere bestanden."),
                params={"mb": limit // (1024 * 1024)},
            )
        if upload.size == 0:
            raise forms.ValidationError(_("Het bestand is leeg."))
        return upload

    def clean(self):
        data = super().clean()
        if data.get("kind") == ImportKind.INCIDENTS and not data.get("institution"):
            self.add_error("institution", _("Kies de instelling van de incidenten."))
        return data

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "create_locations": data["create_locations"],
            "date_column": data["date_column"].strip(),
            "location_column": data["location_column"].strip(),
            "label_columns": [c.strip() for c in data["label_columns"].split(",") if c.strip()],
            "id_column": data["id_column"].strip(),
        }


class TypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: IncidentType) -> str:
        # In the interface language; the mapping file itself accepts codes or Dutch names.
        return f"{obj.code} – {obj.name}"


class LabelMappingForm(forms.ModelForm):
    """One row of the mapping editor: an own label and the taxonomy type it means."""

    incident_type = TypeChoiceField(
        label=_("Type incident"),
        queryset=IncidentType.objects.select_related("category").order_by("code"),
    )

    class Meta:
        model = LabelMapping
        fields = ["source_label", "incident_type"]

    def clean_source_label(self):
        label = " ".join(self.cleaned_data["source_label"].split())
        if not label:
            raise forms.ValidationError(_("Vul het label in."))
        return label

    def clean_incident_type(self):
        incident_type = self.cleaned_data["incident_type"]
        unchanged = self.instance.pk and self.instance.incident_type_id == incident_type.pk
        if not incident_type.active and not unchanged:
            raise forms.ValidationError(_("Dit type is vervallen; kies een actief type."))
        return incident_type


class BaseMappingFormSet(forms.BaseModelFormSet):
    def clean(self):
        super().clean()
        seen: dict[str, str] = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            label = form.cleaned_data.get("source_label")
            if not label:
                continue
            key = label_key(label)
            if key in seen:
                form.add_error(
                    "source_label",
                    _("Label '%(label)s' staat er al (hoofdletters en accenten tellen niet mee).")
                    % {"label": label},
                )
            seen[key] = label


def mapping_formset(extra: int):
    return forms.modelformset_factory(
        LabelMapping,
        form=LabelMappingForm,
        formset=BaseMappingFormSet,
        extra=extra,
        can_delete=True,
        max_num=2000,
        validate_max=True,
    )


class MappingUploadForm(forms.Form):
    """A mapping CSV (``source_label,incident_type``) to add to the stored mapping."""

    file = forms.FileField(
        label=_("Koppeltabel (CSV of Excel)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )
